/**
 * kube-proxy's network programming latency: from an EndpointSlice's
 * `endpoints.kubernetes.io/last-change-trigger-time` annotation (set by the EndpointSlice
 * controller to when the change that caused it happened, e.g. a pod became ready) to
 * the end of the sync that put it in the kernel. As upstream, trigger times from before
 * kpx started are not observed (they measure kpx's start, not programming), and each
 * trigger time is observed once.
 */
import type { ClusterView } from './types.js';

export const TRIGGER_TIME_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';

export class ProgrammingLatency {
  private readonly pending = new Set<string>();
  /** Per Service key: slice name → the trigger time already observed. */
  private readonly observed = new Map<string, Map<string, string>>();

  constructor(
    private readonly histogram: { observe(seconds: number): void },
    private readonly startedAtMs: number,
    private readonly wallNow: () => number = Date.now,
  ) {}

  /** Services committed since the last successful sync. */
  changed(keys: Iterable<string>): void {
    for (const k of keys) this.pending.add(k);
  }

  /** A sync succeeded: observe the new trigger times of the changed Services' slices. */
  synced(view: ClusterView): void {
    const now = this.wallNow();
    for (const key of this.pending) {
      const before = this.observed.get(key);
      const after = new Map<string, string>();
      for (const slice of view.service(key).slices) {
        const name = slice.metadata?.name ?? '';
        const text = slice.metadata?.annotations?.[TRIGGER_TIME_ANNOTATION];
        if (text === undefined) continue;
        after.set(name, text);
        if (before?.get(name) === text) continue;
        const at = Date.parse(text);
        if (Number.isFinite(at) && at >= this.startedAtMs) this.histogram.observe(Math.max(0, now - at) / 1000);
      }
      if (after.size > 0) this.observed.set(key, after);
      else this.observed.delete(key);
    }
    this.pending.clear();
  }
}
