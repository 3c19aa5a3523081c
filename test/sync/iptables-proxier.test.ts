/**
 * The iptables proxier against the fake kernel: what each sync sends (kind, restore
 * input, operation counts, tool runs) and what it leaves, compared with a fresh load of
 * the full renderer's output for the same cluster.
 */
import type { ProxyOptions } from '../../src/model/types.js';
import { endpointChainName, serviceChainName } from '../../src/render/iptables/names.js';
import { IptablesError } from '../../src/sync/kernel/iptables-error.js';
import { FakeIptablesKernel } from '../../src/sync/kernel/iptables-fake.js';
import { createIptablesProxier } from '../../src/sync/iptables/index.js';
import { prng, randomCluster } from '../trace/random-cluster.js';
import { TestCluster, node, service, slice } from './helpers.js';
import { loadReference } from './iptables-helpers.js';

const options: ProxyOptions = { nodeName: 'node-a', clusterCIDRs: ['10.244.0.0/16'] };
const A = { key: 'ns/a:http', protocol: 'tcp' as const };

function setup(extra: { now?: () => number; threshold?: number } = {}) {
  const cluster = new TestCluster({
    services: [service('a', '10.96.0.1'), service('b', '10.96.0.2', { nodePort: 30080 })],
    endpointSlices: [slice('a', ['10.244.2.10', '10.244.2.20', '10.244.2.30']), slice('b', ['10.244.2.40'])],
    node: node('10.100.0.10'),
  });
  const kernel = new FakeIptablesKernel();
  const proxier = createIptablesProxier({
    kernel,
    ...(extra.now ? { now: extra.now, fullSyncIntervalMs: 1000 } : {}),
    ...(extra.threshold !== undefined ? { largeClusterEndpointsThreshold: extra.threshold } : {}),
  });
  const sync = (full?: boolean) => proxier.sync({ view: cluster, changes: cluster.takeChanges(), options, ...(full ? { full } : {}) });
  return { cluster, kernel, proxier, sync };
}

async function expectMatchesReference(cluster: TestCluster, kernel: FakeIptablesKernel, opts = options, threshold?: number): Promise<void> {
  const ref = new FakeIptablesKernel();
  await loadReference(ref, cluster.snapshot(), opts, threshold);
  expect(kernel.dump('ipv4')).toEqual(ref.dump('ipv4'));
  expect(kernel.dump('ipv6')).toEqual(ref.dump('ipv6'));
}

const last = (k: FakeIptablesKernel): string => k.restores[k.restores.length - 1]?.input ?? '';
const declared = (input: string): string[] => [...input.matchAll(/^:(\S+) /gm)].map((m) => m[1]!);

