/**
 * The pure UDP conntrack cleanup (src/sync/conntrack-cleanup.ts): which flows are stale,
 * upstream's rules (pkg/proxy/conntrack/cleanup.go CleanStaleEntries, #139629, #141371)
 * case by case, in both families, and the incremental index equal to a rebuild.
 */
import { UdpFrontendIndex, type UdpFlow } from '../../src/sync/conntrack-cleanup.js';
import { flow, modelOf, NODE_IP, udpService, udpSlice } from './conntrack-fixtures.js';

const C4 = '10.244.1.100';
const C6 = 'fd00:10:244:1::100';

function indexOf(...args: Parameters<typeof modelOf>): UdpFrontendIndex {
  const idx = new UdpFrontendIndex();
  idx.update(modelOf(...args), 'all');
  return idx;
}

/** The stale flows as `dst:dport<-reply:rport` strings, sorted. */
function stale(idx: UdpFrontendIndex, flows: readonly UdpFlow[]): string[] {
  return idx.stale(flows).map((g) => `${g.origDst}:${g.origDport}<-${g.replySrc}:${g.replySport}`).sort();
}

describe('UDP conntrack cleanup: ClusterIP', () => {
  const svc = udpService('dns', { clusterIPs: ['10.96.0.10', 'fd00:10:96::a'] });
  const slices = [udpSlice('dns', 'ipv4', ['10.244.2.2', '10.244.2.3!', '10.244.2.4~']), udpSlice('dns', 'ipv6', ['fd00:10:244:2::2'])];
  const idx = indexOf([svc], slices);

  test.each([
    ['a flow DNATed to a serving endpoint stays', flow(C4, 4000, '10.96.0.10', 53, '10.244.2.2', 5353), []],
    ['a serving terminating endpoint is still serving: stays', flow(C4, 4000, '10.96.0.10', 53, '10.244.2.4', 5353), []],
    ['a removed endpoint: stale', flow(C4, 4000, '10.96.0.10', 53, '10.244.2.9', 5353), ['10.96.0.10:53<-10.244.2.9:5353']],
    ['a not-serving endpoint: stale', flow(C4, 4000, '10.96.0.10', 53, '10.244.2.3', 5353), ['10.96.0.10:53<-10.244.2.3:5353']],
    ['the right IP on a port it no longer serves: stale', flow(C4, 4000, '10.96.0.10', 53, '10.244.2.2', 53), ['10.96.0.10:53<-10.244.2.2:53']],
    ['never DNATed (reply from the ClusterIP itself): stale', flow(C4, 4000, '10.96.0.10', 53, '10.96.0.10', 53), ['10.96.0.10:53<-10.96.0.10:53']],
    ['another port of the ClusterIP is no frontend: stays', flow(C4, 4000, '10.96.0.10', 54, '10.244.2.9', 5353), []],
    ['another address: stays', flow(C4, 4000, '10.96.0.11', 53, '10.244.2.9', 5353), []],
    ['IPv6 serving endpoint stays', flow(C6, 4000, 'fd00:10:96::a', 53, 'fd00:10:244:2::2', 5353), []],
    ['IPv6 removed endpoint: stale', flow(C6, 4000, 'fd00:10:96::a', 53, 'fd00:10:244:2::9', 5353), ['fd00:10:96::a:53<-fd00:10:244:2::9:5353']],
    ['IPv6 written long-hand is the same address', flow(C6, 4000, 'fd00:10:96:0:0:0:0:a', 53, 'fd00:10:244:2:0::2', 5353), []],
    ['an IPv4 endpoint answering an IPv6 frontend does not count', flow(C6, 4000, 'fd00:10:96::a', 53, '10.244.2.2', 5353), ['fd00:10:96::a:53<-10.244.2.2:5353']],
  ])('%s', (_name, f, want) => {
    expect(stale(idx, [f])).toEqual(want);
  });

  test('flows of many clients to one stale endpoint are one deletion', () => {
    const groups = idx.stale([
      flow(C4, 4000, '10.96.0.10', 53, '10.244.2.9', 5353),
      flow('10.244.1.101', 4001, '10.96.0.10', 53, '10.244.2.9', 5353),
      flow(C4, 4002, '10.96.0.10', 53, '10.244.2.2', 5353),
    ]);
    expect(groups).toEqual([{ family: 'ipv4', origDst: '10.96.0.10', origDport: 53, replySrc: '10.244.2.9', replySport: 5353, flows: 2, frontend: '10.96.0.10:53' }]);
  });
});

