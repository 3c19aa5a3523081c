/** A ClusterView over a plain, mutable snapshot (what the watch layer gives a proxier). */
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
