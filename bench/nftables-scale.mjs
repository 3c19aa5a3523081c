// nftables at scale: build the model and render a synthetic cluster with the compiled
// code (dist/), then load the script with `nft -f` into a private network namespace.
//
//   npm run bench                                  # 10k services × 10 endpoints
//   SERVICES=50000 ENDPOINTS=10 npm run bench
//   node --expose-gc bench/nftables-scale.mjs --services 1000 --endpoints 5 [--no-apply] [--keep-script]
//
// The apply step needs root, `ip` and `nft`; it runs only inside `ip netns add
// kpx-bench-<pid>` (deleted in finally), never in the machine's own namespace. Without
// root, or with --no-apply / NO_APPLY=1, it is skipped. Every 10th service is a
// NodePort (while node ports 30000-32767 last); the rest are ClusterIP. Endpoints are
// spread over 100 nodes, the first of which is the rendered node.
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { NODE_NAME, generate, intOption as option } from './cluster.mjs';

const { buildProxyState } = await import('../dist/model/index.js');
const { renderNftables, toNftScript } = await import('../dist/render/nftables/index.js');

const SERVICES = option('--services', 'SERVICES', 10_000);
const ENDPOINTS = option('--endpoints', 'ENDPOINTS', 10);
const NO_APPLY = process.argv.includes('--no-apply') || process.env.NO_APPLY === '1';
const KEEP = process.argv.includes('--keep-script');

function timed(fn) {
  const t0 = performance.now();
  const value = fn();
  return { value, ms: performance.now() - t0 };
}

const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const secs = (ms) => `${(ms / 1000).toFixed(2)} s`;

const rows = [];
const row = (what, value) => rows.push([what, value]);

row('services × endpoints', `${SERVICES} × ${ENDPOINTS}`);
const gen = timed(() => generate(SERVICES, ENDPOINTS));
row('generate objects', secs(gen.ms));
const built = timed(() => buildProxyState(gen.value, { nodeName: NODE_NAME, clusterCIDRs: ['11.0.0.0/8'] }));
// The node has no IPv6 address: the model notes that, which is expected here.
const problems = built.value.problems.filter((p) => p.kind !== 'Node');
if (problems.length > 0) console.error(`model problems (${problems.length}), first:`, problems[0]);
row('build model', secs(built.ms));
const ruleset = timed(() => renderNftables(built.value.state));
row('render ruleset', secs(ruleset.ms));
const script = timed(() => toNftScript(ruleset.value));
row('print script', secs(script.ms));
row('script size', `${mb(Buffer.byteLength(script.value))}, ${script.value.split('\n').length} lines`);

const file = join(tmpdir(), `kpx-bench-${process.pid}.nft`);
writeFileSync(file, script.value);
gen.value = undefined;
globalThis.gc?.();

let failed = false;
if (NO_APPLY) {
  row('nft -f (apply)', 'skipped (--no-apply)');
} else if (process.getuid?.() !== 0) {
  row('nft -f (apply)', 'skipped (needs root for ip netns)');
} else {
  const ns = `kpx-bench-${process.pid}`;
  try {
    execFileSync('ip', ['netns', 'add', ns], { stdio: 'inherit' });
    const t0 = performance.now();
    const r = spawnSync('ip', ['netns', 'exec', ns, 'nft', '-f', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const ms = performance.now() - t0;
    if (r.status !== 0) {
      failed = true;
      row('nft -f (apply)', `FAILED after ${secs(ms)} (exit ${r.status ?? r.signal})`);
      process.stderr.write(r.stderr.split('\n').slice(0, 20).join('\n') + '\n');
    } else {
      row('nft -f (apply)', secs(ms));
    }
  } finally {
    spawnSync('ip', ['netns', 'delete', ns], { stdio: 'inherit' });
  }
}
if (KEEP) row('script', file);
else rmSync(file, { force: true });

row('peak RSS', mb(process.resourceUsage().maxRSS * 1024));

const width = Math.max(...rows.map(([w]) => w.length));
for (const [what, value] of rows) console.log(`${what.padEnd(width)}  ${value}`);
process.exitCode = failed ? 1 : 0;
