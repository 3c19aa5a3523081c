/**
 * kube-proxy's health rule (k8s.io/kubernetes pkg/proxy/healthcheck/proxy_health.go,
 * v1.36: ProxyHealthServer.Health, NodeEligible, healthzHandler, livezHandler):
 * - a family's proxier is unhealthy when an update has been queued (a Service or
 *   EndpointSlice change, drift) and not applied for longer than the health timeout
 *   (2 × syncPeriod in cmd/kube-proxy/app/server.go);
 * - a family that has never been updated is not judged: the proxy is healthy while it
 *   starts up (upstream iterates only the families in lastUpdatedMap);
 * - `/healthz` also needs the Node to be eligible: known, not being deleted, and without
 *   the cluster autoscaler's `ToBeDeletedByClusterAutoscaler` taint (upstream's
 *   NodeEligible returns false for a nil Node);
 * - a 200 answer reports `lastUpdated` = now (upstream keeps that for compatibility with
 *   older releases); the per-family `status` keeps each family's own time.
 *
 * kpx's one proxier programs every family in one sync, so the families share the queued
 * time; each family appears in `status` from its first update on and while the proxier
 * programs it (`updated(families)`).
 *
 * Pure state on an injected wall clock; `serveHealth` (http.ts) puts it on the wire.
 */
import type { V1Node } from '@kubernetes/client-node';
import type { IPFamily } from '../model/types.js';

/** The cluster autoscaler's taint for nodes about to be removed. */
export const TO_BE_DELETED_TAINT = 'ToBeDeletedByClusterAutoscaler';

/** Go's zero time.Time as encoding/json prints it (no update yet). */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

/** The API's family names, as upstream's `status` map keys (v1.IPFamily). */
export const FAMILY_NAMES: Readonly<Record<IPFamily, 'IPv4' | 'IPv6'>> = { ipv4: 'IPv4', ipv6: 'IPv6' };

export interface FamilyHealth {
  readonly lastUpdated: string;
  readonly healthy: boolean;
}

/** The JSON body of `/healthz` and `/livez`, keys in upstream's order. */
export interface HealthBody {
  readonly lastUpdated: string;
  readonly currentTime: string;
  /** `/healthz` only. */
  readonly nodeEligible?: boolean;
  /** The proxy's own health (all families); on `/healthz` the status code also needs nodeEligible. */
  readonly healthy: boolean;
  /** Per family; absent before the first update (upstream's `omitempty` on an empty map). */
  readonly status?: Readonly<Partial<Record<'IPv4' | 'IPv6', FamilyHealth>>>;
}

function iso(ms: number | undefined): string {
  return ms === undefined ? ZERO_TIME : new Date(ms).toISOString();
}

export class ProxyHealth {
  /** Last successful update per family the proxier programs. */
  private readonly lastUpdated = new Map<IPFamily, number>();
  private oldestQueued: number | undefined;
  private node: V1Node | undefined;

  /** `now`: wall-clock milliseconds (Date.now by default). */
  constructor(readonly healthTimeoutMs: number, private readonly now: () => number = Date.now) {}

  /** A change is waiting to be applied (kept at the oldest such time until updated()). */
  queuedUpdate(): void {
    this.oldestQueued ??= this.now();
  }

  /**
   * The rules now reflect everything queued so far, for these families (the ones the
   * proxier programs; a family no longer programmed leaves `status`).
   */
  updated(families: readonly IPFamily[] = ['ipv4']): void {
    const now = this.now();
    this.oldestQueued = undefined;
    for (const f of [...this.lastUpdated.keys()]) if (!families.includes(f)) this.lastUpdated.delete(f);
    for (const f of families) this.lastUpdated.set(f, now);
  }

  /** This node's object as last seen (undefined: unknown or deleted). */
  syncNode(node: V1Node | undefined): void {
    this.node = node;
  }

  get nodeEligible(): boolean {
    const node = this.node;
    if (node === undefined) return false;
    if (node.metadata?.deletionTimestamp !== undefined && node.metadata.deletionTimestamp !== null) return false;
    return !(node.spec?.taints ?? []).some((t) => t.key === TO_BE_DELETED_TAINT);
  }

  /** The proxy's own health, without the Node (what a Service's health check reports). */
  isHealthy(): boolean {
    return this.lastUpdated.size === 0 || this.oldestQueued === undefined || this.now() - this.oldestQueued < this.healthTimeoutMs;
  }

  /** The status code and JSON body of `/healthz` (withNode) or `/livez`. */
  report(withNode: boolean): { status: 200 | 503; body: HealthBody } {
    const now = this.now();
    const healthy = this.isHealthy();
    const eligible = this.nodeEligible;
    const ok = healthy && (!withNode || eligible);
    const status: Partial<Record<'IPv4' | 'IPv6', FamilyHealth>> = {};
    let latest: number | undefined;
    for (const f of ['ipv4', 'ipv6'] as const) {
      const t = this.lastUpdated.get(f);
      if (t === undefined) continue;
      status[FAMILY_NAMES[f]] = { lastUpdated: iso(t), healthy };
      if (latest === undefined || t > latest) latest = t;
    }
    const body: HealthBody = {
      lastUpdated: iso(ok ? now : latest),
      currentTime: iso(now),
      ...(withNode ? { nodeEligible: eligible } : {}),
      healthy,
      ...(this.lastUpdated.size > 0 ? { status } : {}),
    };
    return { status: ok ? 200 : 503, body };
  }
}
