import { buildProxyState } from '../../src/model/build.js';
import type { ServicePort } from '../../src/model/types.js';
import { node, slice, svc, type EpSpec } from './fixtures.js';

const NODE = node('node-a', ['10.100.0.10', 'fd00:100::10'], 'zone-a');
const ips = (eps: readonly { ip: string; port: number }[]): string[] => eps.map((e) => `${e.ip}:${e.port}`);

function one(spec: Record<string, unknown>, eps: EpSpec[], extra: Record<string, unknown> = {}): ServicePort {
  const { state, problems } = buildProxyState(
    { services: [svc('ns1', 'svc1', { clusterIP: '10.96.0.1', ports: [{ name: 'p80', port: 80, targetPort: 8080 }], ...spec }, extra)], endpointSlices: [slice('ns1', 'svc1-a', 'svc1', [{ name: 'p80', port: 8080 }], eps)], node: NODE },
    { nodeName: 'node-a', clusterCIDRs: ['10.244.0.0/16'] },
  );
  expect(problems.filter((p) => p.effect !== 'not-proxied')).toEqual([]);
  expect(state.ipv4.services).toHaveLength(1);
  return state.ipv4.services[0]!;
}

describe('buildProxyState: endpoint selection', () => {
  it('uses ready endpoints, resolved through the slice port, and keys the port like kube-proxy', () => {
    const sp = one({}, [{ ip: '10.244.1.2', node: 'node-a' }, { ip: '10.244.2.2', node: 'node-b' }, { ip: '10.244.1.3', ready: false, serving: false }]);
    expect(sp.key).toBe('ns1/svc1:p80');
    expect(ips(sp.internalEndpoints)).toEqual(['10.244.1.2:8080', '10.244.2.2:8080']);
    expect(sp.internalNoEndpoints).toBeUndefined();
  });

  it('falls back to serving+terminating endpoints only when none is ready', () => {
    const sp = one({}, [
      { ip: '10.244.1.2', ready: false, serving: true, terminating: true },
      { ip: '10.244.1.3', ready: false, serving: false, terminating: true },
    ]);
    expect(ips(sp.clusterEndpoints)).toEqual(['10.244.1.2:8080']);
    const withReady = one({}, [{ ip: '10.244.1.2', ready: false, serving: true, terminating: true }, { ip: '10.244.1.4' }]);
    expect(ips(withReady.clusterEndpoints)).toEqual(['10.244.1.4:8080']);
  });

  it('rejects when there is no usable endpoint at all', () => {
    const sp = one({ type: 'NodePort', ports: [{ name: 'p80', port: 80, nodePort: 30080 }] }, [{ ip: '10.244.1.3', ready: false, serving: false }]);
    expect(sp.internalNoEndpoints).toBe('reject');
    expect(sp.externalNoEndpoints).toBe('reject');
    expect(sp.hasEndpoints).toBe(false);
  });

  it('externalTrafficPolicy Local: external traffic to local endpoints only, drop when none is local', () => {
    const spec = { type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ name: 'p80', port: 80, nodePort: 30080 }] };
    const sp = one(spec, [{ ip: '10.244.1.2', node: 'node-a' }, { ip: '10.244.2.2', node: 'node-b' }]);
    expect(sp.externalPolicyLocal).toBe(true);
    expect(ips(sp.externalEndpoints)).toEqual(['10.244.1.2:8080']);
    expect(ips(sp.internalEndpoints)).toEqual(['10.244.1.2:8080', '10.244.2.2:8080']);
    const none = one(spec, [{ ip: '10.244.2.2', node: 'node-b' }]);
    expect(none.externalNoEndpoints).toBe('drop');
    expect(none.internalNoEndpoints).toBeUndefined();
    expect(ips(none.clusterEndpoints)).toEqual(['10.244.2.2:8080']);
  });

  it('Local policy uses local serving+terminating endpoints when no local one is ready', () => {
    const sp = one({ internalTrafficPolicy: 'Local' }, [
      { ip: '10.244.1.2', node: 'node-a', ready: false, serving: true, terminating: true },
      { ip: '10.244.2.2', node: 'node-b' },
    ]);
    expect(ips(sp.internalEndpoints)).toEqual(['10.244.1.2:8080']);
  });

  it('internalTrafficPolicy Local without local endpoints drops', () => {
    const sp = one({ internalTrafficPolicy: 'Local' }, [{ ip: '10.244.2.2', node: 'node-b' }]);
    expect(sp.internalEndpoints).toEqual([]);
    expect(sp.internalNoEndpoints).toBe('drop');
  });

  it('applies zone hints only when every ready endpoint has one', () => {
    const hinted = one({}, [
      { ip: '10.244.1.2', zoneHints: ['zone-a'] },
      { ip: '10.244.2.2', zoneHints: ['zone-b'] },
    ]);
    expect(ips(hinted.clusterEndpoints)).toEqual(['10.244.1.2:8080']);
    const partial = one({}, [{ ip: '10.244.1.2', zoneHints: ['zone-a'] }, { ip: '10.244.2.2' }]);
    expect(ips(partial.clusterEndpoints)).toHaveLength(2);
    const otherZone = one({}, [{ ip: '10.244.1.2', zoneHints: ['zone-c'] }, { ip: '10.244.2.2', zoneHints: ['zone-b'] }]);
    expect(ips(otherZone.clusterEndpoints)).toHaveLength(2);
  });

  it('prefers node hints naming this node (PreferSameNode)', () => {
    const sp = one({}, [
      { ip: '10.244.1.2', nodeHints: ['node-a'], zoneHints: ['zone-a'] },
      { ip: '10.244.1.3', nodeHints: ['node-c'], zoneHints: ['zone-a'] },
    ]);
    expect(ips(sp.clusterEndpoints)).toEqual(['10.244.1.2:8080']);
  });
});

