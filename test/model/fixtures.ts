/** Plain-data builders for model tests: Service, EndpointSlice and Node objects as kubectl prints them. */
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';

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
