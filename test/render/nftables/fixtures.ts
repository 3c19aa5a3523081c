/** Hand-built ProxyState fixtures (plain data) for the nftables renderer tests. */
import type { Endpoint, FamilyState, IPFamily, ProxyState, ServicePort } from '../../../src/model/types.js';

export function ep(ip: string, port: number, local = false): Endpoint {
  return { ip, port, ready: true, serving: true, terminating: false, local, ...(local ? { nodeName: 'node-a' } : { nodeName: 'node-b' }) };
}

type SpInput = Partial<ServicePort> & { readonly namespace: string; readonly name: string; readonly clusterIP: string; readonly port: number };

/** A ServicePort with consistent defaults: Cluster policies, every endpoint everywhere. */
export function sp(input: SpInput): ServicePort {
  const portName = input.portName ?? `p${input.port}`;
  const protocol = input.protocol ?? 'tcp';
  const eps = input.allEndpoints ?? [];
  const base: ServicePort = {
    key: `${input.namespace}/${input.name}:${portName}`,
    portName,
    protocol,
    family: input.clusterIP.includes(':') ? 'ipv6' : 'ipv4',
    externalIPs: [],
    loadBalancerIPs: [],
    loadBalancerSourceRanges: [],
    firewallExtraSources: [],
    externalPolicyLocal: false,
    internalPolicyLocal: false,
    allEndpoints: eps,
    clusterEndpoints: eps,
    localEndpoints: eps.filter((e) => e.local),
    hasEndpoints: eps.length > 0,
    internalEndpoints: eps,
    externalEndpoints: eps,
    ...(eps.length === 0 ? { internalNoEndpoints: 'reject' as const, externalNoEndpoints: 'reject' as const } : {}),
    ...input,
  };
  return base;
}

export function fam(family: IPFamily, input: Partial<FamilyState> = {}): FamilyState {
  return {
    family,
    nodeIPs: [],
    nodePortAddresses: [],
    nodePortIPs: [],
    clusterCIDRs: [],
    serviceCIDRs: [],
    masqueradeAll: false,
    masqueradeMark: 0x4000,
    services: [],
    ...input,
  };
}

export function state(ipv4: Partial<FamilyState> = {}, ipv6: Partial<FamilyState> = {}): ProxyState {
  return { nodeName: 'node-a', ipv4: fam('ipv4', ipv4), ipv6: fam('ipv6', ipv6) };
}

/** Every feature, both families. */
export function richState(): ProxyState {
  const e4 = [ep('10.1.0.1', 8080, true), ep('10.1.0.2', 8080), ep('10.1.1.3', 8080)];
  const v4 = [
    sp({ namespace: 'ns1', name: 'plain', clusterIP: '172.30.0.1', port: 80, allEndpoints: e4 }),
    sp({ namespace: 'ns1', name: 'dns', clusterIP: '172.30.0.10', port: 53, protocol: 'udp', portName: 'dns', allEndpoints: [ep('10.1.0.5', 53)] }),
    sp({ namespace: 'ns1', name: 'sctp', clusterIP: '172.30.0.11', port: 9999, protocol: 'sctp', allEndpoints: [ep('10.1.0.6', 9999)] }),
    sp({ namespace: 'ns1', name: 'empty', clusterIP: '172.30.0.2', port: 80, nodePort: 30002, externalIPs: ['192.0.2.2'] }),
    sp({
      namespace: 'ns2', name: 'local-lb', clusterIP: '172.30.0.3', port: 443, nodePort: 30443,
      externalIPs: ['192.0.2.3'], loadBalancerIPs: ['198.51.100.3'], externalPolicyLocal: true,
      loadBalancerSourceRanges: ['203.0.113.0/24', '10.0.0.0/8'], firewallExtraSources: ['198.51.100.3/32'],
      healthCheckNodePort: 31000,
      allEndpoints: e4, externalEndpoints: e4.filter((e) => e.local), localEndpoints: e4.filter((e) => e.local),
    }),
    sp({
      namespace: 'ns2', name: 'local-none', clusterIP: '172.30.0.4', port: 80, nodePort: 30004,
      loadBalancerIPs: ['198.51.100.4'], externalPolicyLocal: true,
      allEndpoints: [ep('10.1.1.9', 80)], externalEndpoints: [], localEndpoints: [], externalNoEndpoints: 'drop',
    }),
    sp({
      namespace: 'ns3', name: 'internal-local-none', clusterIP: '172.30.0.5', port: 80, internalPolicyLocal: true,
      allEndpoints: [ep('10.1.1.9', 80)], internalEndpoints: [], localEndpoints: [], internalNoEndpoints: 'drop',
    }),
    sp({
      namespace: 'ns3', name: 'sticky', clusterIP: '172.30.0.6', port: 80, nodePort: 30006, externalIPs: ['192.0.2.6'],
      affinityTimeoutSeconds: 10800, allEndpoints: e4,
    }),
    sp({
      namespace: 'ns3', name: 'sticky-local', clusterIP: '172.30.0.7', port: 80, nodePort: 30007, loadBalancerIPs: ['198.51.100.7'],
      affinityTimeoutSeconds: 600, externalPolicyLocal: true, allEndpoints: e4,
      externalEndpoints: e4.filter((e) => e.local), localEndpoints: e4.filter((e) => e.local),
    }),
  ];
  const e6 = [ep('fd00:10::1', 8080, true), ep('fd00:10::2', 8080)];
  const v6 = [
    sp({ namespace: 'ns1', name: 'plain', clusterIP: 'fd00:30::1', port: 80, nodePort: 30080, allEndpoints: e6, externalIPs: ['2001:db8::1'] }),
    sp({ namespace: 'ns1', name: 'empty', clusterIP: 'fd00:30::2', port: 80 }),
    sp({
      namespace: 'ns2', name: 'local-lb', clusterIP: 'fd00:30::3', port: 443, nodePort: 30443, loadBalancerIPs: ['2001:db8::3'],
      externalPolicyLocal: true, loadBalancerSourceRanges: ['2001:db8:1::/48'], firewallExtraSources: [], affinityTimeoutSeconds: 60,
      allEndpoints: e6, externalEndpoints: e6.filter((e) => e.local), localEndpoints: e6.filter((e) => e.local),
    }),
  ];
  return state(
    {
      nodeIPs: ['192.168.1.10'], nodePortAddresses: ['192.168.1.10/32', '192.168.0.0/16'], clusterCIDRs: ['10.0.0.0/8', '10.1.0.0/16'],
      serviceCIDRs: ['172.30.0.0/16'], services: v4,
    },
    { nodeIPs: ['fd00:1::10'], nodePortAddresses: ['fd00:1::/64'], clusterCIDRs: ['fd00:10::/64'], serviceCIDRs: ['fd00:30::/112'], masqueradeAll: true, services: v6 },
  );
}
