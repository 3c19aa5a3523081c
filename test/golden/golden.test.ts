/**
 * Golden files: `kpx render` (the real CLI, built) for every scenario in test/scenarios
 * and every implemented backend: stdout in `<scenario>.<ext>`, stderr (the problem list)
 * in `<scenario>.stderr`. Regenerate with `npm run golden:update` (./update.mjs); this
 * test only compares, it never writes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KPX, ROOT, SCENARIOS, scenarioArgs, scenarioNames } from '../helpers/scenarios.js';

const BACKENDS: readonly { name: string; ext: string }[] = [{ name: 'nftables', ext: 'nft' }, { name: 'iptables', ext: 'rules' }, { name: 'ipvs', ext: 'ipvs' }];

function golden(file: string): string {
  if (!existsSync(file)) throw new Error(`${file} is missing: run npm run golden:update and review the diff`);
  return readFileSync(file, 'utf8');
}

describe.each(BACKENDS)('golden $name', ({ name: backend, ext }) => {
  it.each(scenarioNames())('%s', (scenario) => {
    const r = spawnSync('node', [KPX, 'render', '--backend', backend, '-f', join(SCENARIOS, scenario, 'cluster.yaml'), ...scenarioArgs(scenario)], { encoding: 'utf8', cwd: ROOT });
    expect(r.stderr).not.toMatch(/Error|at .*\.js/);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(golden(join(ROOT, 'test', 'golden', backend, `${scenario}.${ext}`)));
    expect(r.stderr).toBe(golden(join(ROOT, 'test', 'golden', backend, `${scenario}.stderr`)));
  });
});
