/**
 * The model accepts what the API server accepts and costs a bad value the least it can
 * (issue 9, item 1), and serves NodePorts fail-closed (item 2). Each case names the
 * upstream rule it follows; see the comments in src/model/{service,endpointslice,node,nodeports}.ts.
 */
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { buildProxyState } from '../../src/model/build.js';
import { defaultNodePortAddresses } from '../../src/model/nodeports.js';
import type { BuildResult, ProxyOptions } from '../../src/model/types.js';
import { node, slice, svc } from './fixtures.js';

const NODE = node('node-a', ['10.100.0.10', 'fd00:100::10'], 'zone-a');
const ips = (eps: readonly { ip: string; port: number }[]): string[] => eps.map((e) => `${e.ip}:${e.port}`);

/** `n`: the Node; null for none. */
function build(services: V1Service[], slices: V1EndpointSlice[], opts: Partial<ProxyOptions> = {}, n: V1Node | null = NODE): BuildResult {
  return buildProxyState({ services, endpointSlices: slices, ...(n ? { node: n } : {}) }, { nodeName: 'node-a', ...opts });
}
const basic = (extra: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): V1Service =>
  svc('ns1', 'svc1', { clusterIP: '10.96.0.1', ports: [{ name: 'p80', port: 80 }], ...extra }, meta);
const skipped = (r: BuildResult): string[] => r.problems.filter((p) => p.effect === 'skipped').map((p) => `${p.object} ${p.path}`);

describe('zones and hints: validated as the API server does', () => {
  it('keeps endpoints whose zone is not a DNS name (the API server does not validate endpoints[].zone)', () => {
    const r = build([basic()], [slice('ns1', 's1', 'svc1', [{ name: 'p80', port: 8080 }], [{ ip: '10.244.1.2', zone: 'Zone_A' }, { ip: '10.244.1.3', zone: 'EU-West-1A' }])]);
    expect(skipped(r)).toEqual([]);
    expect(ips(r.state.ipv4.services[0]!.clusterEndpoints)).toEqual(['10.244.1.2:8080', '10.244.1.3:8080']);
  });

  it('uses hints.forZones names that are label values (EU-West-1A, Zone_A)', () => {
    const n = node('node-a', ['10.100.0.10'], 'EU-West-1A');
    const r = build([basic()], [slice('ns1', 's1', 'svc1', [{ name: 'p80', port: 8080 }], [
      { ip: '10.244.1.2', zoneHints: ['EU-West-1A'] }, { ip: '10.244.1.3', zoneHints: ['Zone_A'] },
    ])], {}, n);
    expect(r.problems).toEqual([]);
    expect(ips(r.state.ipv4.services[0]!.clusterEndpoints)).toEqual(['10.244.1.2:8080']);
  });

  it('ignores just a hint that is not a label value', () => {
    const r = build([basic()], [slice('ns1', 's1', 'svc1', [{ name: 'p80', port: 8080 }], [{ ip: '10.244.1.2', zoneHints: ['bad zone!'] }, { ip: '10.244.1.3' }])]);
    expect(r.problems.map((p) => [p.effect, p.path])).toEqual([['ignored', 'endpoints[0].hints.forZones[0].name']]);
    expect(ips(r.state.ipv4.services[0]!.clusterEndpoints)).toEqual(['10.244.1.2:8080', '10.244.1.3:8080']);
  });
});

describe('a bad endpoint costs that endpoint, not its slice', () => {
  it.each([
    ['an address of the other family', { ip: 'fd00::5' }],
    ['an address that does not parse', { ip: '10.244.1.300' }],
    ['a loopback address (ValidateEndpointIP)', { ip: '127.0.0.1' }],
    ['a node name that is not a DNS subdomain', { ip: '10.244.1.9', node: 'Node_A' }],
  ])('%s', (_name, bad) => {
    const r = build([basic()], [slice('ns1', 's1', 'svc1', [{ name: 'p80', port: 8080 }], [{ ip: '10.244.1.2' }, bad, { ip: '10.244.1.3' }])]);
    expect(skipped(r)).toEqual([]);
    expect(r.problems.map((p) => p.effect)).toEqual(['ignored']);
    expect(r.problems[0]!.path).toMatch(/^endpoints\[1\]\./);
    expect(ips(r.state.ipv4.services[0]!.clusterEndpoints)).toEqual(['10.244.1.2:8080', '10.244.1.3:8080']);
  });

  it('a bad slice port costs that port', () => {
    const r = build([svc('ns1', 'svc1', { clusterIP: '10.96.0.1', ports: [{ name: 'a', port: 80 }, { name: 'b', port: 81 }] })],
      [slice('ns1', 's1', 'svc1', [{ name: 'a', port: 8080 }, { name: 'b', port: 8081, protocol: 'ICMP' }], [{ ip: '10.244.1.2' }])]);
    expect(r.problems.map((p) => [p.effect, p.path])).toEqual([['ignored', 'ports[1].protocol']]);
    expect(r.state.ipv4.services.map((sp) => [sp.key, ips(sp.clusterEndpoints)])).toEqual([['ns1/svc1:a', ['10.244.1.2:8080']], ['ns1/svc1:b', []]]);
  });
});

