// UDP conntrack cleanup cost (compiled code in dist/).
// 1. Pure: a synthetic `conntrack -L` listing of --flows UDP flows to --services UDP
//    ClusterIPs (10 endpoints each): index build (all), one incremental update, parse,
//    decision.
// 2. Real tool: --real flows inserted with `conntrack -I` into a private namespace
//    `ip netns add kpx-bench-ct-<pid>` (deleted in finally; never the machine's own), half
//    of them DNATed to a removed endpoint, spread over --groups (frontend, endpoint)
//    pairs; then one cleanup run of the observer: one listing, one `conntrack -D` per
//    stale group. Needs root, `ip` and `conntrack`.
//
//   npm run build && node --expose-gc bench/conntrack.mjs [--flows 100000] [--services 10000] [--real 400] [--groups 20]
//
// Target: the decision is linear in flows (no per-flow process); deletions cost one
// process per stale (frontend, endpoint) pair, not per flow.
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { intOption as option } from './cluster.mjs';

const { UdpFrontendIndex } = await import('../dist/sync/conntrack-cleanup.js');
const { parseFlowLine } = await import('../dist/sync/kernel/conntrack-parse.js');
const { ConntrackCleanup } = await import('../dist/sync/conntrack-observer.js');
const { createConntrackKernel } = await import('../dist/sync/kernel/conntrack.js');

const FLOWS = option('--flows', 'FLOWS', 100_000);
const SERVICES = option('--services', 'SERVICES', 10_000);
const REAL = option('--real', 'REAL', 400);
const GROUPS = option('--groups', 'GROUPS', 20);

const svcIP = (s) => `10.96.${(s >> 8) & 255}.${s & 255}`;
const epIP = (n) => `10.244.${(n >> 8) & 255}.${n & 255}`;

/** A ModelReader over `n` UDP Services (port 53 → 5353), endpoints from `eps(s)`. */
function model(n, eps) {
  const ports = new Map();
  for (let s = 0; s < n; s++) {
    ports.set(`ns/s${s}`, [{
      key: `ns/s${s}:dns`, protocol: 'udp', family: 'ipv4', clusterIP: svcIP(s), port: 53, externalIPs: [], loadBalancerIPs: [],
      allEndpoints: eps(s).map((ip) => ({ ip, port: 5353, serving: true })),
    }]);
  }
  return { keys: () => ports.keys(), ports: (k, f) => (f === 'ipv4' ? ports.get(k) ?? [] : []), family: () => ({ nodePortIPs: [] }) };
}

function pure() {
  const lines = [];
  for (let i = 0; i < FLOWS; i++) {
    const c = `10.244.1.${i % 200}`;
    const sp = 1024 + (i % 60000);
    lines.push(`ipv4     2 udp      17 29 src=${c} dst=${svcIP(i % SERVICES)} sport=${sp} dport=53 src=${epIP(i)} dst=${c} sport=5353 dport=${sp} [ASSURED] mark=0 use=1`);
  }
  const m = model(SERVICES, (s) => Array.from({ length: 10 }, (_, k) => epIP(s * 10 + k)));
  global.gc?.();
  let t = performance.now();
  const idx = new UdpFrontendIndex();
  idx.update(m, 'all');
  const indexMs = performance.now() - t;
  t = performance.now();
  idx.update(m, new Set(['ns/s1']));
  const oneMs = performance.now() - t;
  t = performance.now();
  const flows = lines.map(parseFlowLine);
  const parseMs = performance.now() - t;
  t = performance.now();
  const groups = idx.stale(flows);
  const decideMs = performance.now() - t;
  return { flows: FLOWS, services: SERVICES, indexAllMs: Math.round(indexMs), incrementalOneMs: +oneMs.toFixed(2), parseMs: Math.round(parseMs), decideMs: Math.round(decideMs), staleGroups: groups.length, heapMB: Math.round(process.memoryUsage().heapUsed / 1e6) };
}

async function real() {
  if (process.getuid?.() !== 0) return { skipped: 'needs root (ip netns add)' };
  const ns = `kpx-bench-ct-${process.pid}`;
  const sh = (args) => spawnSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf8' });
  spawnSync('ip', ['netns', 'add', ns]);
  try {
    let t = performance.now();
    for (let i = 0; i < REAL; i++) {
      const g = i % GROUPS;
      const ep = i % 2 === 0 ? epIP(1000 + g) : epIP(g); // even: a removed endpoint
      const sp = String(20000 + i);
      const r = sh(['conntrack', '-I', '-p', 'udp', '-s', '10.244.1.100', '-d', svcIP(g), '--sport', sp, '--dport', '53',
        '-r', ep, '-q', '10.244.1.100', '--reply-port-src', '5353', '--reply-port-dst', sp, '-t', '300']);
      if (r.status !== 0) throw new Error(`conntrack -I: ${r.stderr}`);
    }
    const insertMs = performance.now() - t;
    const cleanup = new ConntrackCleanup({ kernel: createConntrackKernel({ prefix: ['ip', 'netns', 'exec', ns] }), logger: { error() {}, warn() {}, info() {}, debug() {} }, resyncMs: 0 });
    await cleanup.probe();
    const m = model(GROUPS, (s) => [epIP(s)]);
    t = performance.now();
    await cleanup.afterSync({ kind: 'full', kernelOps: 0, problems: [], timings: { model: 0, render: 0, diff: 0, apply: 0 }, model: m, affected: 'all' });
    const runMs = performance.now() - t;
    const left = sh(['conntrack', '-L', '-p', 'udp']).stdout.split('\n').filter((l) => l.includes('udp')).length;
    return { inserted: REAL, insertMs: Math.round(insertMs), staleGroups: GROUPS, cleanupRunMs: Math.round(runMs), ...cleanup.last[0], left };
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

console.log(JSON.stringify({ pure: pure(), real: await real() }));
