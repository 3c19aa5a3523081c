// `npm run golden:update`: regenerates test/golden/<backend>/<scenario>.<ext> (stdout of
// `kpx render`) and <scenario>.stderr (the problem list) from test/scenarios, with the
// built CLI. The golden test (golden.test.ts) only ever compares, never writes, so an
// update cannot make it compare a file with itself. Review the diff before committing.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const SCENARIOS = join(ROOT, 'test', 'scenarios');
const BACKENDS = [['nftables', 'nft'], ['iptables', 'rules'], ['ipvs', 'ipvs']];

const names = readdirSync(SCENARIOS, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
let failed = 0;
for (const [backend, ext] of BACKENDS) {
  mkdirSync(join(ROOT, 'test', 'golden', backend), { recursive: true });
  for (const s of names) {
    const argsFile = join(SCENARIOS, s, 'args');
    const args = existsSync(argsFile) ? readFileSync(argsFile, 'utf8').trim().split(/\s+/).filter((a) => a !== '') : [];
    const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'kpx.js'), 'render', '--backend', backend, '-f', join(SCENARIOS, s, 'cluster.yaml'), ...args],
      { encoding: 'utf8', cwd: ROOT });
    if (r.status !== 0) {
      failed++;
      process.stderr.write(`${backend} ${s}: exit ${r.status}\n${r.stderr}`);
      continue;
    }
    writeFileSync(join(ROOT, 'test', 'golden', backend, `${s}.${ext}`), r.stdout);
    writeFileSync(join(ROOT, 'test', 'golden', backend, `${s}.stderr`), r.stderr);
  }
}
process.stdout.write(`golden files written for ${names.length} scenarios × ${BACKENDS.length} backends${failed > 0 ? `, ${failed} failed` : ''}\n`);
process.exit(failed > 0 ? 1 : 0);
