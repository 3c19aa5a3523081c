/**
 * kpx's Prometheus metrics. The registry is injected (never prom-client's global one),
 * so tests and several proxies in one process keep their own. Names, types and buckets
 * follow kube-proxy's `kubeproxy_*` metrics (k8s.io/kubernetes pkg/proxy/metrics/metrics.go)
 * where kpx measures the same thing; kpx's own start with `kpx_`.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Problem } from '../model/types.js';

export interface Metrics {
  readonly registry: Registry;
  /** Objects left out (or partly ignored) by validation, by kind and effect. */
  readonly invalidObjects: Counter<'kind' | 'effect'>;
  /** kube-proxy's SyncProxyRulesLatency. */
  readonly syncDuration: Histogram;
  /** kube-proxy's SyncProxyRulesLastTimestamp (seconds since the epoch). */
  readonly lastSyncTimestamp: Gauge;
  /** kube-proxy's NetworkProgrammingLatency: EndpointSlice trigger time → in the kernel. */
  readonly networkProgrammingDuration: Histogram;
  readonly syncFailures: Counter;
  /** Syncs by result kind (full, partial, noop). */
  readonly syncs: Counter<'kind'>;
  /** Kernel operations sent by syncs. */
  readonly kernelOperations: Counter;
  /** Foreign changes to kpx's tables that were repaired by a full sync. */
  readonly driftRepairs: Counter;
  readonly noLocalEndpoints: Gauge<'traffic_policy'>;
  /** kube-proxy's ReconcileConntrackFlowsLatency: one UDP conntrack cleanup of one family. */
  readonly conntrackReconcileDuration: Histogram<'ip_family'>;
  /** kube-proxy's ReconcileConntrackFlowsDeletedEntriesTotal. */
  readonly conntrackDeletedEntries: Counter<'ip_family'>;
  /** UDP conntrack cleanups that failed, by reason (unavailable, list, delete). */
  readonly conntrackErrors: Counter<'reason'>;
  /** 1 when the conntrack tool works, 0 when it is missing (no UDP cleanup then). */
  readonly conntrackAvailable: Gauge;
  /** kube-proxy's ProxyHealthzTotal / ProxyLivezTotal: answers of /healthz and /livez by code. */
  readonly healthzTotal: Counter<'code'>;
  readonly livezTotal: Counter<'code'>;
  /** Service health check servers that could not listen (each attempt; retried every sync). */
  readonly serviceHealthBindFailures: Counter;
  /** Events the API server did not take (logged at debug, never fatal). */
  readonly eventPostFailures: Counter;
}

/** prometheus.ExponentialBuckets(start, factor, count). */
function exponential(start: number, factor: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => start * factor ** i);
}

/** prometheus.LinearBuckets(start, width, count). */
function linear(start: number, width: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => start + width * i);
}

/** kube-proxy's: 0, 0.25, 0.5, 1..59 by 1, 60..115 by 5, 120..300 by 30. */
export const NETWORK_PROGRAMMING_BUCKETS: readonly number[] = [
  0, 0.25, 0.5, ...linear(1, 1, 59), ...linear(60, 5, 12), ...linear(120, 30, 7),
];

/** kube-proxy's: 1 ms doubling, 15 buckets (to 16.384 s). */
export const SYNC_DURATION_BUCKETS: readonly number[] = exponential(0.001, 2, 15);

