/**
 * The IPVS proxier with the real adapter (src/sync/kernel/ipvs.ts) over FakeIpvsTools:
 * what each sync sends (operations per tool) and what it leaves, compared with what the
 * renderer's own output loads into a clean fake and with a fresh proxier's full sync.
 * The real tools and kernel: test/ipvs-vm/sync.test.ts.
 */
import { buildProxyState } from '../../src/model/build.js';
import type { V1EndpointSlice } from '@kubernetes/client-node';
import type { ProxyOptions } from '../../src/model/types.js';
import { renderIpvsFamilies, toAddressBatch, toIpsetRestore, toIpvsadmRestore } from '../../src/render/ipvs/index.js';
import { createIpvsKernel } from '../../src/sync/kernel/ipvs.js';
import { IpvsToolError } from '../../src/sync/kernel/ipvs-error.js';
import { FakeIpvsTools } from '../../src/sync/kernel/ipvs-fake.js';
import { createIpvsProxier, type IpvsProxierOptions } from '../../src/sync/ipvs/index.js';
import { TestCluster, node, service, slice } from './helpers.js';

const options: ProxyOptions = { nodeName: 'node-a', clusterCIDRs: ['10.244.0.0/16'] };

function udpSlice(name: string, ips: readonly string[]): V1EndpointSlice {
  const s = slice(name, ips);
  return { ...s, ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] };
}

function setup(extra: IpvsProxierOptions = {}, tools = new FakeIpvsTools()) {
  const cluster = new TestCluster({
    services: [service('a', '10.96.0.1'), service('b', '10.96.0.2', { nodePort: 30080 })],
    endpointSlices: [slice('a', ['10.244.2.10', '10.244.2.20', '10.244.2.30']), slice('b', ['10.244.2.40'])],
    node: node('10.100.0.10'),
  });
  const proxier = createIpvsProxier({ kernel: createIpvsKernel({ exec: tools.exec }), ...extra });
  const sync = (full?: boolean) => proxier.sync({ view: cluster, changes: cluster.takeChanges(), options, ...(full ? { full } : {}) });
  return { cluster, tools, proxier, sync };
}

/** What loading the renderer's full output (ipset, ipvsadm, addresses) into a clean fake leaves. */
async function rendered(cluster: TestCluster): Promise<string> {
  const t = new FakeIpvsTools();
  const r = renderIpvsFamilies(buildProxyState(cluster.snapshot(), options).state);
  expect((await t.exec(['ipset', 'restore', '-exist'], toIpsetRestore(r.families))).code).toBe(0);
  expect((await t.exec(['ipvsadm', '-R'], toIpvsadmRestore(r.families))).code).toBe(0);
  await t.exec(['ip', 'link', 'add', 'kube-ipvs0', 'type', 'dummy']);
  expect((await t.exec(['ip', '-batch', '-'], toAddressBatch(r.families))).code).toBe(0);
  return t.dump();
}

/** What a fresh proxier's first (full) sync of the cluster leaves in a clean fake. */
async function fresh(cluster: TestCluster): Promise<FakeIpvsTools> {
  const t = new FakeIpvsTools();
  await createIpvsProxier({ kernel: createIpvsKernel({ exec: t.exec }) }).sync({ view: cluster, changes: 'all', options });
  return t;
}

const callsSince = (t: FakeIpvsTools, n: number): string[] => t.calls.slice(n).map((c) => c.argv);
const inputOf = (t: FakeIpvsTools, argv: string): string => [...t.calls].reverse().find((c) => c.argv === argv)?.input ?? '';

