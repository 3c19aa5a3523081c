/**
 * The README's main command, run as users run it: `node bin/kpx.js` over the compiled
 * code. `npm test` builds first; run alone, this test builds when dist/ is missing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, expect, it } from '@jest/globals';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist/cli/main.js'))) {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  }
});

it('kpx render --backend nftables -f examples/ prints a loadable nftables script', () => {
  const r = spawnSync(
    process.execPath,
    ['bin/kpx.js', 'render', '--backend', 'nftables', '-f', 'examples/', '--node-name', 'node-a', '--cluster-cidr', '10.244.0.0/16'],
    { cwd: ROOT, encoding: 'utf8' },
  );
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout).toContain('table ip kube-proxy');
});

it('kpx with an unknown flag exits 2', () => {
  const r = spawnSync(process.execPath, ['bin/kpx.js', 'render', '--backend', 'nftables', '--nope'], { cwd: ROOT, encoding: 'utf8' });
  expect(r.status).toBe(2);
  expect(r.stderr).toContain('unknown flag --nope');
});
