/**
 * The UDP conntrack cleanup as a SyncObserver: after every successful sync of any
 * backend, the index of UDP frontends follows the model (conntrack-cleanup.ts), and when
 * something UDP changed (or a previous run failed, or `resyncMs` passed: a reconciler,
 * as upstream's) each family that has a UDP frontend, or had one, is listed once and its
 * stale flows deleted. A node without UDP Services never lists anything.
 *
 * The conntrack tool is required for this (upstream talks netlink and always has it).
 * Decision: when it is missing, kpx logs one error at start, sets
 * `kpx_conntrack_tool_available` 0, counts `kpx_conntrack_reconciler_errors_total
 * {reason="unavailable"}` and goes on proxying without UDP cleanup — a node without
 * conntrack-tools must not lose its Services over it; the metric makes it visible.
 */
import type { Counter, Gauge, Histogram } from 'prom-client';
import type { IPFamily } from '../model/types.js';
import { IP_FAMILIES } from '../model/types.js';
import type { Logger } from '../observe/logger.js';
import { UdpFrontendIndex } from './conntrack-cleanup.js';
import { ConntrackUnavailableError, type ConntrackKernel } from './kernel/conntrack.js';
import type { SyncObserver, SyncResult } from './types.js';

export interface ConntrackCleanupMetrics {
  readonly conntrackReconcileDuration: Histogram<'ip_family'>;
  readonly conntrackDeletedEntries: Counter<'ip_family'>;
  readonly conntrackErrors: Counter<'reason'>;
  readonly conntrackAvailable: Gauge;
}

export interface ConntrackCleanupOptions {
  readonly kernel: ConntrackKernel;
  readonly logger: Logger;
  readonly metrics?: ConntrackCleanupMetrics;
  /** Milliseconds, monotonic enough for durations (default performance.now). */
  readonly now?: () => number;
  /** Clean at least this often while there are UDP frontends, even without changes (default 30 s; 0: only on changes). */
  readonly resyncMs?: number;
}

/** What one run did in one family (tests and figures). */
export interface CleanupRun {
  readonly family: IPFamily;
  readonly listed: number;
  readonly stale: number;
  readonly deleted: number;
  readonly ms: number;
}

const LABEL: Record<IPFamily, string> = { ipv4: 'IPv4', ipv6: 'IPv6' };

export class ConntrackCleanup implements SyncObserver {
  readonly name = 'udp-conntrack-cleanup';
  private readonly index = new UdpFrontendIndex();
  private readonly now: () => number;
  private available: boolean | undefined;
  private due: Record<IPFamily, boolean> = { ipv4: false, ipv6: false };
  private lastRun: Record<IPFamily, number> = { ipv4: -Infinity, ipv6: -Infinity };
  /** The last run's result per family (undefined: not run). */
  last: CleanupRun[] = [];

  constructor(private readonly options: ConntrackCleanupOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  /** Checks the tool once (at start); false: cleanup disabled, logged and counted. */
  async probe(): Promise<boolean> {
    const { kernel, logger, metrics } = this.options;
    try {
      const version = await kernel.version();
      this.available = true;
      metrics?.conntrackAvailable.set(1);
      logger.info({ version }, 'conntrack found: stale UDP flows are cleaned up after each sync');
    } catch (err) {
      this.available = false;
      metrics?.conntrackAvailable.set(0);
      metrics?.conntrackErrors.inc({ reason: 'unavailable' });
      logger.error({ error: (err as Error).message },
        'conntrack tool unavailable: stale UDP conntrack flows will NOT be cleaned up (UDP clients may stay stuck on removed endpoints); proxying goes on');
    }
    return this.available;
  }

  async afterSync(result: SyncResult): Promise<void> {
    const { changed } = this.index.update(result.model, result.affected);
    if (this.available === undefined) await this.probe();
    if (this.available !== true) return;
    this.last = [];
    const now = this.now();
    const resync = this.options.resyncMs ?? 30_000;
    for (const family of IP_FAMILIES) {
      if (!this.index.wants(family)) continue;
      const periodic = resync > 0 && now - this.lastRun[family] >= resync;
      if (!changed && !this.due[family] && !periodic) continue;
      this.due[family] = true;
      await this.run(family);
    }
  }

  private async run(family: IPFamily): Promise<void> {
    const { kernel, logger, metrics } = this.options;
    const start = this.now();
    let listed = 0;
    let stale = 0;
    let deleted = 0;
    let failed = false;
    try {
      const listing = await kernel.listUdp(family);
      listed = listing.flows.length;
      if (listing.unparsed > 0) logger.warn({ family, lines: listing.unparsed }, 'conntrack listing lines not understood (skipped)');
      const groups = this.index.stale(listing.flows);
      for (const g of groups) {
        stale += g.flows;
        try {
          const n = await kernel.deleteUdp(g);
          deleted += n;
          logger.debug({ family, frontend: g.frontend, replySrc: g.replySrc, replySport: g.replySport, deleted: n }, 'deleted stale UDP conntrack flows');
        } catch (err) {
          failed = true;
          metrics?.conntrackErrors.inc({ reason: err instanceof ConntrackUnavailableError ? 'unavailable' : 'delete' });
          logger.error({ family, frontend: g.frontend, replySrc: g.replySrc, error: (err as Error).message }, 'could not delete stale UDP conntrack flows');
        }
      }
    } catch (err) {
      failed = true;
      metrics?.conntrackErrors.inc({ reason: err instanceof ConntrackUnavailableError ? 'unavailable' : 'list' });
      logger.error({ family, error: (err as Error).message }, 'could not list UDP conntrack flows');
    }
    const ms = this.now() - start;
    metrics?.conntrackReconcileDuration.observe({ ip_family: LABEL[family] }, ms / 1000);
    if (deleted > 0) metrics?.conntrackDeletedEntries.inc({ ip_family: LABEL[family] }, deleted);
    this.lastRun[family] = start;
    if (!failed) {
      this.due[family] = false;
      this.index.cleaned(family);
    }
    this.last.push({ family, listed, stale, deleted, ms });
    const fields = { family, listed, stale, deleted, ms: Math.round(ms) };
    if (deleted > 0) logger.info(fields, 'stale UDP conntrack flows deleted');
    else logger.debug(fields, 'UDP conntrack cleanup done');
  }
}
