/**
 * The controller of `kpx run`: watch layer → runner → proxier, plus health, metrics and
 * drift. Backend-neutral: it knows only the Proxier contract (types.ts).
 *
 * - Nothing is synced before the layer is synced (every informer listed AND this Node
 *   exists); until then it logs what it waits for.
 * - Every layer change queues an update (health) and requests a run; the run commits
 *   the layer (apply()) and hands the proxier every change since the last SUCCESSFUL
 *   sync ('all' after a failure, on the first sync and when the options changed).
 * - Drift (someone else changed kpx's tables) → the proxier forgets what it applied, the
 *   next run is full.
 * - stop() waits for a sync in progress and leaves the kernel's rules as they are.
 */
import type { ProxyOptions } from '../model/types.js';
import type { ProxyHealth } from '../observe/health.js';
import type { Logger } from '../observe/logger.js';
import type { Metrics } from '../observe/metrics.js';
import type { ChangeSet } from '../watch/layer.js';
import type { Clock } from '../watch/clock.js';
import type { ProgrammingLatency } from './latency.js';
import { ProgrammedFamilies } from './families.js';
import { BoundedFrequencyRunner, type AdaptiveOptions } from './runner.js';
import type { ClusterView, Proxier, SyncChanges, SyncObserver, SyncResult } from './types.js';

/** What the controller needs of the watch layer (WatchLayer implements it). */
export interface ControllerSource extends ClusterView {
  start(): void;
  stop(): Promise<void>;
  onChange(listener: () => void): () => void;
  apply(): ChangeSet;
  readonly synced: boolean;
  readonly listed: boolean;
  readonly nodeSeen: boolean;
}

export interface ControllerOptions {
  /** Options without localAddresses (read again on every sync). */
  readonly proxyOptions: ProxyOptions;
  readonly localAddresses?: () => readonly string[];
  readonly syncPeriodMs: number;
  readonly minSyncPeriodMs: number;
  /** A full replacement at least this often (default 1 h). */
  readonly fullSyncPeriodMs?: number;
  readonly retryInitialMs?: number;
  readonly adaptive?: AdaptiveOptions;
  /** How long a sync counts as "recent" for attributing nft monitor events to it. */
  readonly ownSyncGraceMs?: number;
}

export interface ControllerDeps {
  readonly source: ControllerSource;
  readonly proxier: Proxier;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly health: ProxyHealth;
  readonly latency?: ProgrammingLatency;
  /** Run in order after every successful sync (conntrack cleanup, health check servers). */
  readonly observers?: readonly SyncObserver[];
}

export class Controller {
  private readonly runner: BoundedFrequencyRunner;
  private carried: Set<string> | 'all' = 'all';
  private nodeChanged = false;
  private fullNext = true;
  /** Bumped by every drift(): a drift seen during a sync is not cleared by that sync's end. */
  private driftGen = 0;
  private lastFullAt = -Infinity;
  private lastOptionsKey: string | undefined;
  private knownProblems = new Set<string>();
  private syncing: { full: boolean } | undefined;
  private lastSyncEnd: { at: number; full: boolean } | undefined;
  private offChange: (() => void) | undefined;
  private waitTimer: ReturnType<Clock['setTimeout']> | undefined;
  private stopped = false;
  private running = false;
  private syncsDone = 0;
  private readonly families = new ProgrammedFamilies();

  constructor(private readonly deps: ControllerDeps, private readonly options: ControllerOptions) {
    this.runner = new BoundedFrequencyRunner(() => this.syncOnce(), {
      minIntervalMs: options.minSyncPeriodMs,
      maxIntervalMs: options.syncPeriodMs,
      ...(options.retryInitialMs !== undefined ? { retryInitialMs: options.retryInitialMs } : {}),
      ...(options.adaptive !== undefined ? { adaptive: options.adaptive } : {}),
    }, deps.clock, deps.logger);
  }

  /** Starts watching; the first sync follows once the layer is synced. */
  start(): void {
    const { source, health, logger } = this.deps;
    this.offChange = source.onChange(() => {
      health.queuedUpdate();
      if (!this.running) {
        this.running = true;
        logger.info({ node: this.options.proxyOptions.nodeName }, 'cluster state listed and Node found: starting to sync');
        this.runner.start();
      }
      this.runner.request();
    });
    source.start();
    this.logWhileWaiting();
  }

  /** Someone else changed kpx's kernel objects: forget them, replace them soon. */
  drift(reason: string, details: Record<string, unknown> = {}): void {
    if (this.stopped) return;
    this.deps.logger.warn({ reason, ...details }, 'drift: kpx rules were changed by someone else; repairing with a full sync');
    this.deps.metrics.driftRepairs.inc();
    this.deps.proxier.invalidate();
    this.fullNext = true;
    this.driftGen++;
    this.deps.health.queuedUpdate();
    this.runner.request();
  }

