// The incremental nftables sync at scale (compiled code in dist/): a cold full sync of
// 10k Services × 10 endpoints, then single-endpoint changes, each one partial
// transaction, and an unchanged sync (no kernel call). The kernel is real: `nft` runs in
// a private namespace `ip netns add kpx-bench-sync-<pid>` (deleted in finally), never in
// the machine's own. Needs root, `ip` and `nft`.
//
//   npm run bench                      # also runs this after nftables-scale.mjs
//   node --expose-gc bench/sync.mjs --services 10000 --endpoints 10 [--rounds 20]
//   node --expose-gc bench/sync.mjs --backend iptables   # only the iptables case (below)
//
// The iptables case runs the iptables proxier against FakeIptablesKernel (a fake, no
// root needed): the kernel operations and restore runs per sync, and kpx's compute;
// the restore process itself is not timed.
//
// Targets (issue 10): one endpoint change ≤ 5 ms of kpx compute (model + render + diff
// with serialisation), ≤ 10 kernel operations, ≤ 50 ms for the whole sync including
// the nft process; an unchanged sync makes no kernel call; RSS ≤ 300 MB.
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { NODE_NAME, generate, intOption as option, ipv4 } from './cluster.mjs';

const { createNftablesProxier, createNftKernel, createIptablesProxier, FakeIptablesKernel } = await import('../dist/sync/index.js');

const SERVICES = option('--services', 'SERVICES', 10_000);
const ENDPOINTS = option('--endpoints', 'ENDPOINTS', 10);
const ROUNDS = option('--rounds', 'ROUNDS', 20);
const BACKEND = process.argv.includes('--backend') ? process.argv[process.argv.indexOf('--backend') + 1] : 'all';

/** Round r's Service (spread over the cluster): its slice replaced by change(slice); returns its key. */
function changeOne(v, r, change) {
  const i = 1 + ((r * 7919) % (SERVICES - 1));
  const key = `ns-${i % 100}/svc-${i}`;
  const [slice] = v.slices.get(key);
  v.slices.set(key, [change(slice)]);
  return key;
}
if ((BACKEND === 'all' || BACKEND === 'nftables') && process.getuid?.() !== 0) {
  console.error('bench/sync.mjs needs root (ip netns add)');
  process.exit(1);
}

const label = 'kubernetes.io/service-name';
const keyOf = (o) => `${o.metadata.namespace}/${o.metadata.name}`;
const sliceKey = (s) => `${s.metadata.namespace}/${s.metadata.labels[label]}`;

/** A ClusterView over plain objects, indexed by Service key as the watch layer is. */
function view(snapshot) {
  const services = new Map(snapshot.services.map((s) => [keyOf(s), s]));
  const slices = new Map();
  for (const s of snapshot.endpointSlices) slices.set(sliceKey(s), [s]);
  return {
    services, slices,
    snapshot: () => ({ services: [...services.values()], endpointSlices: [...slices.values()].flat(), node: snapshot.node }),
    service: (key) => ({ service: services.get(key), slices: slices.get(key) ?? [] }),
    node: () => snapshot.node,
  };
}

const ms = (x) => `${x.toFixed(2)} ms`;
const secs = (x) => `${(x / 1000).toFixed(2)} s`;
const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const max = (xs) => Math.max(...xs);
const rows = [];
const row = (what, value) => rows.push([what, value]);

