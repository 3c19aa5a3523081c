/** The shared scenarios in test/scenarios/<name>/{cluster.yaml,args}, for golden and kernel tests. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
export const SCENARIOS = join(ROOT, 'test', 'scenarios');
export const KPX = join(ROOT, 'bin', 'kpx.js');

export function scenarioNames(): string[] {
  return readdirSync(SCENARIOS, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
}

/** Extra `kpx render` arguments of a scenario (one line in its `args` file). */
export function scenarioArgs(name: string): string[] {
  const f = join(SCENARIOS, name, 'args');
  return existsSync(f) ? readFileSync(f, 'utf8').trim().split(/\s+/).filter((a) => a !== '') : [];
}
