/** Builders for the UDP conntrack cleanup tests: UDP Services and slices, a ModelReader from the real model. */
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { buildProxyState } from '../../src/model/build.js';
import type { ClusterSnapshot } from '../../src/model/snapshot.js';
import type { IPFamily } from '../../src/model/types.js';
import type { UdpFlow } from '../../src/sync/conntrack-cleanup.js';
import type { ModelReader } from '../../src/sync/types.js';

export const NODE_IP = { ipv4: '10.100.0.10', ipv6: 'fd00:10:100::10' } as const;

export interface UdpSvc {
  readonly clusterIPs: readonly string[];
  readonly port?: number;
  readonly protocol?: 'UDP' | 'TCP';
  readonly nodePort?: number;
  readonly externalIPs?: readonly string[];
  readonly lbIPs?: readonly string[];
}

export function udpService(name: string, o: UdpSvc): V1Service {
  const families = o.clusterIPs.map((ip) => (ip.includes(':') ? 'IPv6' : 'IPv4'));
  return {
    apiVersion: 'v1', kind: 'Service',
    metadata: { namespace: 'ns', name },
    spec: {
      type: o.lbIPs !== undefined ? 'LoadBalancer' : o.nodePort !== undefined ? 'NodePort' : 'ClusterIP',
      clusterIP: o.clusterIPs[0] ?? '', clusterIPs: [...o.clusterIPs], ipFamilies: families,
      ipFamilyPolicy: families.length > 1 ? 'PreferDualStack' : 'SingleStack',
      ports: [{ name: 'dns', port: o.port ?? 53, protocol: o.protocol ?? 'UDP', targetPort: 5353,
        ...(o.nodePort !== undefined ? { nodePort: o.nodePort } : {}) }],
      ...(o.externalIPs !== undefined ? { externalIPs: [...o.externalIPs] } : {}),
    },
    ...(o.lbIPs !== undefined ? { status: { loadBalancer: { ingress: o.lbIPs.map((ip) => ({ ip })) } } } : {}),
  };
}

/** `ip`, `ip:port`, `ip!` (not serving), `ip~` (serving, terminating). IPv6 ports as `[ip]:port`. */
export function udpSlice(name: string, family: IPFamily, eps: readonly string[], protocol: 'UDP' | 'TCP' = 'UDP'): V1EndpointSlice {
  const byPort = new Map<number, { ip: string; serving: boolean; terminating: boolean }[]>();
  for (const raw of eps) {
    const serving = !raw.endsWith('!');
    const terminating = raw.endsWith('~');
    const text = raw.replace(/[!~]$/, '');
    const m = /^\[(.+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
    const ip = m?.[1] ?? text;
    const port = Number(m?.[2] ?? 5353);
    byPort.set(port, [...(byPort.get(port) ?? []), { ip, serving, terminating }]);
  }
  // One slice per port (a slice has one port list); several slices for one Service are fine.
  const [first] = [...byPort.entries()];
  const port = first?.[0] ?? 5353;
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { namespace: 'ns', name: `${name}-${family}`, labels: { 'kubernetes.io/service-name': name } },
    addressType: family === 'ipv4' ? 'IPv4' : 'IPv6',
    endpoints: (first?.[1] ?? []).map((e) => ({
      addresses: [e.ip], nodeName: 'node-b',
      conditions: { ready: e.serving && !e.terminating, serving: e.serving, terminating: e.terminating },
    })),
    ports: [{ name: 'dns', port, protocol }],
  };
}

export function node(): V1Node {
  return {
    apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' },
    status: { addresses: [{ type: 'InternalIP', address: NODE_IP.ipv4 }, { type: 'InternalIP', address: NODE_IP.ipv6 }] },
  };
}

/** The real model (buildProxyState) behind the ModelReader contract. */
export function modelOf(services: readonly V1Service[], slices: readonly V1EndpointSlice[], localAddresses: readonly string[] = [NODE_IP.ipv4, NODE_IP.ipv6, '127.0.0.1']): ModelReader {
  const snap: ClusterSnapshot = { services: [...services], endpointSlices: [...slices], node: node() };
  const { state } = buildProxyState(snap, { nodeName: 'node-a', nodePortAddresses: ['primary'], localAddresses });
  const keyOf = (s: { namespace: string; name: string }): string => `${s.namespace}/${s.name}`;
  return {
    keys: () => new Set([...state.ipv4.services, ...state.ipv6.services].map(keyOf)),
    ports: (key, family) => state[family].services.filter((s) => keyOf(s) === key),
    family: (family) => state[family],
  };
}

/** A flow: `client:sport -> dst:dport`, answered by `reply:rport`. */
export function flow(client: string, sport: number, dst: string, dport: number, reply: string, rport: number): UdpFlow {
  return { family: dst.includes(':') ? 'ipv6' : 'ipv4', origSrc: client, origDst: dst, origSport: sport, origDport: dport, replySrc: reply, replySport: rport };
}
