/**
 * The iptables proxier: ClusterView + changes → model (incremental) → per-Service lines
 * → the chains that differ from what kpx applied → one `iptables-restore -w 5 --noflush`
 * per family. Remembers what it applied; never lists the kernel on an incremental sync.
 *
 * Full sync (every kpx chain written, chains kpx does not want any more deleted — also
 * those a previous run left, found with one `iptables-save -t nat` — the canary chains
 * created, the jumps from the built-in chains ensured with -C/-I): the first sync, after
 * any failure, on `request.full`, after `invalidate()`, when the options, the node, the
 * families or large-cluster mode change, and every `fullSyncIntervalMs`. Otherwise a
 * partial restore: the changed dispatch chains and the changed Services' chains, stale
 * ones flushed and deleted in the same input; nothing changed: no kernel call.
 * Foreign chains, rules and built-in policies are never named, so never changed.
 */
import { performance } from 'node:perf_hooks';
import type { IncrementalModel } from '../../model/incremental.js';
import { advanceModel } from '../model-step.js';
import type { IPFamily, ServicePort } from '../../model/types.js';
import { C, isServiceChainName } from '../../render/iptables/names.js';
import type { IptablesKernel } from '../kernel/iptables.js';
import type { Logger } from '../nftables/proxier.js';
import type { Proxier, SyncRequest, SyncResult } from '../types.js';
import { FamilyDesired } from './desired.js';
import type { IptTableName } from './pieces.js';
import { CANARY, CANARY_TABLES, commitPlan, emptyApplied, planFamily, savedChains, type Applied, type FamilyPlan } from './plan.js';

export interface IptablesProxierOptions {
  readonly kernel: IptablesKernel;
  /** A full sync at least this often (ms); default one hour (upstream's FullSyncPeriod). */
  readonly fullSyncIntervalMs?: number;
  readonly now?: () => number;
  readonly logger?: Logger;
  /** kube-proxy's largeClusterEndpointsThreshold (tests); default 1000. */
  readonly largeClusterEndpointsThreshold?: number;
}

export interface IptablesProxier extends Proxier {
  /** The model as it stands; undefined before the first sync. */
  readonly model: IncrementalModel | undefined;
  /**
   * The canary check (upstream's iptables Monitor): every `KUBE-PROXY-CANARY` chain that
   * the last full sync created still exists. Returns the missing `family/table`s ([]:
   * all there, or nothing applied yet). One `iptables -n -L` per table and family.
   */
  checkCanaries(): Promise<string[]>;
}

export const DEFAULT_FULL_SYNC_INTERVAL_MS = 60 * 60 * 1000;
const FAMILIES: readonly IPFamily[] = ['ipv4', 'ipv6'];
const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** kpx's own per-Service chains (and KPX-*), as found in a listing. */
const ours = (name: string): boolean => isServiceChainName(name) || name.startsWith('KPX-');

