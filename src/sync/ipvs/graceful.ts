/**
 * Graceful termination of real servers, as upstream's IPVS mode
 * (k8s.io/kubernetes pkg/proxy/ipvs/graceful_termination.go, GracefulDeleteRS and
 * deleteRsFunc; pkg/proxy/ipvs/util IsRsGracefulTerminationNeeded):
 * - a real server that leaves a virtual server which stays is deleted at once when it
 *   has no connections (ActiveConn + InActConn = 0), and always at once for UDP and SCTP
 *   (upstream: no graceful termination for them; net.ipv4.vs.expire_nodest_conn drops
 *   their entries on the next packet);
 * - otherwise (TCP with connections) its weight becomes 0 — no new connections — and it
 *   is deleted by a later sync once its connections are gone, or (kpx) after
 *   `timeoutMs`, by the injected clock. Upstream checks every minute with no timeout.
 * - it is taken back (weight restored) when the endpoint returns before that.
 */
import type { KRealServer, KVirtualServer } from '../kernel/ipvs-state.js';
import { rsKey } from '../kernel/ipvs-state.js';

export interface Pending {
  readonly key: string;
  readonly vs: KVirtualServer;
  readonly rs: KRealServer;
  readonly since: number;
}

export const needsGrace = (vs: KVirtualServer): boolean => vs.protocol === 'tcp';

export class GracefulTerminations {
  private readonly pending = new Map<string, Pending>();

  static id(vsKey: string, rs: { ip: string; port: number }): string {
    return `${vsKey} ${rsKey(rs)}`;
  }

  get size(): number { return this.pending.size; }
  has(vsKey: string, rs: { ip: string; port: number }): boolean { return this.pending.has(GracefulTerminations.id(vsKey, rs)); }
  add(p: Pending): void { this.pending.set(GracefulTerminations.id(p.key, p.rs), p); }
  delete(vsKey: string, rs: { ip: string; port: number }): void { this.pending.delete(GracefulTerminations.id(vsKey, rs)); }
  /** Drops every entry of a virtual server (it was deleted, its real servers with it). */
  dropService(vsKey: string): void {
    for (const [id, p] of this.pending) if (p.key === vsKey) this.pending.delete(id);
  }
  clear(): void { this.pending.clear(); }
  list(): Pending[] { return [...this.pending.values()]; }
}