describe('buildProxyState: frontends', () => {
  it('collects LB ingress IPs (not ipMode Proxy), source ranges with white space, and the node admit rule', () => {
    const sp = one(
      { type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: 32000, loadBalancerSourceRanges: [' 10.0.0.0/8 ', '192.0.2.0/24'], ports: [{ name: 'p80', port: 80, nodePort: 30080 }] },
      [{ ip: '10.244.1.2', node: 'node-a' }],
      { status: { loadBalancer: { ingress: [{ ip: '10.250.0.1' }, { ip: '10.250.0.2', ipMode: 'Proxy' }, { hostname: 'lb.example.com' }] } } },
    );
    expect(sp.loadBalancerIPs).toEqual(['10.250.0.1']);
    expect(sp.loadBalancerSourceRanges).toEqual(['10.0.0.0/8', '192.0.2.0/24']);
    expect(sp.firewallExtraSources).toEqual(['10.250.0.1/32']);
    expect(sp.healthCheckNodePort).toBe(32000);
    expect(sp.nodePort).toBe(30080);
  });

  it('defaults ClientIP affinity to 10800 s', () => {
    expect(one({ sessionAffinity: 'ClientIP' }, [{ ip: '10.244.1.2' }]).affinityTimeoutSeconds).toBe(10800);
    expect(one({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } }, [{ ip: '10.244.1.2' }]).affinityTimeoutSeconds).toBe(60);
    expect(one({}, [{ ip: '10.244.1.2' }]).affinityTimeoutSeconds).toBeUndefined();
  });

  it('ignores nodePort on a ClusterIP Service', () => {
    expect(one({ ports: [{ name: 'p80', port: 80, nodePort: 30080 }] }, [{ ip: '10.244.1.2' }]).nodePort).toBeUndefined();
  });

  it('splits a dual-stack Service by family', () => {
    const { state } = buildProxyState({
      services: [svc('ns1', 'ds', { clusterIPs: ['10.96.0.5', 'fd00:96::5'], externalIPs: ['10.250.0.9', 'fd00:250::9'], ports: [{ port: 80 }] })],
      endpointSlices: [
        slice('ns1', 'ds-v4', 'ds', [{ port: 8080 }], [{ ip: '10.244.1.2' }]),
        slice('ns1', 'ds-v6', 'ds', [{ port: 8080 }], [{ ip: 'fd00:244:1::2' }], 'IPv6'),
      ],
      node: NODE,
    }, { nodeName: 'node-a' });
    expect(state.ipv4.services[0]).toMatchObject({ key: 'ns1/ds:', clusterIP: '10.96.0.5', externalIPs: ['10.250.0.9'] });
    expect(ips(state.ipv4.services[0]!.internalEndpoints)).toEqual(['10.244.1.2:8080']);
    expect(state.ipv6.services[0]).toMatchObject({ clusterIP: 'fd00:96::5', externalIPs: ['fd00:250::9'] });
    expect(ips(state.ipv6.services[0]!.internalEndpoints)).toEqual(['fd00:244:1::2:8080']);
    expect(state.ipv6.nodePortAddresses).toEqual(['fd00:100::10/128']);
  });

  it('merges slices and deduplicates an endpoint listed twice, keeping the ready copy', () => {
    const { state } = buildProxyState({
      services: [svc('ns1', 'm', { clusterIP: '10.96.0.6', ports: [{ name: 'http', port: 80 }] })],
      endpointSlices: [
        slice('ns1', 'm-1', 'm', [{ name: 'http', port: 8080 }], [{ ip: '10.244.1.2', ready: false, serving: false }]),
        slice('ns1', 'm-2', 'm', [{ name: 'http', port: 8080 }], [{ ip: '10.244.1.2' }, { ip: '10.244.1.3' }]),
        slice('ns1', 'm-3', 'm', [{ name: 'other', port: 9090 }], [{ ip: '10.244.1.9' }]),
      ],
      node: NODE,
    }, { nodeName: 'node-a' });
    expect(ips(state.ipv4.services[0]!.internalEndpoints)).toEqual(['10.244.1.2:8080', '10.244.1.3:8080']);
  });
});