export function createIptablesProxier(opts: IptablesProxierOptions): IptablesProxier {
  const { kernel } = opts;
  const now = opts.now ?? Date.now;
  const interval = opts.fullSyncIntervalMs ?? DEFAULT_FULL_SYNC_INTERVAL_MS;
  const log = opts.logger ?? silent;

  let model: IncrementalModel | undefined;
  let optionsKey = '';
  let families = new Map<IPFamily, FamilyDesired>();
  let applied: Map<IPFamily, Applied> | undefined;
  let lastFull = -Infinity;

  const forget = (): void => {
    model = undefined;
    families = new Map();
    applied = undefined;
  };

  const build = (m: IncrementalModel): void => {
    families = new Map();
    for (const f of FAMILIES) {
      const d = new FamilyDesired(m.family(f), opts.largeClusterEndpointsThreshold);
      const all = new Map<string, readonly ServicePort[]>();
      for (const key of m.keys()) all.set(key, m.ports(key, f));
      const ctx = d.context(d.terseFor(d.endpointsWith(all)));
      for (const [key, ports] of all) d.setService(key, ports, ctx);
      families.set(f, d);
    }
  };

  /** ipv4 always; ipv6 with a node IPv6 address, IPv6 ports, or once programmed. */
  const wanted = (): IPFamily[] => FAMILIES.filter((f) => f === 'ipv4' || (families.get(f)!.fs.nodeIPs.length > 0) ||
    families.get(f)!.ports > 0 || applied?.has(f) === true);

  const fullPlans = async (fams: readonly IPFamily[]): Promise<Map<IPFamily, FamilyPlan>> => {
    const plans = new Map<IPFamily, FamilyPlan>();
    for (const f of fams) {
      const d = families.get(f)!;
      const prev = applied?.get(f) ?? emptyApplied();
      let listed: string[] = [];
      try {
        listed = savedChains(await kernel.save(f, 'nat')).filter(ours);
      } catch (err) {
        log.warn({ family: f, error: (err as Error).message }, 'iptables-save failed: chains left by an earlier run are not deleted this time');
      }
      const candidates = {
        filter: [...d.chainNames('filter'), ...prev.filter.keys()],
        nat: [...d.chainNames('nat'), ...prev.nat.keys(), ...listed],
      };
      plans.set(f, planFamily(candidates, (t, n) => d.chain(t, n), emptyApplied(), true));
    }
    return plans;
  };

  const partialPlans = (fams: readonly IPFamily[], touched: Map<IPFamily, Set<string>> | 'all'): Map<IPFamily, FamilyPlan> => {
    const plans = new Map<IPFamily, FamilyPlan>();
    for (const f of fams) {
      const d = families.get(f)!;
      const prev = applied!.get(f)!;
      const candidates: Record<IptTableName, Iterable<string>> = touched === 'all'
        ? { filter: [...d.chainNames('filter'), ...prev.filter.keys()], nat: [...d.chainNames('nat'), ...prev.nat.keys()] }
        // Options changes are full syncs, so the fixed chains applied are the skeleton's
        // (KPX-MASQ-NOT-LOCAL comes and goes with the Services that use it).
        : { filter: d.changedFixedChains('filter'), nat: [...d.changedFixedChains('nat'), C.masqNotLocal, ...touched.get(f)!] };
      plans.set(f, planFamily(candidates, (t, n) => d.chain(t, n), prev, false));
    }
    return plans;
  };

  return {
    backend: 'iptables',
    get model() { return model; },
    invalidate() {
      applied = undefined;
    },
    async checkCanaries() {
      const missing: string[] = [];
      if (applied === undefined) return missing;
      for (const f of applied.keys()) {
        for (const t of CANARY_TABLES) if (!(await kernel.chainExists(f, t, CANARY))) missing.push(`${f}/${t}`);
      }
      return missing;
    },
    async sync(req: SyncRequest): Promise<SyncResult> {
      const t0 = performance.now();
      try {
        const step = advanceModel(model, optionsKey, req);
        if (step.optionsChanged) applied = undefined; // fixed chains follow the options: replace
        ({ model, optionsKey } = step);
        const affected = step.affected;
        let touched: Map<IPFamily, Set<string>> | 'all' = 'all';
        let needFull = false;
        const m = step.model;
        const t1 = performance.now();
        if (affected === undefined) {
          build(m);
        } else {
          touched = new Map();
          for (const f of FAMILIES) {
            const d = families.get(f)!;
            const changes = new Map<string, readonly ServicePort[]>();
            for (const k of affected) changes.set(k, m.ports(k, f));
            const terse = d.terseFor(d.endpointsWith(changes));
            if (terse !== d.terse) needFull = true; // every chain's comments change: rebuilt below
            const ctx = d.context(terse);
            const names = new Set<string>();
            for (const [k, ports] of changes) for (const n of d.setService(k, ports, ctx)) names.add(n);
            touched.set(f, names);
          }
          if (needFull) build(m);
        }
        const t2 = performance.now();
        const fams = wanted();
        const full = applied === undefined || needFull || req.full === true || now() - lastFull >= interval ||
          fams.length !== applied.size || fams.some((f) => !applied!.has(f));
        const plans = full ? await fullPlans(fams) : partialPlans(fams, touched);
        const t3 = performance.now();
        let ops = 0;
        let kind: SyncResult['kind'];
        if (full) {
          applied = undefined;
          const next = new Map<IPFamily, Applied>();
          for (const [f, plan] of plans) {
            await kernel.restore(f, plan.input);
            const a = emptyApplied();
            commitPlan(a, plan);
            next.set(f, a);
            ops += plan.ops;
            // Upstream's EnsureRule(Prepend): each jump at the top when missing, last first.
            for (const j of [...families.get(f)!.skeleton.jumps].reverse()) {
              await kernel.ensureRule(f, j.table, j.chain, j.args);
              ops++;
            }
          }
          applied = next;
          lastFull = now();
          kind = 'full';
        } else {
          for (const [f, plan] of plans) {
            if (plan.ops === 0) continue;
            await kernel.restore(f, plan.input);
            commitPlan(applied!.get(f)!, plan);
            ops += plan.ops;
          }
          kind = ops === 0 ? 'noop' : 'partial';
        }
        for (const d of families.values()) d.clearDirty();
        const t4 = performance.now();
        const timings = { model: t1 - t0, render: t2 - t1, diff: t3 - t2, apply: t4 - t3 };
        log.debug({ kind, kernelOps: ops, timings }, 'iptables sync');
        return { kind, kernelOps: ops, problems: m.problems(), timings, model: m, affected: affected ?? 'all' };
      } catch (err) {
        forget();
        log.warn({ err }, 'iptables sync failed: memory of applied state dropped, next sync is full');
        throw err;
      }
    },
  };
}