const ns = `kpx-bench-sync-${process.pid}`;
let failed = false;
let nextPod = 5_000_000;
const scenarios = {
  'endpoint replaced (new pod IP)': (slice) => {
    const eps = slice.endpoints.map((e) => ({ ...e }));
    eps[3] = { ...eps[3], addresses: [ipv4(11, nextPod++)] };
    return { ...slice, endpoints: eps };
  },
  'endpoint not ready (10 → 9)': (slice) => {
    const eps = slice.endpoints.map((e, i) => (i === 3 ? { ...e, conditions: { ready: false, serving: false, terminating: true } } : e));
    return { ...slice, endpoints: eps };
  },
};
if (BACKEND === 'all' || BACKEND === 'nftables') try {
  spawnSync('ip', ['netns', 'add', ns], { stdio: 'inherit' });
  const base = createNftKernel({ prefix: ['ip', 'netns', 'exec', ns] });
  let calls = 0;
  const kernel = { version: () => base.version(), list: (...a) => base.list(...a), apply: (s) => { calls++; return base.apply(s); } };
  const proxier = createNftablesProxier({ kernel });
  const options = { nodeName: NODE_NAME, clusterCIDRs: ['11.0.0.0/8'] };
  const v = view(generate(SERVICES, ENDPOINTS));
  globalThis.gc?.();
  row('services × endpoints', `${SERVICES} × ${ENDPOINTS}`);
  row('nft', await proxier.checkKernel());

  let t0 = performance.now();
  const cold = await proxier.sync({ view: v, changes: 'all', options });
  row('cold full sync (whole)', `${secs(performance.now() - t0)}: model ${ms(cold.timings.model)}, render ${ms(cold.timings.render)}, ` +
    `diff+print ${ms(cold.timings.diff)}, nft ${ms(cold.timings.apply)}; ${cold.kernelOps} nft commands`);

  for (const [name, change] of Object.entries(scenarios)) {
    const compute = [];
    const whole = [];
    const ops = [];
    const kinds = new Set();
    for (let r = 0; r < ROUNDS; r++) {
      const key = changeOne(v, r, change);
      t0 = performance.now();
      const res = await proxier.sync({ view: v, changes: { services: new Set([key]), node: false }, options });
      whole.push(performance.now() - t0);
      compute.push(res.timings.model + res.timings.render + res.timings.diff);
      ops.push(res.kernelOps);
      kinds.add(res.kind);
    }
    row(`${name}: kind`, [...kinds].join(','));
    row(`${name}: kpx compute`, `median ${ms(median(compute))}, max ${ms(max(compute))} (target ≤ 5 ms)`);
    row(`${name}: kernel ops`, `median ${median(ops)}, max ${max(ops)} (target ≤ 10; nft commands, see src/sync/README.md)`);
    row(`${name}: whole sync`, `median ${ms(median(whole))}, max ${ms(max(whole))} (target ≤ 50 ms, incl. ip netns exec + nft)`);
  }

  // The floor of any sync: spawning `ip netns exec … nft -f -` for a transaction that changes nothing.
  const floor = [];
  for (let r = 0; r < 10; r++) {
    t0 = performance.now();
    await base.apply('add table ip kube-proxy\n');
    floor.push(performance.now() - t0);
  }
  row('nft process floor (no-op script)', `median ${ms(median(floor))}, max ${ms(max(floor))}`);

  const before = calls;
  t0 = performance.now();
  const same = await proxier.sync({ view: v, changes: { services: new Set(['ns-1/svc-1']), node: false }, options });
  row('unchanged sync', `${same.kind}, ${calls - before} kernel calls, ${ms(performance.now() - t0)}`);
  if (calls !== before || same.kind !== 'noop') failed = true;
  globalThis.gc?.();
  row('RSS after (heap used)', `${mb(process.memoryUsage().rss)} (${mb(process.memoryUsage().heapUsed)}) (target ≤ 300 MB)`);
} catch (err) {
  failed = true;
  console.error(err);
} finally {
  spawnSync('ip', ['netns', 'delete', ns], { stdio: 'inherit' });
}

// iptables: the proxier against the fake kernel (operation counts; no kernel timing).
if (BACKEND === 'all' || BACKEND === 'iptables') try {
  const kernel = new FakeIptablesKernel();
  const proxier = createIptablesProxier({ kernel });
  const options = { nodeName: NODE_NAME, clusterCIDRs: ['11.0.0.0/8'] };
  const v = view(generate(SERVICES, ENDPOINTS));
  globalThis.gc?.();
  row('iptables (fake kernel): services × endpoints', `${SERVICES} × ${ENDPOINTS}`);
  let t0 = performance.now();
  const cold = await proxier.sync({ view: v, changes: 'all', options });
  row('iptables cold full sync (kpx compute)', `${secs(performance.now() - t0)}: model ${ms(cold.timings.model)}, render ${ms(cold.timings.render)}, ` +
    `plan ${ms(cold.timings.diff)}; ${cold.kernelOps} restore lines + jump checks, ${kernel.counts.restore} restores, ${kernel.counts.save} iptables-save`);
  for (const [name, change] of Object.entries(scenarios)) {
    const compute = [];
    const ops = [];
    const runs = [];
    const applies = [];
    const kinds = new Set();
    for (let r = 0; r < ROUNDS; r++) {
      const key = changeOne(v, r, change);
      const before = { ...kernel.counts };
      const res = await proxier.sync({ view: v, changes: { services: new Set([key]), node: false }, options });
      compute.push(res.timings.model + res.timings.render + res.timings.diff);
      applies.push(res.timings.apply);
      ops.push(res.kernelOps);
      runs.push(Object.keys(before).map((k) => kernel.counts[k] - before[k]).reduce((a, b) => a + b, 0));
      if (kernel.counts.save !== before.save) failed = true;
      kinds.add(res.kind);
    }
    const input = kernel.restores[kernel.restores.length - 1].input;
    row(`iptables ${name}: kind`, [...kinds].join(','));
    row(`iptables ${name}: kernel ops`, `median ${median(ops)}, max ${max(ops)} (restore lines: chain declarations, rules, -X)`);
    row(`iptables ${name}: tool runs`, `median ${median(runs)}, max ${max(runs)} (iptables-restore; no iptables-save)`);
    row(`iptables ${name}: chains sent`, [...input.matchAll(/^:(\S+) /gm)].map((m) => m[1].replace(/^(KUBE-[A-Z]+)-.*/, '$1')).join(' '));
    row(`iptables ${name}: kpx compute`, `median ${ms(median(compute))}, max ${ms(max(compute))} (model + render + plan with serialisation)`);
    row(`iptables ${name}: fake kernel apply`, `median ${ms(median(applies))} (the fake copies the changed table's chain index: not a kernel figure)`);
  }
  const before = kernel.calls;
  const same = await proxier.sync({ view: v, changes: { services: new Set(['ns-1/svc-1']), node: false }, options });
  row('iptables unchanged sync', `${same.kind}, ${kernel.calls - before} tool runs`);
  if (kernel.calls !== before || same.kind !== 'noop') failed = true;
} catch (err) {
  failed = true;
  console.error(err);
}