export function createMetrics(registry: Registry = new Registry()): Metrics {
  const registers = [registry];
  return {
    registry,
    invalidObjects: new Counter({
      name: 'kpx_invalid_objects_total',
      help: 'API objects skipped or partly ignored because a field is invalid',
      labelNames: ['kind', 'effect'] as const,
      registers,
    }),
    syncDuration: new Histogram({
      name: 'kubeproxy_sync_proxy_rules_duration_seconds',
      help: 'SyncProxyRules latency in seconds',
      buckets: [...SYNC_DURATION_BUCKETS],
      registers,
    }),
    lastSyncTimestamp: new Gauge({
      name: 'kubeproxy_sync_proxy_rules_last_timestamp_seconds',
      help: 'The last time proxy rules were successfully synced',
      registers,
    }),
    networkProgrammingDuration: new Histogram({
      name: 'kubeproxy_network_programming_duration_seconds',
      help: 'In Cluster Network Programming Latency in seconds',
      buckets: [...NETWORK_PROGRAMMING_BUCKETS],
      registers,
    }),
    syncFailures: new Counter({
      name: 'kpx_sync_failures_total',
      help: 'Syncs that failed to apply and will be retried',
      registers,
    }),
    syncs: new Counter({
      name: 'kpx_syncs_total',
      help: 'Successful syncs by kind: full (tables replaced), partial (changes only), noop (no kernel call)',
      labelNames: ['kind'] as const,
      registers,
    }),
    kernelOperations: new Counter({
      name: 'kpx_sync_kernel_operations_total',
      help: 'Kernel operations (element, chain, set changes) sent by syncs',
      registers,
    }),
    driftRepairs: new Counter({
      name: 'kpx_drift_repairs_total',
      help: "Changes to kpx's kernel objects made by someone else, repaired by a full sync",
      registers,
    }),
    noLocalEndpoints: new Gauge({
      name: 'kubeproxy_sync_proxy_rules_no_local_endpoints_total',
      help: 'Number of services with a Local traffic policy and no endpoints',
      labelNames: ['traffic_policy'] as const,
      registers,
    }),
    conntrackReconcileDuration: new Histogram({
      name: 'kubeproxy_conntrack_reconciler_sync_duration_seconds',
      help: 'ReconcileConntrackFlowsLatency latency in seconds',
      labelNames: ['ip_family'] as const,
      buckets: [...SYNC_DURATION_BUCKETS],
      registers,
    }),
    conntrackDeletedEntries: new Counter({
      name: 'kubeproxy_conntrack_reconciler_deleted_entries_total',
      help: 'Cumulative conntrack flows deleted by conntrack reconciler',
      labelNames: ['ip_family'] as const,
      registers,
    }),
    conntrackErrors: new Counter({
      name: 'kpx_conntrack_reconciler_errors_total',
      help: 'UDP conntrack cleanups that failed, by reason: unavailable (no conntrack tool), list, delete',
      labelNames: ['reason'] as const,
      registers,
    }),
    conntrackAvailable: new Gauge({
      name: 'kpx_conntrack_tool_available',
      help: '1 when the conntrack tool runs, 0 when it is missing: stale UDP flows are not cleaned up then',
      registers,
    }),
    healthzTotal: new Counter({
      name: 'kubeproxy_proxy_healthz_total',
      help: 'Cumulative proxy healthz HTTP status',
      labelNames: ['code'] as const,
      registers,
    }),
    livezTotal: new Counter({
      name: 'kubeproxy_proxy_livez_total',
      help: 'Cumulative proxy livez HTTP status',
      labelNames: ['code'] as const,
      registers,
    }),
    serviceHealthBindFailures: new Counter({
      name: 'kpx_service_health_bind_failures_total',
      help: 'Attempts to start a healthCheckNodePort server that failed (port in use, address gone)',
      registers,
    }),
    eventPostFailures: new Counter({
      name: 'kpx_event_post_failures_total',
      help: 'Events that could not be posted to the API server',
      registers,
    }),
  };
}

/**
 * Counts invalid objects, once each however many problems one has: an object with any
 * `skipped` problem counts as skipped, otherwise as ignored (partly used). Not-proxied
 * objects (ExternalName, headless) and warnings are not invalid objects.
 */
export function recordProblems(metrics: Metrics, problems: readonly Problem[]): void {
  const effects = new Map<string, { kind: Problem['kind']; effect: 'skipped' | 'ignored' }>();
  for (const p of problems) {
    if (p.effect !== 'skipped' && p.effect !== 'ignored') continue;
    const id = `${p.kind}\u0000${p.object}`;
    const prev = effects.get(id);
    if (prev === undefined || (prev.effect === 'ignored' && p.effect === 'skipped')) effects.set(id, { kind: p.kind, effect: p.effect });
  }
  for (const { kind, effect } of effects.values()) metrics.invalidObjects.inc({ kind, effect });
}
