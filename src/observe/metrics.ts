/**
 * kpx's Prometheus metrics. The registry is injected (never prom-client's global one),
 * so tests and several proxies in one process keep their own. Names follow kube-proxy's
 * `kubeproxy_*` metrics where kpx measures the same thing; kpx's own start with `kpx_`.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Problem } from '../model/types.js';

export interface Metrics {
  readonly registry: Registry;
  /** Objects left out (or partly ignored) by validation, by kind and effect. */
  readonly invalidObjects: Counter<'kind' | 'effect'>;
  readonly syncDuration: Histogram<'backend'>;
  readonly lastSyncTimestamp: Gauge<'backend'>;
  readonly syncFailures: Counter<'backend'>;
  readonly noLocalEndpoints: Gauge<'traffic_policy'>;
}

export function createMetrics(registry: Registry = new Registry()): Metrics {
  return {
    registry,
    invalidObjects: new Counter({
      name: 'kpx_invalid_objects_total',
      help: 'API objects skipped or partly ignored because a field is invalid',
      labelNames: ['kind', 'effect'] as const,
      registers: [registry],
    }),
    syncDuration: new Histogram({
      name: 'kubeproxy_sync_proxy_rules_duration_seconds',
      help: 'SyncProxyRules latency in seconds',
      labelNames: ['backend'] as const,
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    lastSyncTimestamp: new Gauge({
      name: 'kubeproxy_sync_proxy_rules_last_timestamp_seconds',
      help: 'The last time proxy rules were successfully synced',
      labelNames: ['backend'] as const,
      registers: [registry],
    }),
    syncFailures: new Counter({
      name: 'kpx_sync_failures_total',
      help: 'Syncs that failed to apply and will be retried',
      labelNames: ['backend'] as const,
      registers: [registry],
    }),
    noLocalEndpoints: new Gauge({
      name: 'kubeproxy_sync_proxy_rules_no_local_endpoints_total',
      help: 'Number of services with a Local traffic policy and no endpoints',
      labelNames: ['traffic_policy'] as const,
      registers: [registry],
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