describe('IPs and CIDRs parsed as kube-proxy parses them (netutils ParseIPSloppy / ParseCIDRSloppy)', () => {
  it('reads legacy leading-zero octets as decimal instead of skipping the Service', () => {
    const r = build([basic({
      type: 'LoadBalancer', clusterIP: '010.096.000.001', externalIPs: ['010.250.0.1'],
      loadBalancerSourceRanges: [' 010.000.0.0/08 ', '192.168.001.0/24'], ports: [{ name: 'p80', port: 80, nodePort: 30080 }],
    }, { status: { loadBalancer: { ingress: [{ ip: '203.0.113.010' }] } } })], []);
    expect(r.problems).toEqual([]);
    expect(r.state.ipv4.services[0]).toMatchObject({
      clusterIP: '10.96.0.1', externalIPs: ['10.250.0.1'], loadBalancerIPs: ['203.0.113.10'],
      loadBalancerSourceRanges: ['10.0.0.0/8', '192.168.1.0/24'],
    });
  });

  it('leaves out a bad or special external IP and keeps the Service', () => {
    const r = build([basic({ externalIPs: ['10.250.0.1', 'nonsense', '127.0.0.1', '0.0.0.0'] })], []);
    expect(r.problems.map((p) => [p.effect, p.path])).toEqual([['ignored', 'spec.externalIPs[1]'], ['ignored', 'spec.externalIPs[2]'], ['ignored', 'spec.externalIPs[3]']]);
    expect(r.state.ipv4.services[0]!.externalIPs).toEqual(['10.250.0.1']);
  });

  it('a bad cluster IP of one family costs that family', () => {
    const r = build([basic({ clusterIPs: ['10.96.0.1', 'fd00::zz'], ipFamilies: ['IPv4', 'IPv6'] })], []);
    expect(r.problems.map((p) => [p.effect, p.path])).toEqual([['ignored', 'spec.clusterIPs[1]']]);
    expect(r.state.ipv4.services).toHaveLength(1);
    expect(r.state.ipv6.services).toHaveLength(0);
  });

  it('a bad Service port costs that port', () => {
    const r = build([svc('ns1', 'svc1', { clusterIP: '10.96.0.1', ports: [{ name: 'a', port: 80 }, { name: 'b', port: 0 }] })], []);
    expect(r.problems.map((p) => [p.effect, p.path])).toEqual([['ignored', 'spec.ports[1].port']]);
    expect(r.state.ipv4.services.map((sp) => sp.key)).toEqual(['ns1/svc1:a']);
  });
});

describe('status.loadBalancer.ingress as upstream service info reads it', () => {
  const ingress = (list: unknown[]): Record<string, unknown> => ({ status: { loadBalancer: { ingress: list } } });
  it.each(['ClusterIP', 'NodePort', 'LoadBalancer'])('is honoured for type %s', (type) => {
    const r = build([basic({ type, ports: [{ name: 'p80', port: 80, ...(type === 'ClusterIP' ? {} : { nodePort: 30080 }) }] }, ingress([{ ip: '203.0.113.7' }]))], []);
    expect(r.state.ipv4.services[0]!.loadBalancerIPs).toEqual(['203.0.113.7']);
  });
  it('counts only an unset ipMode or VIP as a VIP', () => {
    const r = build([basic({ type: 'LoadBalancer', ports: [{ name: 'p80', port: 80, nodePort: 30080 }] }, ingress([
      { ip: '203.0.113.1' }, { ip: '203.0.113.2', ipMode: 'VIP' }, { ip: '203.0.113.3', ipMode: 'Proxy' }, { ip: '203.0.113.4', ipMode: 'Other' }, { hostname: 'lb.example.com' },
    ]))], []);
    expect(r.state.ipv4.services[0]!.loadBalancerIPs).toEqual(['203.0.113.1', '203.0.113.2']);
  });
});

describe('other proxies\' slices', () => {
  it('a slice labelled service-proxy-name is not proxied, not an orphan', () => {
    const other = basic({}, { metadata: { labels: { 'service.kubernetes.io/service-proxy-name': 'x' } } });
    const s = slice('ns1', 's1', 'svc1', [{ name: 'p80', port: 8080 }], [{ ip: '10.244.1.2' }]);
    const labelled = { ...s, metadata: { ...s.metadata, labels: { ...s.metadata!.labels, 'service.kubernetes.io/service-proxy-name': 'x' } } };
    // Without its Service (the informer filtered it out), as the live watch delivers it.
    const r = build([], [labelled]);
    expect(r.problems.map((p) => [p.kind, p.effect])).toEqual([['EndpointSlice', 'not-proxied']]);
    expect(build([other], [labelled]).problems.every((p) => p.effect === 'not-proxied')).toBe(true);
  });
});