  /** A sync is applying now or ended within the grace period (for nft monitor attribution). */
  recentSync(): { full: boolean } | undefined {
    if (this.syncing !== undefined) return this.syncing;
    const last = this.lastSyncEnd;
    if (last !== undefined && this.deps.clock.now() - last.at <= (this.options.ownSyncGraceMs ?? 250)) return { full: last.full };
    return undefined;
  }

  /** Successful syncs so far. */
  get syncs(): number {
    return this.syncsDone;
  }

  /** Stops watching and syncing; waits for a sync in progress. Kernel rules stay. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.waitTimer !== undefined) this.deps.clock.clearTimeout(this.waitTimer);
    this.offChange?.();
    await this.runner.stop();
    await this.deps.source.stop();
  }

  private logWhileWaiting(): void {
    this.waitTimer = this.deps.clock.setTimeout(() => {
      this.waitTimer = undefined;
      const { source, logger } = this.deps;
      if (this.stopped || source.synced) return;
      const node = this.options.proxyOptions.nodeName;
      if (source.listed && !source.nodeSeen) logger.warn({ node }, `waiting for Node "${node}" to exist before programming any rule`);
      else logger.info({ node }, 'waiting for the first list of Services, EndpointSlices and this Node');
      this.logWhileWaiting();
    }, 5_000);
  }

  private currentOptions(): ProxyOptions {
    const local = this.options.localAddresses?.();
    return local === undefined ? this.options.proxyOptions : { ...this.options.proxyOptions, localAddresses: local };
  }

  private async syncOnce(): Promise<void> {
    if (this.stopped) return;
    const { source, proxier, clock, logger, metrics, health } = this.deps;
    const committed = source.apply();
    health.syncNode(source.node());
    if (this.carried !== 'all') for (const k of committed.services) this.carried.add(k);
    this.nodeChanged ||= committed.node;
    this.deps.latency?.changed(committed.services);

    const options = this.currentOptions();
    const optionsKey = JSON.stringify(options);
    if (this.lastOptionsKey !== undefined && optionsKey !== this.lastOptionsKey) {
      logger.info({ localAddresses: options.localAddresses }, 'proxy options changed (local addresses): recomputing everything');
      this.carried = 'all';
    }
    const now = clock.now();
    const driftGen = this.driftGen;
    const full = this.fullNext || now - this.lastFullAt >= (this.options.fullSyncPeriodMs ?? 3_600_000);
    const changes: SyncChanges | 'all' = this.carried === 'all' ? 'all' : { services: this.carried, node: this.nodeChanged };

    this.syncing = { full: full || changes === 'all' };
    const start = clock.now();
    let result: SyncResult;
    try {
      result = await proxier.sync({ view: source, changes, options, ...(full ? { full: true } : {}) });
    } catch (err) {
      // Nothing was half-applied; the proxier forgot its state: recompute everything next.
      this.carried = 'all';
      metrics.syncFailures.inc();
      logger.error({ error: err instanceof Error ? err.message : String(err), changes: changes === 'all' ? 'all' : changes.services.size }, 'sync failed');
      throw err;
    } finally {
      this.lastSyncEnd = { at: clock.now(), full: this.syncing.full };
      this.syncing = undefined;
    }
    const seconds = (clock.now() - start) / 1000;
    this.lastOptionsKey = optionsKey;
    this.carried = new Set();
    this.nodeChanged = false;
    if (full) {
      this.lastFullAt = now;
      if (driftGen === this.driftGen) this.fullNext = false;
    }
    this.syncsDone++;
    health.updated(this.families.after(result));
    metrics.syncDuration.observe(seconds);
    metrics.lastSyncTimestamp.set(Date.now() / 1000);
    metrics.syncs.inc({ kind: result.kind });
    metrics.kernelOperations.inc(result.kernelOps);
    this.deps.latency?.synced(source);
    this.reportProblems(result);
    for (const o of this.deps.observers ?? []) {
      try {
        await o.afterSync(result);
      } catch (err) {
        logger.error({ observer: o.name, error: err instanceof Error ? err.message : String(err) }, 'after-sync step failed');
      }
    }
    const fields = {
      kind: result.kind, kernelOps: result.kernelOps, changedServices: changes === 'all' ? 'all' : changes.services.size,
      ms: Math.round(seconds * 1000), timings: result.timings,
    };
    if (this.syncsDone === 1) logger.info(fields, 'first sync done: rules programmed');
    else if (result.kind === 'full') logger.info(fields, 'full sync done');
    else logger.debug(fields, 'sync done');
  }

  /** Each problem is logged and counted once, when it first appears. */
  private reportProblems(result: SyncResult): void {
    const next = new Set<string>();
    for (const p of result.problems) {
      const key = `${p.kind}|${p.object}|${p.path}|${p.message}`;
      next.add(key);
      if (this.knownProblems.has(key) || p.effect === 'not-proxied') continue;
      this.deps.logger.warn({ kind: p.kind, object: p.object, path: p.path, effect: p.effect }, p.message);
      this.deps.metrics.invalidObjects.inc({ kind: p.kind, effect: p.effect });
    }
    this.knownProblems = next;
  }
}
