/**
 * The nftables proxier against the fake kernel: what each sync sends (kind, nft
 * commands, the script itself) and what it leaves (compared with a fresh full render).
 */
import { buildProxyState } from '../../src/model/build.js';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import type { ProxyOptions } from '../../src/model/types.js';
import { renderNftables, toNftScript } from '../../src/render/nftables/index.js';
import { NftError } from '../../src/sync/kernel/nft-error.js';
import { FakeNftKernel } from '../../src/sync/kernel/nft-fake.js';
import { createNftablesProxier } from '../../src/sync/nftables/index.js';
import { TestCluster, node, service, slice, withoutPendingDeletes } from './helpers.js';

const options: ProxyOptions = { nodeName: 'node-a', clusterCIDRs: ['10.244.0.0/16'] };

function setup(now?: () => number) {
  const cluster = new TestCluster({
    services: [service('a', '10.96.0.1'), service('b', '10.96.0.2', { nodePort: 30080 })],
    endpointSlices: [slice('a', ['10.244.2.10', '10.244.2.20', '10.244.2.30']), slice('b', ['10.244.2.40'])],
    node: node('10.100.0.10'),
  });
  const kernel = new FakeNftKernel();
  const proxier = createNftablesProxier({ kernel, ...(now ? { now, fullSyncIntervalMs: 1000 } : {}) });
  const sync = (full?: boolean) => proxier.sync({ view: cluster, changes: cluster.takeChanges(), options, ...(full ? { full } : {}) });
  return { cluster, kernel, proxier, sync };
}

/** The kernel state a fresh full load of the cluster gives. */
async function reference(cluster: TestCluster): Promise<string> {
  const k = new FakeNftKernel();
  await k.apply(toNftScript(renderNftables(buildProxyState(cluster.snapshot(), options).state)));
  return k.dump();
}

async function expectKernelMatches(cluster: TestCluster, kernel: FakeNftKernel): Promise<void> {
  const ref = await reference(cluster);
  expect(withoutPendingDeletes(kernel.dump(), ref)).toEqual(ref);
}

const lastScript = (k: FakeNftKernel): string => k.applied[k.applied.length - 1] ?? '';

