/**
 * Seeded random clusters for property tests: Services of every type (ClusterIP,
 * NodePort, LoadBalancer, externalIPs), TCP/UDP ports, EndpointSlices with random
 * ready/serving/terminating endpoints on this node or another, external and internal
 * traffic policies, ClientIP affinity, loadBalancerSourceRanges; and random proxy options
 * (detector or not, --masquerade-all). IPv4; every frontend (address, protocol, port) is
 * unique so the model's decision for it is the only one that applies.
 */
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import type { ClusterSnapshot } from '../../src/model/snapshot.js';
import type { ProxyOptions } from '../../src/model/types.js';

/** mulberry32: small, fast, good enough for test data; same seed, same sequence. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const NODE = 'node-a';
export const NODE_IP = '10.100.0.10';
export const CLUSTER_CIDR = '10.244.0.0/16';
/** Sources the property test sends from. */
export const CLIENTS = { pod: '10.244.1.200', external: '203.0.113.5', node: NODE_IP } as const;
const RANGES = ['203.0.113.0/24', '198.51.100.0/24', '10.0.0.0/8', '10.100.0.0/24'];

export interface RandomCluster {
  readonly seed: number;
  readonly snapshot: ClusterSnapshot;
  readonly options: ProxyOptions;
}

export function randomCluster(seed: number): RandomCluster {
  const r = prng(seed);
  const int = (n: number): number => Math.floor(r() * n);
  const chance = (p: number): boolean => r() < p;
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;

  let nodePort = 30000;
  let extIP = 0;
  let podHost = 0;
  const services: V1Service[] = [];
  const endpointSlices: V1EndpointSlice[] = [];
  const serviceCount = 1 + int(5);
  for (let s = 0; s < serviceCount; s++) {
    const name = `svc${s}`;
    const type = pick(['ClusterIP', 'ClusterIP', 'NodePort', 'LoadBalancer'] as const);
    const portCount = 1 + int(2);
    const ports = Array.from({ length: portCount }, (_, i) => ({
      name: `p${i}`,
      port: 80 + i,
      protocol: pick(['TCP', 'UDP'] as const),
      targetPort: 8080 + i,
      ...(type !== 'ClusterIP' ? { nodePort: nodePort++ } : {}),
    }));
    const externalIPs = chance(0.25) ? [`198.18.0.${++extIP}`] : [];
    const lbIP = type === 'LoadBalancer' ? `198.19.0.${++extIP}` : undefined;
    const etpLocal = type !== 'ClusterIP' || externalIPs.length > 0 ? chance(0.5) : false;
    const ranges = lbIP !== undefined && chance(0.4) ? [pick(RANGES), ...(chance(0.3) ? [pick(RANGES)] : [])] : [];
    const affinity = chance(0.25);
    services.push({
      apiVersion: 'v1', kind: 'Service',
      metadata: { name, namespace: 'prop' },
      spec: {
        type,
        clusterIP: `10.96.${s}.10`,
        clusterIPs: [`10.96.${s}.10`],
        ports,
        ...(externalIPs.length > 0 ? { externalIPs } : {}),
        ...(type !== 'ClusterIP' || externalIPs.length > 0 ? { externalTrafficPolicy: etpLocal ? 'Local' : 'Cluster' } : {}),
        internalTrafficPolicy: chance(0.25) ? 'Local' : 'Cluster',
        ...(ranges.length > 0 ? { loadBalancerSourceRanges: ranges } : {}),
        ...(type === 'LoadBalancer' && etpLocal ? { healthCheckNodePort: 32000 + s } : {}),
        ...(affinity ? { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 1 + int(10800) } } } : {}),
      },
      ...(lbIP !== undefined ? { status: { loadBalancer: { ingress: [{ ip: lbIP }] } } } : {}),
    });
    if (chance(0.1)) continue; // no slice at all
    const endpoints = Array.from({ length: int(5) }, () => {
      const local = chance(0.5);
      const ready = chance(0.7);
      const terminating = !ready && chance(0.6);
      const serving = ready || chance(0.6);
      return {
        addresses: [`10.244.${local ? 1 : 2}.${2 + podHost++}`],
        conditions: { ready, serving, terminating },
        nodeName: local ? NODE : 'node-b',
      };
    });
    endpointSlices.push({
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: `${name}-x`, namespace: 'prop', labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      endpoints,
      ports: ports.map((p) => ({ name: p.name, port: p.targetPort, protocol: p.protocol })),
    });
  }
  const node: V1Node = {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name: NODE },
    status: { addresses: [{ type: 'InternalIP', address: NODE_IP }] },
  };
  const options: ProxyOptions = {
    nodeName: NODE,
    clusterCIDRs: chance(0.8) ? [CLUSTER_CIDR] : [],
    masqueradeAll: chance(0.2),
  };
  return { seed, snapshot: { services, endpointSlices, node }, options };
}