describe('UDP conntrack cleanup: external frontends and NodePorts', () => {
  const svc = udpService('lb', { clusterIPs: ['10.96.0.20', 'fd00:10:96::14'], nodePort: 30053, externalIPs: ['10.250.0.5', 'fd00:10:250::5'], lbIPs: ['10.250.0.9', 'fd00:10:250::9'] });
  const slices = [udpSlice('lb', 'ipv4', ['10.244.2.2']), udpSlice('lb', 'ipv6', ['fd00:10:244:2::2'])];
  const idx = indexOf([svc], slices);
  const EXT = '10.200.0.2';

  test.each([
    ['externalIP, serving', flow(EXT, 4000, '10.250.0.5', 53, '10.244.2.2', 5353), []],
    ['externalIP, removed endpoint', flow(EXT, 4000, '10.250.0.5', 53, '10.244.2.7', 5353), ['10.250.0.5:53<-10.244.2.7:5353']],
    ['LoadBalancer IP, removed endpoint', flow(EXT, 4000, '10.250.0.9', 53, '10.244.2.7', 5353), ['10.250.0.9:53<-10.244.2.7:5353']],
    ['IPv6 LoadBalancer IP, removed endpoint', flow('fd00:10:200::2', 4000, 'fd00:10:250::9', 53, 'fd00:10:244:2::7', 5353), ['fd00:10:250::9:53<-fd00:10:244:2::7:5353']],
    ['NodePort on the node IP, serving', flow(EXT, 4000, NODE_IP.ipv4, 30053, '10.244.2.2', 5353), []],
    ['NodePort on the node IP, removed endpoint', flow(EXT, 4000, NODE_IP.ipv4, 30053, '10.244.2.7', 5353), ['10.100.0.10:30053<-10.244.2.7:5353']],
    ['NodePort on the IPv6 node IP, removed endpoint', flow('fd00:10:200::2', 4000, NODE_IP.ipv6, 30053, 'fd00:10:244:2::7', 5353), ['fd00:10:100::10:30053<-fd00:10:244:2::7:5353']],
    ['NodePort not DNATed (rules came later): stale', flow(EXT, 4000, NODE_IP.ipv4, 30053, NODE_IP.ipv4, 30053), ['10.100.0.10:30053<-10.100.0.10:30053']],
    ['port 30053 of an outside host is no NodePort: stays', flow(C4, 4000, '192.0.2.1', 30053, '192.0.2.1', 30053), []],
    ['port 30053 on loopback, not a NodePort address here (primary): stays', flow('127.0.0.1', 4000, '127.0.0.1', 30053, '127.0.0.1', 30053), []],
  ])('%s', (_name, f, want) => {
    expect(stale(idx, [f])).toEqual(want);
  });

  test('NodePort addresses follow the model (all local addresses)', () => {
    const all = new UdpFrontendIndex();
    const m = modelOf([svc], slices, [NODE_IP.ipv4, '10.200.0.1', '127.0.0.1']);
    // 'primary' still: only the node IP; a model with other nodePortIPs is honoured as it says.
    all.update({ ...m, family: (f) => ({ ...m.family(f), nodePortIPs: f === 'ipv4' ? ['10.200.0.1'] : [] }) }, 'all');
    expect(stale(all, [flow(EXT, 4000, '10.200.0.1', 30053, '10.244.2.7', 5353)])).toEqual(['10.200.0.1:30053<-10.244.2.7:5353']);
    expect(stale(all, [flow(EXT, 4000, NODE_IP.ipv4, 30053, '10.244.2.7', 5353)])).toEqual([]);
  });
});