describe('buildProxyState: bad input is skipped and reported, the rest goes on', () => {
  const good = svc('ns1', 'good', { clusterIP: '10.96.0.1', ports: [{ port: 80 }] });
  const goodSlice = slice('ns1', 'good-1', 'good', [{ port: 8080 }], [{ ip: '10.244.1.2' }]);
  // Objects that cannot be used at all: skipped whole.
  const cases: [string, Parameters<typeof buildProxyState>[0]['services'], Parameters<typeof buildProxyState>[0]['endpointSlices'], string][] = [
    ['impossible cluster IP', [svc('ns1', 'bad', { clusterIP: '10.0.0.300', ports: [{ port: 80 }] })], [], 'spec.clusterIPs'],
    ['its only port out of range', [svc('ns1', 'bad', { clusterIP: '10.96.0.2', ports: [{ port: 70000 }] })], [], 'spec.ports'],
    ['its only port with an unknown protocol', [svc('ns1', 'bad', { clusterIP: '10.96.0.2', ports: [{ port: 80, protocol: 'FOO' }] })], [], 'spec.ports'],
    ['hostile name', [svc('ns1', 'bad"; flush ruleset', { clusterIP: '10.96.0.2', ports: [{ port: 80 }] })], [], 'metadata.name'],
    ['its only port with a hostile name', [svc('ns1', 'bad', { clusterIP: '10.96.0.2', ports: [{ name: 'a b"c', port: 80 }] })], [], 'spec.ports'],
    ['bad source range', [svc('ns1', 'bad', { type: 'LoadBalancer', clusterIP: '10.96.0.2', loadBalancerSourceRanges: ['10.0.0.0/40'], ports: [{ port: 80 }] })], [], 'spec.loadBalancerSourceRanges[0]'],
    ['slice of a missing Service', [], [slice('ns1', 'orphan', 'nosuch', [{ port: 80 }], [{ ip: '10.244.1.7' }])], 'metadata.labels["kubernetes.io/service-name"]'],
  ];
  it.each(cases)('%s', (_name, services, slices, path) => {
    const { state, problems } = buildProxyState({ services: [good, ...services], endpointSlices: [goodSlice, ...slices], node: NODE }, { nodeName: 'node-a' });
    expect(problems.filter((p) => p.effect === 'skipped').map((p) => p.path)).toContain(path);
    expect(state.ipv4.services.map((s) => s.key)).toEqual(['ns1/good:']);
    expect(ips(state.ipv4.services[0]!.internalEndpoints)).toEqual(['10.244.1.2:8080']);
  });

  // One bad value costs that value (the external IP, the endpoint), not its object.
  const valueCases: [string, Parameters<typeof buildProxyState>[0]['services'], Parameters<typeof buildProxyState>[0]['endpointSlices'], string][] = [
    ['hostile external IP', [svc('ns1', 'good', { clusterIP: '10.96.0.1', externalIPs: ['10.0.0.1; flush ruleset'], ports: [{ port: 80 }] })], [], 'spec.externalIPs[0]'],
    ['impossible endpoint IP', [], [slice('ns1', 'badep', 'good', [{ port: 8080 }], [{ ip: '10.244.1.300' }])], 'endpoints[0].addresses[0]'],
    ['IPv6 address in an IPv4 slice', [], [slice('ns1', 'badfam', 'good', [{ port: 8080 }], [{ ip: 'fd00::1' }])], 'endpoints[0].addresses[0]'],
  ];
  it.each(valueCases)('%s', (_name, services, slices, path) => {
    const { state, problems } = buildProxyState({ services: services.length > 0 ? services : [good], endpointSlices: [goodSlice, ...slices], node: NODE }, { nodeName: 'node-a' });
    expect(problems.filter((p) => p.effect === 'skipped')).toEqual([]);
    expect(problems.filter((p) => p.effect === 'ignored').map((p) => p.path)).toContain(path);
    expect(state.ipv4.services.map((s) => s.key)).toEqual(['ns1/good:']);
    expect(state.ipv4.services[0]!.externalIPs).toEqual([]);
    expect(ips(state.ipv4.services[0]!.internalEndpoints)).toEqual(['10.244.1.2:8080']);
  });

  it('leaves ExternalName, headless and other proxies\' Services alone, reported as not proxied', () => {
    const { state, problems } = buildProxyState({
      services: [
        good,
        svc('ns1', 'ext', { type: 'ExternalName', externalName: 'example.com' }),
        svc('ns1', 'headless', { clusterIP: 'None', ports: [{ port: 80 }] }),
        svc('ns1', 'other', { clusterIP: '10.96.0.9', ports: [{ port: 80 }] }, { metadata: { labels: { 'service.kubernetes.io/service-proxy-name': 'x' } } }),
      ],
      endpointSlices: [goodSlice, slice('ns1', 'fq', 'good', [{ port: 80 }], [{ ip: 'example.com' }], 'FQDN')],
      node: NODE,
    }, { nodeName: 'node-a' });
    expect(state.ipv4.services.map((s) => s.key)).toEqual(['ns1/good:']);
    expect(problems.map((p) => [p.object, p.effect])).toEqual([['ns1/ext', 'not-proxied'], ['ns1/headless', 'not-proxied'], ['ns1/other', 'not-proxied'], ['ns1/fq', 'not-proxied']]);
  });
});

