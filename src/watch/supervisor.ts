/**
 * Supervision of one list/watch chain: restart after failure with exponential backoff,
 * and a watchdog that restarts a watch gone silent.
 *
 * Why: in @kubernetes/client-node 1.4.0 an informer that hits any error other than 410
 * stops for good, and a watch has no client-side timeout, so a half-open connection (a
 * frozen or partitioned API server) stalls without an error. This class holds the policy
 * only; `informer.ts` wires it to the informer. It never creates a second chain while one
 * runs: every restart halts the current chain first (its late results are ignored).
 */
import { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import type { Clock, TimerHandle } from './clock.js';
import { silentLogger, type WatchLogger } from './logger.js';

export interface SupervisionOptions {
  readonly backoff: BackoffOptions;
  /**
   * A watch with no event, bookmark, connect or clean close for this long is restarted
   * (from its last resourceVersion). Must exceed the longest server-side watch timeout
   * (2 × watchTimeoutSeconds) unless the API server sends bookmarks (its watch cache
   * does, about once a minute).
   */
  readonly watchdogMs: number;
  /** A list that has not answered after this long is abandoned and retried with backoff. */
  readonly listTimeoutMs: number;
  /** Each watch asks the server to end it after a random time in [t, 2t) seconds. */
  readonly watchTimeoutSeconds: number;
  /** A watch that ends sooner than this without any event counts as a failure. */
  readonly minWatchMs: number;
}

export const DEFAULT_SUPERVISION: SupervisionOptions = {
  backoff: DEFAULT_BACKOFF,
  watchdogMs: 150_000,
  listTimeoutMs: 60_000,
  watchTimeoutSeconds: 300,
  minWatchMs: 1_000,
};

/** What the supervisor drives. */
export interface Chain {
  /** Begins a chain: list (when there is no resourceVersion yet) then watch. */
  run(): void;
  /** Abandons the current chain: aborts its requests; whatever it reports later is ignored. */
  halt(): void;
}

/** starting: run() called, nothing heard yet. backoff: waiting to restart. */
export type Phase = 'idle' | 'starting' | 'listing' | 'watching' | 'backoff' | 'stopped';

export type RestartReason = 'error' | 'watchdog' | 'short-watch';

export class Supervisor {
  private state: Phase = 'idle';
  private lastActivity = 0;
  private retryTimer: TimerHandle | undefined;
  private watchdogTimer: TimerHandle | undefined;
  private readonly backoff: Backoff;
  /** Restarts after a failure, by reason. */
  readonly restarts: Record<RestartReason, number> = { error: 0, watchdog: 0, 'short-watch': 0 };
  lastError: string | undefined;

  constructor(
    readonly name: string,
    private readonly chain: Chain,
    private readonly options: SupervisionOptions,
    private readonly clock: Clock,
    private readonly logger: WatchLogger = silentLogger,
    random: () => number = Math.random,
    /** Told about every failure, before the restart is scheduled. */
    private readonly onFailure?: (reason: RestartReason, message: string) => void,
  ) {
    this.backoff = new Backoff(options.backoff, clock, random);
  }

  get phase(): Phase {
    return this.state;
  }

  start(): void {
    if (this.state !== 'idle') return;
    this.begin();
  }

  /** Shutdown: halts the chain; errors it reports afterwards are not failures. */
  stop(): void {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.clearTimers();
    this.chain.halt();
  }

  /** The chain started a list. */
  listing(): void {
    if (this.state === 'stopped' || this.state === 'backoff') return;
    this.state = 'listing';
    this.activity();
  }

  /** The chain is opening (or has opened) a watch. */
  watching(): void {
    if (this.state === 'stopped' || this.state === 'backoff') return;
    this.state = 'watching';
    this.activity();
  }

  /** Any sign of life: a watch event or bookmark, a connect, a clean close. */
  activity(): void {
    this.lastActivity = this.clock.now();
  }

  /**
   * A watch ended without error after `durationMs` with `events` events. Returns true
   * when that counts as a failure (the chain has then been halted and a restart is
   * scheduled): a server that accepts watches and closes them at once must not make the
   * informer reconnect in a tight loop.
   */
  watchEnded(durationMs: number, events: number): boolean {
    if (this.state === 'stopped' || this.state === 'backoff') return false;
    this.activity();
    if (events > 0 || durationMs >= this.options.minWatchMs) return false;
    this.restart('short-watch', `watch ended after ${Math.round(durationMs)} ms without an event`);
    return true;
  }

  /** The chain stopped on an error (client-node's informer does not go on by itself). */
  failed(err: unknown): void {
    if (this.state === 'stopped' || this.state === 'backoff') return;
    this.restart('error', describeError(err));
  }

  private begin(): void {
    this.state = 'starting';
    this.activity();
    this.armWatchdog(this.options.watchdogMs);
    this.chain.run();
  }

  private restart(reason: RestartReason, message: string): void {
    this.chain.halt();
    this.clearTimers();
    this.state = 'backoff';
    this.restarts[reason]++;
    this.lastError = message;
    const delay = this.backoff.next();
    this.logger.warn({ informer: this.name, reason, error: message, retryInMs: delay, attempt: this.backoff.attempts }, 'watch restart scheduled');
    this.onFailure?.(reason, message);
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = undefined;
      if (this.state === 'backoff') this.begin();
    }, delay);
  }

  private armWatchdog(ms: number): void {
    if (this.watchdogTimer !== undefined) this.clock.clearTimeout(this.watchdogTimer);
    this.watchdogTimer = this.clock.setTimeout(() => this.checkWatchdog(), Math.max(0, ms));
  }

  /** Listing is bounded by listTimeoutMs instead; only a silent watch (or start) trips it. */
  private checkWatchdog(): void {
    this.watchdogTimer = undefined;
    if (this.state === 'stopped' || this.state === 'backoff' || this.state === 'idle') return;
    const silent = this.clock.now() - this.lastActivity;
    if (this.state !== 'listing' && silent >= this.options.watchdogMs) {
      this.restart('watchdog', `no event for ${Math.round(silent / 1000)} s`);
      return;
    }
    this.armWatchdog(this.state === 'listing' ? this.options.watchdogMs : this.options.watchdogMs - silent);
  }

  private clearTimers(): void {
    if (this.retryTimer !== undefined) this.clock.clearTimeout(this.retryTimer);
    if (this.watchdogTimer !== undefined) this.clock.clearTimeout(this.watchdogTimer);
    this.retryTimer = undefined;
    this.watchdogTimer = undefined;
  }
}

export function describeError(err: unknown): string {
  // Not `instanceof Error`: errors from another realm (node core under jest's VM modules)
  // fail that test; anything with a message is treated as an error.
  if (typeof err === 'object' && err !== null) {
    const e = err as { message?: unknown; statusCode?: unknown; code?: unknown };
    const code = e.statusCode ?? e.code;
    if (typeof e.message === 'string' && e.message !== '') {
      return code !== undefined && !e.message.includes(String(code)) ? `${e.message} (${String(code)})` : e.message;
    }
    if (code !== undefined) return String(code);
    try { return JSON.stringify(err); } catch { return String(err); }
  }
  return String(err);
}