describe('iptables proxier (fake kernel)', () => {
  test('first sync is full: canaries, every chain, the jumps; an unchanged cluster makes no kernel call', async () => {
    const { cluster, kernel, proxier } = setup();
    const first = await proxier.sync({ view: cluster, changes: 'all', options });
    expect(first.kind).toBe('full');
    expect(kernel.counts.restore).toBe(1);
    expect(kernel.counts.save).toBe(1); // stale chains of an earlier run, listed once per full sync
    expect(last(kernel)).toMatch(/^\*mangle\n:KUBE-PROXY-CANARY - \[0:0\]\nCOMMIT\n\*filter\n/);
    await expectMatchesReference(cluster, kernel);
    const calls = kernel.calls;
    const again = await proxier.sync({ view: cluster, changes: { services: new Set(['ns/a', 'ns/b']), node: false }, options });
    expect(again).toMatchObject({ kind: 'noop', kernelOps: 0, affected: new Set(['ns/a', 'ns/b']) });
    expect(kernel.calls).toBe(calls);
  });

  test('one endpoint added: one restore with the SVC chain and the new SEP chain only, no listing', async () => {
    const { cluster, kernel, sync } = setup();
    await sync();
    const calls = { ...kernel.counts };
    cluster.setSlices('ns/a', [slice('a', ['10.244.2.10', '10.244.2.20', '10.244.2.30', '10.244.2.50'])]);
    const r = await sync();
    expect(r.kind).toBe('partial');
    expect(kernel.counts).toEqual({ ...calls, restore: calls.restore + 1 });
    const input = last(kernel);
    const sep = endpointChainName(A, { ip: '10.244.2.50', port: 8080 });
    expect(declared(input).sort()).toEqual([serviceChainName('svc', A), sep].sort());
    expect(input).not.toMatch(/^\*filter/m);
    expect(input).not.toMatch(/^-X/m);
    // 2 declarations, the SVC chain's masquerade rule + 4 jumps, the SEP chain's 2 rules.
    expect(r.kernelOps).toBe(2 + 5 + 2);
    expect(r.affected).toEqual(new Set(['ns/a']));
    await expectMatchesReference(cluster, kernel);
  });

  test('one endpoint removed: the SVC chain rewritten, the SEP chain flushed and deleted in the same restore', async () => {
    const { cluster, kernel, sync } = setup();
    await sync();
    cluster.setSlices('ns/a', [slice('a', ['10.244.2.10', '10.244.2.20'])]);
    const r = await sync();
    const input = last(kernel);
    const gone = endpointChainName(A, { ip: '10.244.2.30', port: 8080 });
    expect(declared(input).sort()).toEqual([serviceChainName('svc', A), gone].sort());
    expect(input).toMatch(new RegExp(`^-X ${gone}\nCOMMIT\n$`, 'm'));
    expect(r.kernelOps).toBe(2 + 3 + 1);
    await expectMatchesReference(cluster, kernel);
  });

  test('a Service deleted and one added: dispatch chains rewritten, the old chains deleted, the state is the reference', async () => {
    const { cluster, kernel, sync } = setup();
    await sync();
    cluster.setService('ns/b', undefined);
    cluster.setSlices('ns/b', []);
    cluster.setService('ns/c', service('c', '10.96.0.3'));
    cluster.setSlices('ns/c', [slice('c', [])]);
    expect((await sync()).kind).toBe('partial');
    expect(declared(last(kernel))).toEqual(expect.arrayContaining(['KUBE-SERVICES', 'KUBE-NODEPORTS']));
    expect(last(kernel)).toMatch(/^-X KUBE-SVC-/m);
    await expectMatchesReference(cluster, kernel);
  });

  test('a failed restore throws the typed error, drops the memory, and the next sync is full', async () => {
    const { cluster, kernel, sync } = setup();
    await sync();
    cluster.setSlices('ns/a', [slice('a', ['10.244.2.10'])]);
    kernel.failNext = 'injected';
    await expect(sync()).rejects.toThrow(IptablesError);
    const r = await sync();
    expect(r.kind).toBe('full');
    await expectMatchesReference(cluster, kernel);
  });

  test('full on request, after invalidate() and periodically; jumps ensured only on full syncs', async () => {
    let t = 0;
    const { cluster, kernel, proxier, sync } = setup({ now: () => t });
    await sync();
    expect((await sync(true)).kind).toBe('full');
    proxier.invalidate();
    expect((await sync()).kind).toBe('full');
    const checks = kernel.counts.check;
    cluster.setSlices('ns/a', [slice('a', ['10.244.2.11'])]);
    expect((await sync()).kind).toBe('partial');
    expect(kernel.counts.check).toBe(checks);
    t = 1000;
    expect((await sync()).kind).toBe('full');
    expect(kernel.counts.insert).toBeGreaterThan(0);
    await expectMatchesReference(cluster, kernel);
  });

  test('large-cluster mode flips with the endpoint count: a full sync, and comments follow the renderer', async () => {
    const { cluster, kernel, sync } = setup({ threshold: 4 });
    await sync();
    cluster.setSlices('ns/b', [slice('b', ['10.244.2.40', '10.244.2.41'])]); // 5 endpoints > 4
    expect((await sync()).kind).toBe('full');
    await expectMatchesReference(cluster, kernel, options, 4);
    cluster.setSlices('ns/b', [slice('b', [])]);
    expect((await sync()).kind).toBe('full');
    await expectMatchesReference(cluster, kernel, options, 4);
  });

  test('chains a previous run left are found on the full sync and deleted; foreign chains, rules and policies stay', async () => {
    const { kernel, sync } = setup();
    kernel.exec('ipv4', 'nat', ['-N', 'KUBE-SEP-LEFTOVER0000000']);
    kernel.exec('ipv4', 'nat', ['-N', 'CNI-HOSTPORT']);
    kernel.exec('ipv4', 'nat', ['-A', 'PREROUTING', '-j', 'CNI-HOSTPORT']);
    kernel.exec('ipv4', 'filter', ['-P', 'FORWARD', 'DROP']);
    await sync();
    const dump = kernel.dump('ipv4');
    expect(dump).not.toMatch(/KUBE-SEP-LEFTOVER/);
    expect(dump).toMatch(/^:CNI-HOSTPORT - /m);
    expect(dump).toMatch(/^-A PREROUTING -j CNI-HOSTPORT$/m);
    expect(dump).toMatch(/^:FORWARD DROP /m);
  });

  test('canaries: all present after a full sync; a lost table is reported', async () => {
    const { kernel, proxier, sync } = setup();
    expect(await proxier.checkCanaries()).toEqual([]);
    await sync();
    expect(await proxier.checkCanaries()).toEqual([]);
    kernel.dropTable('ipv4', 'nat');
    expect(await proxier.checkCanaries()).toEqual(['ipv4/nat']);
  });

  test('random clusters: every incremental sync leaves exactly what a fresh full load gives', async () => {
    const r = prng(7);
    let partials = 0;
    for (const seed of [1, 2, 3, 4, 5, 6, 8, 13]) {
      const base = randomCluster(seed);
      const cluster = new TestCluster(base.snapshot);
      const kernel = new FakeIptablesKernel();
      const proxier = createIptablesProxier({ kernel });
      await proxier.sync({ view: cluster, changes: 'all', options: base.options });
      for (let step = 0; step < 8; step++) {
        const other = randomCluster(5000 + Math.floor(r() * 100000)).snapshot;
        const s = Math.floor(r() * 5);
        const key = `prop/svc${s}`;
        if (r() < 0.6) cluster.setService(key, other.services.find((x) => x.metadata?.name === `svc${s}`));
        cluster.setSlices(key, other.endpointSlices.filter((x) => x.metadata?.labels?.['kubernetes.io/service-name'] === `svc${s}`));
        const res = await proxier.sync({ view: cluster, changes: cluster.takeChanges(), options: base.options });
        if (res.kind === 'partial') partials++;
        await expectMatchesReference(cluster, kernel, base.options);
      }
    }
    expect(partials).toBeGreaterThan(20);
  });
});
