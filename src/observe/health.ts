/**
 * kube-proxy's health rule (k8s.io/kubernetes pkg/proxy/healthcheck/proxy_health.go):
 * the proxy is unhealthy when an update has been queued (a Service or EndpointSlice
 * change, drift) and not applied for longer than the health timeout (2 × syncPeriod in
 * cmd/kube-proxy/app/server.go). Healthy while starting up and while nothing waits.
 * `/healthz` additionally needs the Node to be eligible: not being deleted and without
 * the cluster autoscaler's `ToBeDeletedByClusterAutoscaler` taint.
 *
 * Pure state on an injected wall clock; `serveHealth` (http.ts) puts it on the wire.
 */
import type { V1Node } from '@kubernetes/client-node';

/** The cluster autoscaler's taint for nodes about to be removed. */
export const TO_BE_DELETED_TAINT = 'ToBeDeletedByClusterAutoscaler';

export interface HealthBody {
  readonly lastUpdated: string;
  readonly currentTime: string;
  readonly nodeEligible?: boolean;
  readonly healthy: boolean;
}

export class ProxyHealth {
  private lastUpdated: number | undefined;
  private oldestQueued: number | undefined;
  private eligible = true;

  /** `now`: wall-clock milliseconds (Date.now by default). */
  constructor(readonly healthTimeoutMs: number, private readonly now: () => number = Date.now) {}

  /** A change is waiting to be applied (kept at the oldest such time until updated()). */
  queuedUpdate(): void {
    this.oldestQueued ??= this.now();
  }

  /** The rules now reflect everything queued so far. */
  updated(): void {
    this.oldestQueued = undefined;
    this.lastUpdated = this.now();
  }

  /** Node eligibility, as upstream's SyncNode. */
  syncNode(node: V1Node | undefined): void {
    if (node === undefined) return;
    const deleting = node.metadata?.deletionTimestamp !== undefined && node.metadata.deletionTimestamp !== null;
    const tainted = (node.spec?.taints ?? []).some((t) => t.key === TO_BE_DELETED_TAINT);
    this.eligible = !deleting && !tainted;
  }

  get nodeEligible(): boolean {
    return this.eligible;
  }

  isHealthy(): boolean {
    return this.oldestQueued === undefined || this.now() - this.oldestQueued < this.healthTimeoutMs;
  }

  /** The status code and JSON body of `/healthz` (withNode) or `/livez`. */
  report(withNode: boolean): { status: 200 | 503; body: HealthBody } {
    const now = this.now();
    const healthy = this.isHealthy() && (!withNode || this.eligible);
    // As upstream: a healthy proxy reports lastUpdated = now (it is up to date).
    const lastUpdated = healthy ? now : (this.lastUpdated ?? 0);
    const body: HealthBody = {
      lastUpdated: new Date(lastUpdated).toISOString(),
      currentTime: new Date(now).toISOString(),
      ...(withNode ? { nodeEligible: this.eligible } : {}),
      healthy,
    };
    return { status: healthy ? 200 : 503, body };
  }
}
