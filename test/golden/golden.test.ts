/**
 * Golden files: `kpx render` (the real CLI, built) for every scenario in test/scenarios
 * and every implemented backend. Regenerate with `npm run golden:update`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KPX, ROOT, SCENARIOS, scenarioArgs, scenarioNames } from '../helpers/scenarios.js';

const BACKENDS: readonly { name: string; ext: string }[] = [{ name: 'nftables', ext: 'nft' }, { name: 'iptables', ext: 'rules' }, { name: 'ipvs', ext: 'ipvs' }];
const UPDATE = process.env['UPDATE_GOLDEN'] === '1';

describe.each(BACKENDS)('golden $name', ({ name: backend, ext }) => {
  it.each(scenarioNames())('%s', (scenario) => {
    const r = spawnSync('node', [KPX, 'render', '--backend', backend, '-f', join(SCENARIOS, scenario, 'cluster.yaml'), ...scenarioArgs(scenario)], { encoding: 'utf8' });
    expect(r.stderr).not.toMatch(/Error|at .*\.js/);
    expect(r.status).toBe(0);
    const file = join(ROOT, 'test', 'golden', backend, `${scenario}.${ext}`);
    if (UPDATE) {
      mkdirSync(join(ROOT, 'test', 'golden', backend), { recursive: true });
      writeFileSync(file, r.stdout);
    }
    expect(existsSync(file)).toBe(true);
    expect(r.stdout).toBe(readFileSync(file, 'utf8'));
  });
});