describe('the firewall admits the LB IP only when a source range holds the node IP kube-proxy uses', () => {
  const lb = (ranges: string[], n: V1Node | null): string[] => build([basic({
    type: 'LoadBalancer', loadBalancerSourceRanges: ranges, ports: [{ name: 'p80', port: 80, nodePort: 30080 }],
  }, { status: { loadBalancer: { ingress: [{ ip: '203.0.113.7' }] } } })], [], {}, n).state.ipv4.services[0]!.firewallExtraSources as string[];
  const twoIPs = node('node-a', ['10.100.0.10', '192.168.7.7']);
  it('the primary (first) node IP counts', () => {
    expect(lb(['10.100.0.0/24'], twoIPs)).toEqual(['203.0.113.7/32']);
  });
  it('a secondary node address does not', () => {
    expect(lb(['192.168.7.0/24'], twoIPs)).toEqual([]);
  });
  it('without a node IP, loopback (as kube-proxy assumes) counts', () => {
    expect(lb(['127.0.0.0/8'], null)).toEqual(['203.0.113.7/32']);
    expect(lb(['10.100.0.0/24'], null)).toEqual([]);
  });
});

describe('NodePorts: --nodeport-addresses, fail closed', () => {
  const LOCAL = ['127.0.0.1', '10.100.0.10', '192.168.5.5', '::1', 'fd00:100::10', 'fe80::1'];
  const plan = (nodePortAddresses: string[] | undefined, localAddresses?: string[], n: V1Node | null = NODE) => {
    const r = build([], [], {
      ...(nodePortAddresses ? { nodePortAddresses } : {}), ...(localAddresses ? { localAddresses } : {}),
    }, n);
    return { v4: r.state.ipv4.nodePortAddresses, v6: r.state.ipv6.nodePortAddresses, ips4: r.state.ipv4.nodePortIPs, problems: r.problems };
  };

  it('defaults per proxy mode as upstream', () => {
    expect(defaultNodePortAddresses('nftables')).toEqual(['primary']);
    expect(defaultNodePortAddresses('iptables')).toEqual(['all']);
    expect(defaultNodePortAddresses('ipvs')).toEqual(['all']);
  });

  it('primary: the primary node IP of each family, if it is a local address', () => {
    expect(plan(['primary'], LOCAL)).toMatchObject({ v4: ['10.100.0.10/32'], v6: ['fd00:100::10/128'] });
    expect(plan(['primary'], ['127.0.0.1', '192.168.5.5'])).toMatchObject({ v4: [], v6: [] });
  });

  it('CIDRs: the local addresses inside them; a family without a CIDR accepts every local address', () => {
    expect(plan(['192.168.0.0/16'], LOCAL)).toMatchObject({ v4: ['192.168.5.5/32'], ips4: ['192.168.5.5'], v6: ['::/0'] });
  });

  it('all: every local address', () => {
    expect(plan(['all'], LOCAL)).toMatchObject({ v4: ['0.0.0.0/0'], ips4: ['127.0.0.1', '10.100.0.10', '192.168.5.5'], v6: ['::/0'] });
  });

  it('no Node object: loopback only, never 0.0.0.0/0 or ::/0, with a warning naming the Node', () => {
    for (const local of [undefined, LOCAL]) {
      const p = plan(['primary'], local, null);
      expect([p.v4, p.v6]).toEqual([['127.0.0.1/32'], ['::1/128']]);
      expect(p.problems).toEqual([expect.objectContaining({ effect: 'warning', object: 'node-a', message: expect.stringContaining('no Node object named "node-a"') })]);
    }
  });

  it('a Node without addresses: loopback only, and the warning says so', () => {
    const p = plan(undefined, undefined, node('node-a', []));
    expect([p.v4, p.v6]).toEqual([['127.0.0.1/32'], ['::1/128']]);
    expect(p.problems.map((x) => x.message)).toEqual([expect.stringContaining('Node "node-a" has no InternalIP or ExternalIP address')]);
  });

  it('rejects a value that is neither a CIDR nor a keyword', () => {
    expect(() => plan(['primry'])).toThrow(/--nodeport-addresses/);
  });
});

describe('traffic policies and affinity: what kube-proxy does with values it does not know', () => {
  it('treats an unknown externalTrafficPolicy as Cluster, reported', () => {
    const r = build([basic({ type: 'NodePort', externalTrafficPolicy: 'local', ports: [{ name: 'p80', port: 80, nodePort: 30080 }] })], []);
    expect(r.problems.map((p) => [p.effect, p.path])).toEqual([['ignored', 'spec.externalTrafficPolicy']]);
    expect(r.state.ipv4.services[0]!.externalPolicyLocal).toBe(false);
  });
});