describe('UDP conntrack cleanup: no endpoints, deleted Services, TCP', () => {
  const svc = udpService('dns', { clusterIPs: ['10.96.0.10', 'fd00:10:96::a'] });
  const flows = [
    flow(C4, 4000, '10.96.0.10', 53, '10.244.2.2', 5353), // DNATed to the old endpoint
    flow(C4, 4001, '10.96.0.10', 53, '10.96.0.10', 53), // never DNATed
    flow(C6, 4000, 'fd00:10:96::a', 53, 'fd00:10:244:2::2', 5353),
  ];

  test('scaled to zero (#139628): every flow to the frontend is stale', () => {
    const idx = indexOf([svc], [udpSlice('dns', 'ipv4', []), udpSlice('dns', 'ipv6', ['fd00:10:244:2::2!'])]);
    expect(stale(idx, flows)).toEqual(['10.96.0.10:53<-10.244.2.2:5353', '10.96.0.10:53<-10.96.0.10:53', 'fd00:10:96::a:53<-fd00:10:244:2::2:5353']);
  });

  test('a TCP Service has no UDP frontend: its UDP-looking flows stay', () => {
    const idx = indexOf([udpService('dns', { clusterIPs: ['10.96.0.10'], protocol: 'TCP' })], [udpSlice('dns', 'ipv4', [], 'TCP')]);
    expect(stale(idx, flows)).toEqual([]);
    expect(idx.wants('ipv4')).toBe(false);
    expect(idx.wants('ipv6')).toBe(false);
  });

  test('a deleted Service (#141371): its frontends are cleaned until one run succeeds', () => {
    const idx = indexOf([svc], [udpSlice('dns', 'ipv4', ['10.244.2.2'])]);
    expect(stale(idx, flows)).toEqual(['10.96.0.10:53<-10.96.0.10:53', 'fd00:10:96::a:53<-fd00:10:244:2::2:5353']);
    const up = idx.update(modelOf([], []), new Set(['ns/dns']));
    expect(up.changed).toBe(true);
    expect(idx.size).toBe(0);
    expect(idx.wants('ipv4')).toBe(true);
    expect(stale(idx, flows)).toHaveLength(3);
    idx.cleaned('ipv4');
    expect(idx.wants('ipv4')).toBe(false);
    expect(stale(idx, flows)).toEqual(['fd00:10:96::a:53<-fd00:10:244:2::2:5353']);
    expect(idx.wants('ipv6')).toBe(true);
    idx.cleaned('ipv6');
    expect(stale(idx, flows)).toEqual([]);
  });

  test('a frontend that comes back is no longer "gone"', () => {
    const idx = indexOf([svc], [udpSlice('dns', 'ipv4', ['10.244.2.2'])]);
    idx.update(modelOf([], []), new Set(['ns/dns']));
    idx.update(modelOf([svc], [udpSlice('dns', 'ipv4', ['10.244.2.2'])]), new Set(['ns/dns']));
    expect(stale(idx, flows)).toEqual(['10.96.0.10:53<-10.96.0.10:53', 'fd00:10:96::a:53<-fd00:10:244:2::2:5353']);
  });

  test('changes to a non-UDP Service do not call for a run', () => {
    const tcp = udpService('web', { clusterIPs: ['10.96.0.80'], protocol: 'TCP', port: 80 });
    const idx = indexOf([svc, tcp], [udpSlice('dns', 'ipv4', ['10.244.2.2'])]);
    expect(idx.update(modelOf([svc, tcp], [udpSlice('dns', 'ipv4', ['10.244.2.2'])]), new Set(['ns/web'])).changed).toBe(false);
    expect(idx.update(modelOf([svc, tcp], [udpSlice('dns', 'ipv4', ['10.244.2.3'])]), new Set(['ns/dns'])).changed).toBe(true);
  });
});

describe('UDP conntrack cleanup: the incremental index equals a rebuild', () => {
  test('a sequence of scale, re-address, delete and re-create steps', () => {
    const a = (eps: string[]): ReturnType<typeof udpSlice> => udpSlice('a', 'ipv4', eps);
    const svcA = udpService('a', { clusterIPs: ['10.96.0.1'], nodePort: 30001 });
    const svcA2 = udpService('a', { clusterIPs: ['10.96.0.1'], nodePort: 30002, externalIPs: ['10.250.0.1'] });
    const svcB = udpService('b', { clusterIPs: ['10.96.0.2', 'fd00:10:96::2'] });
    const b = udpSlice('b', 'ipv6', ['fd00:10:244:2::5']);
    const steps: { services: ReturnType<typeof udpService>[]; slices: ReturnType<typeof udpSlice>[]; affected: string[] }[] = [
      { services: [svcA, svcB], slices: [a(['10.244.2.2', '10.244.2.3']), b], affected: ['ns/a', 'ns/b'] },
      { services: [svcA, svcB], slices: [a(['10.244.2.3']), b], affected: ['ns/a'] },
      { services: [svcA, svcB], slices: [a([]), b], affected: ['ns/a'] },
      { services: [svcA2, svcB], slices: [a(['10.244.2.4']), b], affected: ['ns/a'] },
      { services: [svcA2], slices: [a(['10.244.2.4'])], affected: ['ns/b'] },
      { services: [svcA2, svcB], slices: [a(['10.244.2.4']), udpSlice('b', 'ipv6', ['fd00:10:244:2::6'])], affected: ['ns/b'] },
    ];
    const probes: UdpFlow[] = [];
    for (const dst of ['10.96.0.1', '10.96.0.2', '10.250.0.1', NODE_IP.ipv4]) {
      for (const port of [53, 30001, 30002]) {
        for (const reply of ['10.244.2.2', '10.244.2.3', '10.244.2.4', dst]) probes.push(flow(C4, 4000, dst, port, reply, reply === dst ? port : 5353));
      }
    }
    for (const reply of ['fd00:10:244:2::5', 'fd00:10:244:2::6']) probes.push(flow(C6, 4000, 'fd00:10:96::2', 53, reply, 5353));
    const inc = new UdpFrontendIndex();
    for (const step of steps) {
      const m = modelOf(step.services, step.slices);
      inc.update(m, new Set(step.affected));
      const fresh = new UdpFrontendIndex();
      fresh.update(m, 'all');
      // Frontends that went away are also cleaned by the incremental index: compare the rest.
      const live = (i: UdpFrontendIndex): string[] => stale(i, probes);
      const fresh1 = live(fresh);
      expect(live(inc)).toEqual(expect.arrayContaining(fresh1));
      inc.cleaned('ipv4');
      inc.cleaned('ipv6');
      expect(live(inc)).toEqual(fresh1);
    }
  });
});