describe('nftables proxier (fake kernel)', () => {
  test('first sync is a full replacement; an unchanged cluster makes no kernel call', async () => {
    const { cluster, kernel, proxier } = setup();
    const first = await proxier.sync({ view: cluster, changes: 'all', options });
    expect(first.kind).toBe('full');
    expect(lastScript(kernel)).toMatch(/^add table ip kube-proxy\ndelete table ip kube-proxy\nadd table ip6 kube-proxy\ndelete table ip6 kube-proxy\n/);
    await expectKernelMatches(cluster, kernel);
    const calls = kernel.calls;
    const again = await proxier.sync({ view: cluster, changes: { services: new Set(['ns/a', 'ns/b']), node: false }, options });
    expect(again).toMatchObject({ kind: 'noop', kernelOps: 0 });
    expect(kernel.calls).toBe(calls);
  });

  test('an endpoint port change of a ClusterIP Service: 2 operations (its eps element deleted and added)', async () => {
    const { cluster, kernel, sync } = setup();
    await sync();
    cluster.setSlices('ns/a', [slice('a', ['10.244.2.10', '10.244.2.20', '10.244.2.30'], 9090)]);
    // The Service's three endpoints all change port: still one delete and one add command.
    const r = await sync();
    expect(r).toMatchObject({ kind: 'partial', kernelOps: 2 });
    expect(lastScript(kernel)).toBe([
      'delete element ip kube-proxy eps-3 { 10.96.0.1 . tcp . 80 . 0,',
      '\t10.96.0.1 . tcp . 80 . 1,',
      '\t10.96.0.1 . tcp . 80 . 2 }',
      'add element ip kube-proxy eps-3 { 10.96.0.1 . tcp . 80 . 0 comment "ns/a:http" : 10.244.2.10 . 9090,',
      '\t10.96.0.1 . tcp . 80 . 1 comment "ns/a:http" : 10.244.2.20 . 9090,',
      '\t10.96.0.1 . tcp . 80 . 2 comment "ns/a:http" : 10.244.2.30 . 9090 }',
      '',
    ].join('\n'));
    await expectKernelMatches(cluster, kernel);
  });

  test('an endpoint replaced by a new pod IP: the eps and hairpin elements swap (4 operations)', async () => {
    const { cluster, kernel, sync } = setup();
    await sync();
    cluster.setSlices('ns/a', [slice('a', ['10.244.2.10', '10.244.2.21', '10.244.2.30'])]);
    const r = await sync();
    expect(r).toMatchObject({ kind: 'partial', kernelOps: 4 });
    expect(lastScript(kernel)).toBe([
      'delete element ip kube-proxy eps-3 { 10.96.0.1 . tcp . 80 . 1 }',
      'delete element ip kube-proxy hairpin { 10.244.2.20 . 10.244.2.20 }',
      'add element ip kube-proxy eps-3 { 10.96.0.1 . tcp . 80 . 1 comment "ns/a:http" : 10.244.2.21 . 8080 }',
      'add element ip kube-proxy hairpin { 10.244.2.21 . 10.244.2.21 }',
      '',
    ].join('\n'));
    await expectKernelMatches(cluster, kernel);
  });

  test('an endpoint count change moves the elements from eps-3 to eps-2; lb-3 is flushed now and deleted by a later transaction', async () => {
    const { cluster, kernel, sync } = setup();
    await sync();
    cluster.setSlices('ns/a', [slice('a', ['10.244.2.10', '10.244.2.20'])]);
    const r = await sync();
    expect(r.kind).toBe('partial');
    const script = lastScript(kernel);
    expect(script).toContain('delete element ip kube-proxy eps-3 { 10.96.0.1 . tcp . 80 . 0,');
    expect(script).toContain('delete element ip kube-proxy lb { 10.96.0.1 . tcp . 80 }');
    expect(script).toContain('add map ip kube-proxy eps-2 { typeof ip daddr . meta l4proto . th dport . numgen random mod 2 : ip daddr . th dport; }');
    expect(script).toContain('add chain ip kube-proxy lb-2\n');
    expect(script).toContain('add element ip kube-proxy lb { 10.96.0.1 . tcp . 80 comment "ns/a:http" : goto lb-2 }');
    expect(script).toContain('flush chain ip kube-proxy lb-3\n');
    expect(script).not.toMatch(/delete (chain|map)/);
    expect(await kernel.list('chain', 'ip', 'kube-proxy', 'lb-3')).toBe('  chain lb-3\n');
    await expectKernelMatches(cluster, kernel);

    // Nothing changed: no kernel call, even with deletions pending.
    const calls = kernel.calls;
    expect((await sync()).kind).toBe('noop');
    expect(kernel.calls).toBe(calls);

    // The next transaction deletes the flushed chain and its map.
    cluster.setSlices('ns/b', [slice('b', ['10.244.2.41'])]);
    expect((await sync()).kind).toBe('partial');
    expect(lastScript(kernel)).toMatch(/^delete chain ip kube-proxy lb-3\n/);
    expect(lastScript(kernel)).toMatch(/\ndelete map ip kube-proxy eps-3\n$/);
    await expect(kernel.list('chain', 'ip', 'kube-proxy', 'lb-3')).rejects.toThrow(NftError);
    expect(kernel.dump()).toEqual(await reference(cluster));
  });

  test('a kernel error: rethrown typed, memory dropped, the next sync is full and repairs', async () => {
    const { cluster, kernel, sync } = setup();
    await sync();
    // Someone deletes an element behind kpx's back; kpx's next delete of it fails.
    await kernel.apply('delete element ip kube-proxy eps-3 { 10.96.0.1 . tcp . 80 . 1 }\n');
    cluster.setSlices('ns/a', [slice('a', ['10.244.2.10', '10.244.2.21', '10.244.2.30'])]);
    const err = await sync().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(NftError);
    expect(err).toMatchObject({ line: 1, object: { verb: 'delete', kind: 'element', name: 'eps-3' } });
    // The failed transaction changed nothing (all or nothing).
    expect(await kernel.list('map', 'ip', 'kube-proxy', 'eps-3')).not.toContain('10.244.2.21');
    const next = await sync();
    expect(next.kind).toBe('full');
    expect(kernel.dump()).toEqual(await reference(cluster));
  });

  test('an injected failure before the kernel runs anything: next sync full, then partial again', async () => {
    const { cluster, kernel, sync } = setup();
    await sync();
    kernel.failNext = new NftError('nft: injected', undefined, undefined, undefined, 1, '');
    cluster.setSlices('ns/a', [slice('a', ['10.244.2.10'])]);
    await expect(sync()).rejects.toThrow('injected');
    expect((await sync()).kind).toBe('full');
    cluster.setSlices('ns/a', [slice('a', ['10.244.2.11'])]);
    expect((await sync()).kind).toBe('partial');
    await expectKernelMatches(cluster, kernel);
  });

  test('full on request, after invalidate(), after the full-sync interval, and when the options change', async () => {
    let t = 0;
    const { cluster, proxier, sync } = setup(() => t);
    expect((await sync()).kind).toBe('full');
    expect((await sync(true)).kind).toBe('full');
    proxier.invalidate();
    expect((await sync()).kind).toBe('full');
    t = 999; // interval 1000 ms
    expect((await sync()).kind).toBe('noop');
    t = 2000;
    expect((await sync()).kind).toBe('full');
    const other = await proxier.sync({ view: cluster, changes: cluster.takeChanges(), options: { ...options, masqueradeAll: true } });
    expect(other.kind).toBe('full');
  });

  test('a Node change recomputes everything but sends only what differs (the nodeport-ips element)', async () => {
    const { cluster, kernel, sync } = setup();
    await sync();
    cluster.setNode(node('10.100.0.11'));
    const r = await sync();
    expect(r).toMatchObject({ kind: 'partial', kernelOps: 2 });
    expect(lastScript(kernel)).toBe('delete element ip kube-proxy nodeport-ips { 10.100.0.10 }\nadd element ip kube-proxy nodeport-ips { 10.100.0.11 }\n');
    await expectKernelMatches(cluster, kernel);
  });

  test('a deleted Service: its elements go, problems are kept for every Service', async () => {
    const { cluster, kernel, sync } = setup();
    await sync();
    cluster.setService('ns/b', undefined);
    const r = await sync();
    expect(r.kind).toBe('partial');
    // b's slice is left without a Service: reported, as a full build reports it.
    expect(r.problems).toEqual(buildProxyState(cluster.snapshot(), options).problems);
    expect(r.problems.map((p) => p.message)).toContain('Service ns/b does not exist');
    await expectKernelMatches(cluster, kernel);
  });

  test('dual-stack: the ip6 table appears with the first IPv6 Service (full), then changes in it are partial', async () => {
    const { cluster, kernel, sync } = setup();
    await sync();
    const v6: V1Service = {
      ...service('six', '10.96.0.6'),
      spec: { ...service('six', '10.96.0.6').spec, clusterIP: 'fd00::6', clusterIPs: ['fd00::6'], ipFamilies: ['IPv6'] },
    };
    const v6Slice = (ips: string[]): V1EndpointSlice => ({ ...slice('six', ips), addressType: 'IPv6' });
    cluster.setService('ns/six', v6);
    cluster.setSlices('ns/six', [v6Slice(['fd00:244::10', 'fd00:244::20'])]);
    expect((await sync()).kind).toBe('full');
    await expectKernelMatches(cluster, kernel);
    cluster.setSlices('ns/six', [v6Slice(['fd00:244::10', 'fd00:244::21'])]);
    const r = await sync();
    expect(r).toMatchObject({ kind: 'partial', kernelOps: 4 });
    expect(lastScript(kernel)).toContain('delete element ip6 kube-proxy eps-2 { fd00::6 . tcp . 80 . 1 }');
    expect(lastScript(kernel)).not.toContain(' ip kube-proxy ');
    expect(kernel.dump()).toContain('table ip6 kube-proxy');
    await expectKernelMatches(cluster, kernel);
    // The last IPv6 Service goes (the node has no IPv6 address): the ip6 table goes too.
    cluster.setService('ns/six', undefined);
    cluster.setSlices('ns/six', []);
    expect((await sync()).kind).toBe('full');
    expect(kernel.dump()).not.toContain('table ip6 kube-proxy');
    await expectKernelMatches(cluster, kernel);
  });

  test('a flushed lb chain wanted again before its deletion: chain and map made again in one transaction', async () => {
    const { cluster, kernel, sync } = setup();
    await sync();
    cluster.setSlices('ns/a', [slice('a', ['10.244.2.10', '10.244.2.20'])]);
    await sync(); // lb-3 flushed, eps-3 empty: both pending deletion
    cluster.setSlices('ns/a', [slice('a', ['10.244.2.10', '10.244.2.20', '10.244.2.30'])]);
    const r = await sync();
    expect(r.kind).toBe('partial');
    const script = lastScript(kernel);
    expect(script).toMatch(/^delete chain ip kube-proxy lb-3\n/);
    expect(script).toContain('delete map ip kube-proxy eps-3\n');
    expect(script).toContain('add map ip kube-proxy eps-3 {');
    expect(script).toContain('add chain ip kube-proxy lb-3\n');
    await expectKernelMatches(cluster, kernel);
  });
});
