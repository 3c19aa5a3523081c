/**
 * The bounded-frequency runner: kube-proxy's contract for when a sync runs
 * (k8s.io/kubernetes pkg/util/async/bounded_frequency_runner.go), written for an async
 * function and an injected clock.
 *
 * - `request()` asks for a run as soon as allowed. Requests that arrive while a run is
 *   in progress, or before the minimum interval has passed, merge into one run.
 * - The minimum interval counts from the END of the previous run (a slow sync cannot be
 *   followed back-to-back by another one).
 * - A run happens at least every `maxIntervalMs` (the sync period), requested or not.
 * - A run that throws is retried after a backoff (`retryInitialMs`, doubling, capped at
 *   `maxIntervalMs`); any request in the meantime still runs at the minimum interval.
 * - Adaptive mode: while runs are slow, the minimum interval stretches to
 *   `adaptive.ratio` × the last run's duration (at most `adaptive.maxMinIntervalMs`),
 *   so a cluster whose sync takes seconds does not spend all its time syncing; when runs
 *   get fast again it halves back towards `minIntervalMs` run by run.
 * Runs never overlap.
 */
import type { Clock, TimerHandle } from '../watch/clock.js';

export interface AdaptiveOptions {
  /** The minimum interval becomes at least ratio × the last run's duration. */
  readonly ratio: number;
  /** Upper bound of the stretched minimum interval. */
  readonly maxMinIntervalMs: number;
}

export interface RunnerOptions {
  readonly minIntervalMs: number;
  readonly maxIntervalMs: number;
  /** First retry delay after a failure (doubles per consecutive failure, capped at maxIntervalMs). */
  readonly retryInitialMs?: number;
  readonly adaptive?: AdaptiveOptions;
}

export interface RunnerLogger {
  warn(fields: Record<string, unknown>, message: string): void;
  debug?(fields: Record<string, unknown>, message: string): void;
}

export type RunReason = 'request' | 'period' | 'retry';

export class BoundedFrequencyRunner {
  private timer: TimerHandle | undefined;
  private timerAt = Infinity;
  private running: Promise<void> | undefined;
  private requested = false;
  private started = false;
  private stopped = false;
  /** End of the last run (or the start time before the first run). */
  private lastEnd = 0;
  /** The periodic run is due maxIntervalMs after this (the end of the last run, or start()). */
  private periodicFrom = 0;
  private retryAt: number | undefined;
  private failures = 0;
  private minInterval: number;
  private runs = 0;

  constructor(
    private readonly fn: (reason: RunReason) => Promise<void>,
    private readonly options: RunnerOptions,
    private readonly clock: Clock,
    private readonly logger?: RunnerLogger,
  ) {
    if (options.maxIntervalMs < options.minIntervalMs) {
      throw new Error(`runner: maxIntervalMs (${options.maxIntervalMs}) must be >= minIntervalMs (${options.minIntervalMs})`);
    }
    this.minInterval = options.minIntervalMs;
  }

  /** Starts the periodic schedule; the first run happens on the first request or after maxIntervalMs. */
  start(): void {
    if (this.started) return;
    this.started = true;
    // No run has happened yet: a request runs at once (lastEnd far enough in the past).
    this.lastEnd = this.clock.now() - this.minInterval;
    this.periodicFrom = this.clock.now();
    this.schedule();
  }

  /** Asks for a run as soon as the minimum interval allows. */
  request(): void {
    if (this.stopped) return;
    this.requested = true;
    if (this.started) this.schedule();
  }

  /** Stops scheduling; resolves when a run in progress has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimer();
    await this.running;
  }

  /** The minimum interval in force (stretched in adaptive mode). */
  get currentMinIntervalMs(): number {
    return this.minInterval;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  get completedRuns(): number {
    return this.runs;
  }

  /** When the next run is due, from the state alone. */
  private dueAt(): { at: number; reason: RunReason } {
    let best: { at: number; reason: RunReason } = { at: this.periodicFrom + this.options.maxIntervalMs, reason: 'period' };
    if (this.retryAt !== undefined && this.retryAt < best.at) best = { at: this.retryAt, reason: 'retry' };
    if (this.requested) {
      const at = this.lastEnd + this.minInterval;
      if (at <= best.at) best = { at, reason: 'request' };
    }
    return best;
  }

  private schedule(): void {
    if (this.stopped || !this.started || this.running !== undefined) return;
    const due = this.dueAt();
    if (this.timer !== undefined && this.timerAt === due.at) return;
    this.clearTimer();
    this.timerAt = due.at;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.run(this.dueAt().reason);
    }, Math.max(0, due.at - this.clock.now()));
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  private run(reason: RunReason): void {
    if (this.stopped) return;
    this.requested = false;
    this.retryAt = undefined;
    const start = this.clock.now();
    this.running = (async () => {
      let ok = true;
      try {
        await this.fn(reason);
      } catch (err) {
        ok = false;
        this.failures++;
        const delay = Math.min(this.options.maxIntervalMs, (this.options.retryInitialMs ?? 1_000) * 2 ** (this.failures - 1));
        this.logger?.warn({ error: err instanceof Error ? err.message : String(err), failures: this.failures, retryInMs: delay }, 'sync failed; will retry');
        this.retryAt = this.clock.now() + delay;
      }
      const end = this.clock.now();
      this.lastEnd = end;
      this.periodicFrom = end;
      this.runs++;
      if (ok) {
        this.failures = 0;
        this.adapt(end - start);
      }
    })().finally(() => {
      this.running = undefined;
      this.schedule();
    });
  }

  private adapt(durationMs: number): void {
    const a = this.options.adaptive;
    if (a === undefined) return;
    const base = this.options.minIntervalMs;
    const target = Math.min(a.maxMinIntervalMs, durationMs * a.ratio);
    const before = this.minInterval;
    // Stretch at once to what the last run needs; shrink by halves, never below the base.
    this.minInterval = target > this.minInterval ? target : Math.max(base, target, this.minInterval / 2);
    if (this.minInterval !== before) {
      this.logger?.debug?.({ minIntervalMs: Math.round(this.minInterval), lastRunMs: Math.round(durationMs) }, 'adaptive minimum sync interval');
    }
  }
}
