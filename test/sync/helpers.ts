/** Test helpers for src/sync: a ClusterView over a mutable snapshot, small object builders. */
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { serviceKeyOf } from '../../src/model/incremental.js';
import type { ClusterSnapshot } from '../../src/model/snapshot.js';
import type { ClusterView } from '../../src/sync/types.js';

export class TestCluster implements ClusterView {
  services = new Map<string, V1Service>();
  slices = new Map<string, V1EndpointSlice>();
  nodeObject: V1Node | undefined;
  /** Keys touched since the last takeChanges(). */
  private touched = new Set<string>();
  private nodeTouched = false;

  constructor(snap: ClusterSnapshot) {
    for (const s of snap.services) this.services.set(serviceKeyOf(s), s);
    for (const s of snap.endpointSlices) this.slices.set(`${s.metadata?.namespace}/${s.metadata?.name}`, s);
    this.nodeObject = snap.node;
  }

  static sliceService(s: V1EndpointSlice): string {
    return `${s.metadata?.namespace ?? 'default'}/${s.metadata?.labels?.['kubernetes.io/service-name'] ?? ''}`;
  }

  setService(key: string, svc: V1Service | undefined): void {
    if (svc) this.services.set(key, svc);
    else this.services.delete(key);
    this.touched.add(key);
  }

  /** Replaces every slice of the Service `key` with `slices`. */
  setSlices(key: string, slices: readonly V1EndpointSlice[]): void {
    for (const [k, s] of this.slices) if (TestCluster.sliceService(s) === key) this.slices.delete(k);
    for (const s of slices) this.slices.set(`${s.metadata?.namespace}/${s.metadata?.name}`, s);
    this.touched.add(key);
  }

  setNode(node: V1Node | undefined): void {
    this.nodeObject = node;
    this.nodeTouched = true;
  }

  takeChanges(): { services: Set<string>; node: boolean } {
    const c = { services: this.touched, node: this.nodeTouched };
    this.touched = new Set();
    this.nodeTouched = false;
    return c;
  }

  snapshot(): ClusterSnapshot {
    return {
      services: [...this.services.values()],
      endpointSlices: [...this.slices.values()],
      ...(this.nodeObject ? { node: this.nodeObject } : {}),
    };
  }

  service(key: string): { service: V1Service | undefined; slices: V1EndpointSlice[] } {
    return { service: this.services.get(key), slices: [...this.slices.values()].filter((s) => TestCluster.sliceService(s) === key) };
  }

  node(): V1Node | undefined {
    return this.nodeObject;
  }
}

/**
 * Chains and maps that went stale are flushed at once and deleted by a later
 * transaction: leave out of `dump` the empty chains and sets the reference lacks.
 */
export function withoutPendingDeletes(dump: string, ref: string): string {
  const refHeads = new Set(ref.split('\n').filter((l) => /^  (chain|set|map) /.test(l)));
  const lines = dump.split('\n');
  return lines.filter((l, i) => {
    if (!/^  (chain|set|map) /.test(l) || refHeads.has(l)) return true;
    return lines[i + 1]?.startsWith('    ') === true; // has rules or elements: keep
  }).join('\n');
}


/** A ClusterIP (or NodePort with `nodePort`) Service `ns/name` with one TCP port 80 named http. */
export function service(name: string, clusterIP: string, extra: { nodePort?: number; affinity?: boolean } = {}): V1Service {
  return {
    apiVersion: 'v1', kind: 'Service',
    metadata: { namespace: 'ns', name },
    spec: {
      type: extra.nodePort !== undefined ? 'NodePort' : 'ClusterIP',
      clusterIP, clusterIPs: [clusterIP],
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080, ...(extra.nodePort !== undefined ? { nodePort: extra.nodePort } : {}) }],
      ...(extra.affinity === true ? { sessionAffinity: 'ClientIP' } : {}),
    },
  };
}

/** One EndpointSlice for `ns/name` with ready endpoints on node-b (`ip` or `ip:ready=false`). */
export function slice(name: string, ips: readonly string[], port = 8080): V1EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { namespace: 'ns', name: `${name}-x`, labels: { 'kubernetes.io/service-name': name } },
    addressType: 'IPv4',
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'node-b' })),
    ports: [{ name: 'http', port, protocol: 'TCP' }],
  };
}

export function node(ip: string): V1Node {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' }, status: { addresses: [{ type: 'InternalIP', address: ip }] } };
}
