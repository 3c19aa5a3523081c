/**
 * Exponential backoff with a cap, jitter and a reset after a quiet period, as client-go's
 * reflector uses (800 ms → 30 s, reset after 2 min without failure).
 */
import type { Clock } from './clock.js';

export interface BackoffOptions {
  /** First delay. */
  readonly initialMs: number;
  /** Largest delay. */
  readonly maxMs: number;
  /** Multiplier per consecutive failure. */
  readonly factor: number;
  /** Each delay is stretched by a random fraction in [0, jitter). 0 = exact delays. */
  readonly jitter: number;
  /** A failure this long after the previous one starts again at `initialMs`. */
  readonly resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = {
  initialMs: 800,
  maxMs: 30_000,
  factor: 2,
  jitter: 0.2,
  resetAfterMs: 120_000,
};

export class Backoff {
  private failures = 0;
  private lastFailureAt: number | undefined;

  constructor(
    private readonly options: BackoffOptions,
    private readonly clock: Clock,
    private readonly random: () => number = Math.random,
  ) {}

  /** Records a failure and returns how long to wait before the next attempt. */
  next(): number {
    const now = this.clock.now();
    if (this.lastFailureAt !== undefined && now - this.lastFailureAt >= this.options.resetAfterMs) this.failures = 0;
    this.lastFailureAt = now;
    const { initialMs, maxMs, factor, jitter } = this.options;
    const base = Math.min(maxMs, initialMs * factor ** this.failures);
    this.failures++;
    return Math.round(Math.min(maxMs, base * (1 + jitter * this.random())));
  }

  /** Consecutive failures counted so far (0 after a reset). */
  get attempts(): number {
    return this.failures;
  }
}