describe('IPVS proxier (real adapter, fake tools)', () => {
  test('first sync is full: sysctls, kube-ipvs0, lists the kernel once, and leaves what the renderer loads', async () => {
    const { cluster, tools, sync } = setup();
    const r = await sync();
    expect(r.kind).toBe('full');
    expect(tools.dump()).toBe(await rendered(cluster));
    expect(tools.sysctls.get('net.ipv4.vs.conntrack')).toBe('1');
    expect(tools.sysctls.has('net.ipv4.conf.all.arp_ignore')).toBe(false);
    expect(tools.count('ipset save')).toBe(1);
    expect(tools.count('ipvsadm -S -n')).toBe(1);
    expect(tools.glue.get('iptables-restore')).toMatch(/^\*nat\n/);
    expect(tools.jumps.size).toBeGreaterThan(0);
  });

  test('nothing changed: noop, no kernel call at all', async () => {
    const { tools, sync, cluster } = setup();
    await sync();
    const n = tools.calls.length;
    cluster.setService('ns/a', cluster.services.get('ns/a'));
    const r = await sync();
    expect(r).toMatchObject({ kind: 'noop', kernelOps: 0 });
    expect(tools.calls.length).toBe(n);
  });

  test('one endpoint added to a ClusterIP Service: one real server add and nothing else', async () => {
    const { cluster, tools, sync } = setup();
    await sync();
    const n = tools.calls.length;
    cluster.setSlices('ns/a', [slice('a', ['10.244.2.10', '10.244.2.20', '10.244.2.30', '10.244.2.31'])]);
    const r = await sync();
    expect(r).toMatchObject({ kind: 'partial', kernelOps: 1 });
    expect(callsSince(tools, n)).toEqual(['ipvsadm -R']);
    expect(inputOf(tools, 'ipvsadm -R')).toBe('-a -t 10.96.0.1:80 -r 10.244.2.31:8080 -m -w 1\n');
    expect(tools.dump()).toBe(await rendered(cluster));
  });

  test('one idle TCP endpoint removed: one connection read, one real server delete', async () => {
    const { cluster, tools, sync, proxier } = setup();
    await sync();
    const n = tools.calls.length;
    cluster.setSlices('ns/a', [slice('a', ['10.244.2.10', '10.244.2.20'])]);
    const r = await sync();
    expect(r).toMatchObject({ kind: 'partial', kernelOps: 1 });
    expect(callsSince(tools, n)).toEqual(['ipvsadm -L -n -t 10.96.0.1:80', 'ipvsadm -R']);
    expect(inputOf(tools, 'ipvsadm -R')).toBe('-d -t 10.96.0.1:80 -r 10.244.2.30:8080\n');
    expect(proxier.pendingTerminations).toBe(0);
    expect(tools.dump()).toBe(await rendered(cluster));
  });

  test('a TCP endpoint with connections: weight 0, deleted once idle; back before that: weight 1', async () => {
    const { cluster, tools, sync, proxier } = setup();
    await sync();
    tools.connectionCounts.set('tcp 10.96.0.1:80', new Map([['10.244.2.30:8080', { active: 1, inactive: 2 }]]));
    cluster.setSlices('ns/a', [slice('a', ['10.244.2.10', '10.244.2.20'])]);
    expect(await sync()).toMatchObject({ kind: 'partial', kernelOps: 1 });
    expect(inputOf(tools, 'ipvsadm -R')).toBe('-e -t 10.96.0.1:80 -r 10.244.2.30:8080 -m -w 0\n');
    expect(proxier.pendingTerminations).toBe(1);
    // Still busy: nothing to write (one read).
    expect(await sync()).toMatchObject({ kind: 'noop', kernelOps: 0 });
    // It comes back: weight 1 again, no longer pending.
    cluster.setSlices('ns/a', [slice('a', ['10.244.2.10', '10.244.2.20', '10.244.2.30'])]);
    expect(await sync()).toMatchObject({ kind: 'partial', kernelOps: 1 });
    expect(inputOf(tools, 'ipvsadm -R')).toBe('-e -t 10.96.0.1:80 -r 10.244.2.30:8080 -m -w 1\n');
    expect(proxier.pendingTerminations).toBe(0);
    // Removed again, then idle: deleted by the next sync.
    cluster.setSlices('ns/a', [slice('a', ['10.244.2.10', '10.244.2.20'])]);
    await sync();
    expect(proxier.pendingTerminations).toBe(1);
    tools.connectionCounts.clear();
    expect(await sync()).toMatchObject({ kind: 'partial', kernelOps: 1 });
    expect(inputOf(tools, 'ipvsadm -R')).toBe('-d -t 10.96.0.1:80 -r 10.244.2.30:8080\n');
    expect(proxier.pendingTerminations).toBe(0);
    expect(tools.dump()).toBe(await rendered(cluster));
  });

  test('a busy TCP real server is deleted after the graceful timeout (injected clock)', async () => {
    let t = 0;
    const { cluster, tools, sync, proxier } = setup({ now: () => t, gracefulTimeoutMs: 60_000, fullSyncIntervalMs: 1e12 });
    await sync();
    tools.connectionCounts.set('tcp 10.96.0.1:80', new Map([['10.244.2.30:8080', { active: 5, inactive: 0 }]]));
    cluster.setSlices('ns/a', [slice('a', ['10.244.2.10', '10.244.2.20'])]);
    await sync();
    t = 59_999;
    expect(await sync()).toMatchObject({ kind: 'noop' });
    t = 60_000;
    expect(await sync()).toMatchObject({ kind: 'partial', kernelOps: 1 });
    expect(inputOf(tools, 'ipvsadm -R')).toBe('-d -t 10.96.0.1:80 -r 10.244.2.30:8080\n');
    expect(proxier.pendingTerminations).toBe(0);
  });

  test('a UDP real server is deleted at once, connections or not (as upstream)', async () => {
    const tools = new FakeIpvsTools();
    const { cluster, sync, proxier } = setup({}, tools);
    const dns = { ...service('dns', '10.96.0.10'), spec: { clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ports: [{ name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 }] } };
    cluster.setService('ns/dns', dns);
    cluster.setSlices('ns/dns', [{ ...udpSlice('dns', ['10.244.2.50', '10.244.2.51']) }]);
    await sync();
    tools.connectionCounts.set('udp 10.96.0.10:53', new Map([['10.244.2.51:53', { active: 0, inactive: 3 }]]));
    const n = tools.calls.length;
    cluster.setSlices('ns/dns', [udpSlice('dns', ['10.244.2.50'])]);
    expect(await sync()).toMatchObject({ kind: 'partial', kernelOps: 1 });
    expect(callsSince(tools, n)).toEqual(['ipvsadm -R']);
    expect(inputOf(tools, 'ipvsadm -R')).toBe('-d -u 10.96.0.10:53 -r 10.244.2.51:53\n');
    expect(proxier.pendingTerminations).toBe(0);
  });

  test('one endpoint of a NodePort Service: one add per virtual server (cluster IP and node IP)', async () => {
    const { cluster, tools, sync } = setup();
    await sync();
    cluster.setSlices('ns/b', [slice('b', ['10.244.2.40', '10.244.2.41'])]);
    const r = await sync();
    expect(inputOf(tools, 'ipvsadm -R').split('\n').filter((l) => l !== '').sort()).toEqual([
      '-a -t 10.100.0.10:30080 -r 10.244.2.41:8080 -m -w 1',
      '-a -t 10.96.0.2:80 -r 10.244.2.41:8080 -m -w 1',
    ]);
    expect(r).toMatchObject({ kind: 'partial', kernelOps: 2 });
  });

  test('a Service removed: its virtual servers, set entries and address go; the result equals a fresh full sync', async () => {
    const { cluster, tools, sync } = setup();
    await sync();
    cluster.setService('ns/b', undefined);
    cluster.setSlices('ns/b', []);
    const r = await sync();
    expect(r.kind).toBe('partial');
    expect(inputOf(tools, 'ipvsadm -R').split('\n').filter((l) => l !== '').sort()).toEqual(['-D -t 10.100.0.10:30080', '-D -t 10.96.0.2:80']);
    expect(inputOf(tools, 'ip -batch -')).toBe('address del 10.96.0.2/32 dev kube-ipvs0\n');
    expect(inputOf(tools, 'ipset restore -exist').split('\n').filter((l) => l !== '').sort()).toEqual([
      'del KUBE-CLUSTER-IP 10.96.0.2,tcp:80', 'del KUBE-IPVS-IPS 10.96.0.2', 'del KUBE-NODE-PORT-TCP 30080',
    ]);
    expect(tools.dump()).toBe((await fresh(cluster)).dump());
    expect(tools.dump()).toBe(await rendered(cluster));
    // The glue lost its NodePort rule (the set is empty now): restored once.
    expect(tools.glue.get('iptables-restore')).toBe((await fresh(cluster)).glue.get('iptables-restore'));
  });

  test('a Node change rebuilds the desired state: compared with all of the memory, so a Service removed meanwhile goes', async () => {
    const { cluster, tools, sync } = setup();
    await sync();
    cluster.setService('ns/b', undefined);
    cluster.setSlices('ns/b', []);
    cluster.setNode(node('10.100.0.11'));
    const r = await sync();
    expect(r.kind).toBe('partial');
    expect(tools.dump()).not.toMatch(/10\.96\.0\.2/);
    expect(tools.dump()).toBe(await rendered(cluster));
  });

  test('full resync lists the kernel once: stale kpx state goes, foreign and excluded virtual servers stay', async () => {
    const tools = new FakeIpvsTools();
    await tools.exec(['ip', 'link', 'add', 'kube-ipvs0', 'type', 'dummy']);
    await tools.exec(['ip', '-batch', '-'], 'address add 10.96.9.9/32 dev kube-ipvs0\naddress add 10.96.8.8/32 dev kube-ipvs0\n');
    await tools.exec(['ipvsadm', '-R'], [
      '-A -t 10.96.9.9:80 -s rr', '-a -t 10.96.9.9:80 -r 10.244.9.9:80 -m -w 1', // stale kpx (on kube-ipvs0)
      '-A -t 10.96.8.8:80 -s rr', // on kube-ipvs0 but excluded
      '-A -t 192.168.7.1:443 -s wlc', // foreign
      '-A -t 10.96.0.1:80 -s rr', '-a -t 10.96.0.1:80 -r 10.244.2.99:8080 -m -w 1', // wanted, with a stale real server
      '',
    ].join('\n'));
    await tools.exec(['ipset', 'restore', '-exist'], 'create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536\nadd KUBE-CLUSTER-IP 10.96.9.9,tcp:80\n');
    const { cluster, sync } = setup({ excludeCIDRs: ['10.96.8.0/24'] }, tools);
    expect((await sync()).kind).toBe('full');
    const dump = tools.dump();
    expect(dump).not.toMatch(/10\.96\.9\.9/);
    expect(dump).not.toMatch(/10\.244\.2\.99/);
    expect(dump).toMatch(/^-A -t 10\.96\.8\.8:80 -s rr$/m);
    expect(dump).toMatch(/^-A -t 192\.168\.7\.1:443 -s wlc$/m);
    const without = (s: string): string => s.split('\n').filter((l) => !/10\.96\.8\.8|192\.168\.7\.1/.test(l)).join('\n');
    expect(without(dump)).toBe(await rendered(cluster));
  });

  test('a failed tool run: the sync throws the parsed error, the next sync lists the kernel (full) and repairs', async () => {
    const { cluster, tools, sync } = setup();
    await sync();
    cluster.setSlices('ns/a', [slice('a', ['10.244.2.10'])]);
    tools.failNext('ipvsadm', 'Memory allocation problem');
    await expect(sync()).rejects.toBeInstanceOf(IpvsToolError);
    const n = tools.count('ipvsadm -S -n');
    const r = await sync();
    expect(r.kind).toBe('full');
    expect(tools.count('ipvsadm -S -n')).toBe(n + 1);
    expect(tools.dump()).toBe(await rendered(cluster));
  });

  test('invalidate() and request.full: the next sync is full; with nothing to change it writes only the glue', async () => {
    const { tools, proxier, sync, cluster } = setup();
    await sync();
    proxier.invalidate();
    const r = await sync();
    expect(r.kind).toBe('full');
    expect(tools.dump()).toBe(await rendered(cluster));
    const writes = tools.count('ipvsadm -R') + tools.count('ipset restore') + tools.count('ip -batch');
    const glue = tools.count('iptables-restore');
    const r2 = await sync(true);
    expect(r2.kind).toBe('full');
    expect(tools.count('ipvsadm -R') + tools.count('ipset restore') + tools.count('ip -batch')).toBe(writes);
    expect(tools.count('iptables-restore')).toBe(glue + 1);
  });

  test('options: scheduler, strict ARP and IPVS timeouts', async () => {
    const { tools, sync } = setup({ scheduler: 'mh', strictARP: true, timeouts: { tcp: 900, tcpfin: 30, udp: 0 } });
    await sync();
    expect(tools.sysctls.get('net.ipv4.conf.all.arp_ignore')).toBe('1');
    expect(tools.sysctls.get('net.ipv4.conf.all.arp_announce')).toBe('2');
    expect(tools.count('ipvsadm --set 900 30 0')).toBe(1);
    expect(tools.timeouts).toEqual([900, 30, 300]);
    expect(tools.dump()).toMatch(/^-A -t 10\.96\.0\.1:80 -s mh -b mh-port$/m);
  });
});