// IPVS (issue 11): the same cluster through the IPVS proxier with its real adapter over
// FakeIpvsTools (this machine's kernel has no IPVS; the real tools run in the IPVS VM,
// test/ipvs-vm/sync.test.ts). Kernel operations per sync for one endpoint change.
if (BACKEND === 'all' || BACKEND === 'ipvs') try {
  const { createIpvsProxier } = await import('../dist/sync/ipvs/index.js');
  const { createIpvsKernel } = await import('../dist/sync/kernel/ipvs.js');
  const { FakeIpvsTools } = await import('../dist/sync/kernel/ipvs-fake.js');
  const tools = new FakeIpvsTools();
  const proxier = createIpvsProxier({ kernel: createIpvsKernel({ exec: tools.exec }) });
  const options = { nodeName: NODE_NAME, clusterCIDRs: ['11.0.0.0/8'] };
  const v = view(generate(SERVICES, ENDPOINTS));
  let t0 = performance.now();
  const cold = await proxier.sync({ view: v, changes: 'all', options });
  row('ipvs: cold full sync (fake tools)', `${secs(performance.now() - t0)}; ${cold.kernelOps} kernel operations`);
  let nextPod = 6_000_000;
  const ops = [];
  const compute = [];
  const calls = [];
  const kinds = new Set();
  for (let r = 0; r < ROUNDS; r++) {
    const key = changeOne(v, r, (slice) => {
      const eps = slice.endpoints.map((e) => ({ ...e }));
      eps[3] = { ...eps[3], addresses: [ipv4(11, nextPod++)] };
      return { ...slice, endpoints: eps };
    });
    const before = tools.calls.length;
    const res = await proxier.sync({ view: v, changes: { services: new Set([key]), node: false }, options });
    ops.push(res.kernelOps);
    compute.push(res.timings.model + res.timings.render + res.timings.diff);
    calls.push(tools.calls.slice(before).map((c) => c.argv.split(' ').slice(0, 2).join(' ')).join(' + '));
    kinds.add(res.kind);
  }
  row('ipvs: endpoint replaced: kind', [...kinds].join(','));
  row('ipvs: endpoint replaced: kernel ops', `median ${median(ops)}, max ${max(ops)} (real server add + delete per virtual server of the Service)`);
  row('ipvs: endpoint replaced: tool runs', calls[0] ?? '');
  row('ipvs: endpoint replaced: kpx compute', `median ${ms(median(compute))}, max ${ms(max(compute))}`);
  const before = tools.calls.length;
  const same = await proxier.sync({ view: v, changes: { services: new Set(['ns-1/svc-1']), node: false }, options });
  row('ipvs: unchanged sync', `${same.kind}, ${tools.calls.length - before} tool runs`);
  if (same.kind !== 'noop' || tools.calls.length !== before) failed = true;
} catch (err) {
  failed = true;
  console.error(err);
}
row('peak RSS', `${mb(process.resourceUsage().maxRSS * 1024)} (includes the generated API objects, as the watch cache holds them)`);
row('load average (1 min)', (await import('node:os')).loadavg()[0].toFixed(2));
const width = Math.max(...rows.map(([w]) => w.length));
for (const [what, value] of rows) console.log(`${what.padEnd(width)}  ${value}`);
process.exitCode = failed ? 1 : 0;
