/** Plain-data builders for model tests: Service, EndpointSlice and Node objects as kubectl prints them. */
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { buildProxyState } from '../../src/model/build.js';
import type { FamilyState, ProxyOptions } from '../../src/model/types.js';

export function svc(ns: string, name: string, spec: Record<string, unknown>, extra: Record<string, unknown> = {}): V1Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { namespace: ns, name, ...(extra['metadata'] as object ?? {}) }, spec, ...(extra['status'] ? { status: extra['status'] } : {}) } as V1Service;
}

export interface EpSpec {
  ip: string;
  node?: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
  zone?: string;
  zoneHints?: string[];
  nodeHints?: string[];
}

export function slice(ns: string, name: string, service: string, ports: { name?: string; port: number; protocol?: string }[], eps: EpSpec[], addressType = 'IPv4'): V1EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace: ns, name, labels: { 'kubernetes.io/service-name': service } },
    addressType,
    ports: ports.map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' })),
    endpoints: eps.map((e) => ({
      addresses: [e.ip],
      conditions: {
        ...(e.ready !== undefined ? { ready: e.ready } : {}),
        ...(e.serving !== undefined ? { serving: e.serving } : {}),
        ...(e.terminating !== undefined ? { terminating: e.terminating } : {}),
      },
      ...(e.node ? { nodeName: e.node } : {}),
      ...(e.zone ? { zone: e.zone } : {}),
      ...(e.zoneHints || e.nodeHints ? { hints: { ...(e.zoneHints ? { forZones: e.zoneHints.map((n) => ({ name: n })) } : {}), ...(e.nodeHints ? { forNodes: e.nodeHints.map((n) => ({ name: n })) } : {}) } } : {}),
    })),
  } as V1EndpointSlice;
}

export function node(name: string, ips: string[], zone?: string): V1Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: zone ? { 'topology.kubernetes.io/zone': zone } : {} },
    status: { addresses: ips.map((address) => ({ type: 'InternalIP', address })) },
  } as V1Node;
}

export const LOCAL = (ip: string): EpSpec => ({ ip, node: 'node-a' });
export const REMOTE = (ip: string): EpSpec => ({ ip, node: 'node-b' });

/**
 * One family's state for a single Service `ns1/svc1` (port p80 80 → 8080) on node-a
 * (10.100.0.10, fd00:100::10, zone-a), through the real model: for renderer unit tests.
 */
export function oneServiceState(
  spec: Record<string, unknown>, eps: EpSpec[], opts: Partial<ProxyOptions> = {}, extra: Record<string, unknown> = {},
  family: 'ipv4' | 'ipv6' = 'ipv4',
): FamilyState {
  const v6 = family === 'ipv6';
  const { state } = buildProxyState({
    services: [svc('ns1', 'svc1', {
      clusterIP: v6 ? 'fd00:96::1' : '10.96.0.1', ipFamilies: [v6 ? 'IPv6' : 'IPv4'],
      ports: [{ name: 'p80', port: 80, targetPort: 8080 }], ...spec,
    }, extra)],
    endpointSlices: eps.length === 0 ? [] : [slice('ns1', 'svc1-a', 'svc1', [{ name: 'p80', port: 8080 }], eps, v6 ? 'IPv6' : 'IPv4')],
    node: node('node-a', ['10.100.0.10', 'fd00:100::10'], 'zone-a'),
  }, { nodeName: 'node-a', clusterCIDRs: ['10.244.0.0/16', 'fd00:244::/48'], ...opts });
  return state[family];
}