describe('buildProxyState: options', () => {
  it('defaults nodePortAddresses to the primary node IP and the mark to bit 14', () => {
    const { state } = buildProxyState({ services: [], endpointSlices: [], node: NODE }, { nodeName: 'node-a' });
    expect(state.ipv4.nodePortAddresses).toEqual(['10.100.0.10/32']);
    expect(state.ipv4.masqueradeMark).toBe(0x4000);
  });
  it('serves NodePorts on loopback only, with a warning naming the Node, when the node IP is unknown', () => {
    const { state, problems } = buildProxyState({ services: [], endpointSlices: [] }, { nodeName: 'node-x' });
    expect(state.ipv4.nodePortAddresses).toEqual(['127.0.0.1/32']);
    expect(state.ipv6.nodePortAddresses).toEqual(['::1/128']);
    expect(problems).toEqual([expect.objectContaining({ kind: 'Node', object: 'node-x', effect: 'warning', message: expect.stringMatching(/no Node object named "node-x".*loopback only/) })]);
  });
  it('splits CIDR options by family and rejects bad ones', () => {
    const { state } = buildProxyState({ services: [], endpointSlices: [], node: NODE }, { nodeName: 'node-a', clusterCIDRs: ['10.244.0.0/16', 'fd00:244::/48'], nodePortAddresses: ['10.100.0.0/24'], masqueradeBit: 13 });
    expect(state.ipv4.clusterCIDRs).toEqual(['10.244.0.0/16']);
    expect(state.ipv6.clusterCIDRs).toEqual(['fd00:244::/48']);
    // A dry run keeps the CIDR: the rules' "destination is local" check does the rest.
    expect(state.ipv4.nodePortAddresses).toEqual(['10.100.0.0/24']);
    expect(state.ipv4.nodePortIPs).toEqual(['10.100.0.10']);
    expect(state.ipv6.nodePortAddresses).toEqual(['::/0']);
    expect(state.ipv4.masqueradeMark).toBe(0x2000);
    expect(() => buildProxyState({ services: [], endpointSlices: [] }, { nodeName: 'n', clusterCIDRs: ['10.0.0.0/99'] })).toThrow(/cluster-cidr/);
  });
});

