/**
 * The nftables proxier: ClusterView + changes → model (incremental) → pieces → diff →
 * one `nft -f -` transaction. Remembers what it applied; never lists the kernel on a sync.
 *
 * A full sync (one atomic replacement of kpx's tables) happens on the first sync, after
 * any failure (memory dropped), when asked (`request.full`), when the options or the set
 * of tables change, when a change cannot be expressed as a diff, and every
 * `fullSyncIntervalMs` (hourly by default). Everything else is a partial transaction, or
 * no kernel call at all when nothing changed.
 */
import { performance } from 'node:perf_hooks';
import type { IncrementalModel } from '../../model/incremental.js';
import { advanceModel } from '../model-step.js';
import type { IPFamily } from '../../model/types.js';
import { nftFamily } from '../../render/nftables/names.js';
import type { NftFamily } from '../../render/nftables/types.js';
import { createNftKernel, type NftKernel } from '../kernel/nft.js';
import type { Proxier, SyncRequest, SyncResult } from '../types.js';
import { DesiredTable } from './desired.js';
import { diffTables, fullScript, type AppliedTable, type Plan } from './diff.js';
import { servicePieces, skeleton } from './pieces.js';

/** The subset of pino the proxier logs through. */
export interface Logger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface NftablesProxierOptions {
  /** Default: `nft` on PATH (createNftKernel()). */
  readonly kernel?: NftKernel;
  /** A full replacement at least this often (ms); default one hour. */
  readonly fullSyncIntervalMs?: number;
  /** Milliseconds clock for the full-sync interval; default Date.now. */
  readonly now?: () => number;
  readonly logger?: Logger;
}

export const DEFAULT_FULL_SYNC_INTERVAL_MS = 60 * 60 * 1000;

const FAMILIES: readonly IPFamily[] = ['ipv4', 'ipv6'];

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export interface NftablesProxier extends Proxier {
  /** The model as it stands (tests compare it with a fresh build). Undefined before the first sync. */
  readonly model: IncrementalModel | undefined;
  /**
   * Checks the nft binary (present, recent enough) and returns its version; throws
   * NftUnavailableError. The first sync runs it if the caller did not.
   */
  checkKernel(): Promise<string>;
}

export function createNftablesProxier(opts: NftablesProxierOptions): NftablesProxier {
  const kernel = opts.kernel ?? createNftKernel();
  let version: string | undefined;
  const now = opts.now ?? Date.now;
  const interval = opts.fullSyncIntervalMs ?? DEFAULT_FULL_SYNC_INTERVAL_MS;
  const log = opts.logger ?? silent;

  let model: IncrementalModel | undefined;
  let optionsKey = '';
  let tables = new Map<IPFamily, DesiredTable>();
  let applied: Map<NftFamily, AppliedTable> | undefined;
  let lastFull = -Infinity;

  const forget = (): void => {
    model = undefined;
    tables = new Map();
    applied = undefined;
  };

  /** New tables with every Service's pieces. */
  const rebuildTables = (m: IncrementalModel): void => {
    const next = new Map<IPFamily, DesiredTable>();
    for (const f of FAMILIES) {
      const t = new DesiredTable(nftFamily(f), skeleton(m.family(f)));
      t.tracking = false;
      for (const key of m.keys()) t.setService(`${key}:`, servicePieces(m.ports(key, f), t.family));
      t.clearDirty();
      t.tracking = true;
      next.set(f, t);
    }
    tables = next;
  };

  /** The tables to program: ip always; ip6 when the node has an IPv6 address or a Service has IPv6 ports. */
  const wanted = (m: IncrementalModel): DesiredTable[] =>
    FAMILIES.filter((f) => f === 'ipv4' || m.family(f).nodeIPs.length > 0 || (tables.get(f)?.ports ?? 0) > 0)
      .map((f) => tables.get(f)!);

  return {
    backend: 'nftables',
    get model() { return model; },
    async checkKernel() {
      version ??= await kernel.version();
      return version;
    },
    invalidate() {
      applied = undefined;
    },
    async sync(req: SyncRequest): Promise<SyncResult> {
      if (version === undefined) await this.checkKernel();
      const t0 = performance.now();
      try {
        const step = advanceModel(model, optionsKey, req);
        if (step.optionsChanged) applied = undefined; // fixed chains follow the options: replace
        ({ model, optionsKey } = step);
        const affected = step.affected;
        const all = affected === undefined;
        const m = step.model;
        const t1 = performance.now();
        if (affected === undefined) rebuildTables(m);
        else for (const k of affected) for (const f of FAMILIES) tables.get(f)!.setService(`${k}:`, servicePieces(m.ports(k, f), nftFamily(f)));
        const t2 = performance.now();
        const desired = wanted(m);
        let full = applied === undefined || req.full === true || now() - lastFull >= interval ||
          desired.length !== applied.size || desired.some((d) => !applied!.has(d.family));
        let plan: Plan | undefined;
        if (!full) {
          plan = diffTables(desired, applied!, all);
          full = plan.needFull;
        }
        const t3 = performance.now();
        let kind: SyncResult['kind'];
        let ops: number;
        if (full) {
          const f = fullScript(desired);
          applied = undefined;
          await kernel.apply(f.script);
          applied = f.applied;
          lastFull = now();
          kind = 'full';
          ops = f.ops;
        } else if (plan!.ops === 0) {
          plan!.commit();
          kind = 'noop';
          ops = 0;
        } else {
          await kernel.apply(plan!.script);
          plan!.commit();
          kind = 'partial';
          ops = plan!.ops;
        }
        for (const t of tables.values()) t.clearDirty();
        const t4 = performance.now();
        const timings = { model: t1 - t0, render: t2 - t1, diff: t3 - t2, apply: t4 - t3 };
        log.debug({ kind, kernelOps: ops, elements: plan?.elements, timings }, 'nftables sync');
        return { kind, kernelOps: ops, problems: m.problems(), timings, model: m, affected: affected ?? 'all' };
      } catch (err) {
        forget();
        log.warn({ err }, 'nftables sync failed: memory of applied state dropped, next sync is full');
        throw err;
      }
    },
  };
}