describe('buildProxyState: conflicting frontends', () => {
  it('keeps a frontend for the first Service port in key order and reports the others', () => {
    const { state, problems } = buildProxyState({
      services: [
        svc('ns', 'b', { type: 'NodePort', clusterIP: '10.96.0.2', externalIPs: ['10.250.0.1', '10.250.0.2'], ports: [{ name: 'p', port: 80, nodePort: 30080 }] }),
        svc('ns', 'a', { type: 'NodePort', clusterIP: '10.96.0.1', externalIPs: ['10.250.0.1'], ports: [{ name: 'p', port: 80, nodePort: 30080 }] }),
        svc('ns', 'c', { clusterIP: '10.96.0.1', ports: [{ name: 'p', port: 80 }] }),
        svc('ns', 'd', { clusterIP: '10.96.0.1', ports: [{ name: 'p', port: 80, protocol: 'UDP' }] }),
      ],
      endpointSlices: [],
      node: NODE,
    }, { nodeName: 'node-a' });
    const byKey = new Map(state.ipv4.services.map((s) => [s.key, s]));
    expect([...byKey.keys()]).toEqual(['ns/a:p', 'ns/b:p', 'ns/d:p']);
    expect(byKey.get('ns/a:p')).toMatchObject({ externalIPs: ['10.250.0.1'], nodePort: 30080 });
    expect(byKey.get('ns/b:p')!.externalIPs).toEqual(['10.250.0.2']);
    expect(byKey.get('ns/b:p')!.nodePort).toBeUndefined();
    expect(problems.filter((p) => p.effect === 'ignored').map((p) => [p.object, p.path, p.message])).toEqual([
      ['ns/b', 'spec.externalIPs', 'tcp 10.250.0.1:80 is already used by ns/a:p: ignored for ns/b:p'],
      ['ns/b', 'spec.ports.nodePort', 'tcp NodePort 30080 is already used by ns/a:p: ignored for ns/b:p'],
      ['ns/c', 'spec.clusterIPs', 'tcp 10.96.0.1:80 is already used by ns/a:p: ignored for ns/c:p'],
    ]);
  });
});
