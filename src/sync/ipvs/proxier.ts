/**
 * The IPVS proxier: ClusterView + changes → model (incremental) → per-Service pieces
 * (desired.ts) → diff against what kpx applied (plan.ts) → the tools, each once at most:
 * `ipset restore -exist`, `ipvsadm -R`, `ip -batch -`, `iptables-restore -w --noflush`
 * (only when the glue text changed). Nothing changed: no kernel call (noop), unless a
 * graceful termination is pending (then one `ipvsadm -L` per virtual server concerned).
 *
 * Full sync (first sync, after a failure, `request.full`, `invalidate()`, options
 * changed, every `fullSyncIntervalMs`): the kernel is listed once (`ipset save`,
 * `ipvsadm -S -n`, kube-ipvs0's addresses) and reconciled with the same diff, the glue
 * restored and the jumps ensured. A virtual server kpx does not want is deleted only
 * when kpx owns it — its address is on kube-ipvs0, is a wanted frontend address, or was
 * applied by kpx — and never inside `--ipvs-exclude-cidrs`. Foreign ones stay.
 */
import { performance } from 'node:perf_hooks';
import type { IncrementalModel } from '../../model/incremental.js';
import { advanceModel } from '../model-step.js';
import type { IPFamily } from '../../model/types.js';
import type { IpvsScheduler } from '../../render/ipvs/types.js';
import { createIpvsKernel, type IpvsKernel } from '../kernel/ipvs.js';
import { rsKey, vsKey } from '../kernel/ipvs-state.js';
import type { Logger } from '../nftables/proxier.js';
import type { Proxier, SyncRequest, SyncResult } from '../types.js';
import { DesiredIpvs, type WantedVS } from './desired.js';
import { GracefulTerminations, needsGrace, type Pending } from './graceful.js';
import { excludedBy, planChanges, wantedVS, rsDeleteLine, rsQuiesceLine, type Applied, type Plan } from './plan.js';

export interface IpvsTimeouts {
  /** Seconds; 0 leaves the kernel's value (ipvsadm --set). */
  readonly tcp: number;
  readonly tcpfin: number;
  readonly udp: number;
}

export interface IpvsProxierOptions {
  /** Default: the real tools (createIpvsKernel()). */
  readonly kernel?: IpvsKernel;
  /** --ipvs-scheduler; default rr. */
  readonly scheduler?: IpvsScheduler;
  /** --ipvs-strict-arp: arp_ignore=1, arp_announce=2 on all interfaces of kpx's namespace. */
  readonly strictARP?: boolean;
  /** --ipvs-exclude-cidrs: virtual servers in these CIDRs are never deleted by kpx. */
  readonly excludeCIDRs?: readonly string[];
  /** --ipvs-tcp-timeout, --ipvs-tcpfin-timeout, --ipvs-udp-timeout (seconds; all 0: not set). */
  readonly timeouts?: IpvsTimeouts;
  /** A quiesced TCP real server is deleted after this long even with connections; default 15 min. */
  readonly gracefulTimeoutMs?: number;
  readonly fullSyncIntervalMs?: number;
  readonly now?: () => number;
  readonly logger?: Logger;
}

export const DEFAULT_GRACEFUL_TIMEOUT_MS = 15 * 60 * 1000;
const DEFAULT_FULL_SYNC_INTERVAL_MS = 60 * 60 * 1000;
const FAMILIES: readonly IPFamily[] = ['ipv4', 'ipv6'];
const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** What kube-proxy's IPVS mode sets at start (pkg/proxy/ipvs/proxier.go NewProxier). */
export const IPVS_SYSCTLS: readonly [string, string][] = [
  ['net.ipv4.vs.conntrack', '1'],
  ['net.ipv4.vs.expire_nodest_conn', '1'],
  ['net.ipv4.vs.expire_quiescent_template', '1'],
  ['net.ipv4.ip_forward', '1'],
];
export const STRICT_ARP_SYSCTLS: readonly [string, string][] = [
  ['net.ipv4.conf.all.arp_ignore', '1'],
  ['net.ipv4.conf.all.arp_announce', '2'],
];

export interface IpvsProxier extends Proxier {
  readonly model: IncrementalModel | undefined;
  /** Real servers at weight 0 waiting for their connections to end. */
  readonly pendingTerminations: number;
}

export function createIpvsProxier(opts: IpvsProxierOptions = {}): IpvsProxier {
  const kernel = opts.kernel ?? createIpvsKernel();
  const now = opts.now ?? Date.now;
  const interval = opts.fullSyncIntervalMs ?? DEFAULT_FULL_SYNC_INTERVAL_MS;
  const graceMs = opts.gracefulTimeoutMs ?? DEFAULT_GRACEFUL_TIMEOUT_MS;
  const log = opts.logger ?? silent;
  const excluded = excludedBy(opts.excludeCIDRs ?? []);
  const renderOptions = opts.scheduler !== undefined ? { scheduler: opts.scheduler } : {};
  const graceful = new GracefulTerminations();

  let model: IncrementalModel | undefined;
  let optionsKey = '';
  let desired = new Map<IPFamily, DesiredIpvs>();
  let applied: Applied | undefined;
  /** Addresses of every virtual server kpx applied since start (ownership on full syncs). */
  const ownAddresses = new Set<string>();
  let prepared = false;
  let lastFull = -Infinity;

  const rebuild = (m: IncrementalModel): void => {
    desired = new Map(FAMILIES.map((f) => {
      const d = new DesiredIpvs(f, m.family(f), renderOptions);
      for (const key of m.keys()) d.setService(key, m.ports(key, f));
      return [f, d] as const;
    }));
  };
  const wanted = (m: IncrementalModel): DesiredIpvs[] =>
    FAMILIES.filter((f) => f === 'ipv4' || m.family(f).nodeIPs.length > 0 || desired.get(f)!.serviceCount > 0).map((f) => desired.get(f)!);

  /** Once per process: the sysctls upstream sets, strict ARP, IPVS timeouts. */
  const prepare = async (): Promise<number> => {
    let ops = 0;
    for (const [k, v] of [...IPVS_SYSCTLS, ...(opts.strictARP === true ? STRICT_ARP_SYSCTLS : [])]) { await kernel.sysctl(k, v); ops++; }
    const t = opts.timeouts;
    if (t && (t.tcp > 0 || t.tcpfin > 0 || t.udp > 0)) { await kernel.setTimeouts(t.tcp, t.tcpfin, t.udp); ops++; }
    prepared = true;
    return ops;
  };

  /** The kernel as it is (full sync). */
  const listKernel = async (): Promise<{ state: Applied; ops: number }> => {
    let ops = 0;
    let addresses = await kernel.readAddresses();
    if (addresses === undefined) { await kernel.createDevice(); addresses = new Set(); ops++; }
    const state: Applied = { sets: await kernel.readSets(), services: await kernel.readServices(), addresses, glue: new Map() };
    return { state, ops };
  };

  /**
   * Graceful termination (graceful.ts): removed UDP/SCTP real servers are deleted; removed
   * TCP ones join the pending list; every pending one still in the kernel is looked at
   * (one `ipvsadm -L` per virtual server): deleted when idle or timed out, else quiesced
   * (weight 0) once. One that is wanted again leaves the list (the plan restores its weight).
   */
  const terminations = async (plan: Plan, cur: Applied, want: { get(key: string): WantedVS | undefined }): Promise<{ lines: string[]; quiesced: number }> => {
    const lines: string[] = [];
    let quiesced = 0;
    const t = now();
    for (const r of plan.removals) {
      if (!needsGrace(r.vs)) { lines.push(rsDeleteLine(r.vs, r.rs)); graceful.delete(r.key, r.rs); continue; }
      if (!graceful.has(r.key, r.rs)) graceful.add({ key: r.key, vs: r.vs, rs: r.rs, since: t });
    }
    const byVS = new Map<string, Pending[]>();
    for (const p of graceful.list()) {
      const w = want.get(p.key);
      if (!w || w.reals.has(rsKey(p.rs)) || !cur.services.get(p.key)?.reals.has(rsKey(p.rs))) { graceful.delete(p.key, p.rs); continue; }
      byVS.set(p.key, [...(byVS.get(p.key) ?? []), p]);
    }
    for (const list of byVS.values()) {
      const conns = await kernel.connections(list[0]!.vs);
      for (const p of list) {
        const c = conns.get(rsKey(p.rs));
        const weight = cur.services.get(p.key)?.reals.get(rsKey(p.rs))?.weight ?? 0;
        if (c === undefined || c.active + c.inactive === 0 || t - p.since >= graceMs) {
          lines.push(rsDeleteLine(p.vs, p.rs));
          graceful.delete(p.key, p.rs);
        } else if (weight !== 0) {
          lines.push(rsQuiesceLine(p.vs, p.rs));
          quiesced++;
        }
      }
    }
    return { lines, quiesced };
  };

  /** Applies the plan's lines to `applied` (what the kernel now holds). */
  const commit = (cur: Applied, lines: { ipset: string[]; ipvs: string[]; addrAdd: string[]; addrDel: string[] }, d: readonly DesiredIpvs[]): void => {
    for (const l of lines.ipset) {
      const [verb, name, arg] = l.split(' ');
      if (verb === 'destroy') cur.sets.delete(name!);
      else if (verb === 'create') {
        const w = d.flatMap((x) => [...x.sets.values()]).find((s) => s.name === name)!;
        cur.sets.set(name!, { ...w, entries: new Set() });
      } else if (verb === 'add') cur.sets.get(name!)?.entries.add(arg!);
      else if (verb === 'del') cur.sets.get(name!)?.entries.delete(arg!);
    }
    const wantVS = wantedVS(d);
    for (const l of lines.ipvs) {
      const words = l.split(' ');
      const key = `${words[1] === '-t' ? 'tcp' : words[1] === '-u' ? 'udp' : 'sctp'} ${words[2]}`;
      const rsk = words[4];
      switch (words[0]) {
        case '-A': case '-E': {
          const w = wantVS.get(key)!;
          cur.services.set(key, { vs: w.vs, reals: cur.services.get(key)?.reals ?? new Map() });
          ownAddresses.add(w.vs.address);
          break;
        }
        case '-D': cur.services.delete(key); graceful.dropService(key); break;
        case '-a': case '-e': {
          const w = wantVS.get(key)?.reals.get(rsk!);
          const weight = Number(words[words.length - 1]);
          const prev = cur.services.get(key)?.reals.get(rsk!);
          const rs = w ?? prev;
          if (rs) cur.services.get(key)?.reals.set(rsk!, { ...rs, weight });
          break;
        }
        case '-d': cur.services.get(key)?.reals.delete(rsk!); break;
      }
    }
    for (const l of lines.addrAdd) cur.addresses.add(l.split(' ')[2]!.split('/')[0]!);
    for (const l of lines.addrDel) cur.addresses.delete(l.split(' ')[2]!.split('/')[0]!);
  };

  const forget = (): void => {
    model = undefined;
    desired = new Map();
    applied = undefined;
  };

  return {
    backend: 'ipvs',
    get model() { return model; },
    get pendingTerminations() { return graceful.size; },
    invalidate() { applied = undefined; },
    async sync(req: SyncRequest): Promise<SyncResult> {
      const t0 = performance.now();
      try {
        const step = advanceModel(model, optionsKey, req);
        if (step.optionsChanged) applied = undefined; // fixed chains follow the options: replace
        ({ model, optionsKey } = step);
        const affected = step.affected;
        const m = step.model;
        const t1 = performance.now();
        if (affected === undefined) rebuild(m);
        else for (const f of FAMILIES) for (const k of affected) desired.get(f)!.setService(k, m.ports(k, f));
        const d = wanted(m);
        const t2 = performance.now();

        const full = applied === undefined || req.full === true || now() - lastFull >= interval;
        let ops = 0;
        if (!prepared) ops += await prepare();
        let cur: Applied;
        if (full) {
          const listed = await listKernel();
          ops += listed.ops;
          cur = listed.state;
        } else {
          cur = applied!;
        }
        applied = undefined; // until this sync has been applied
        const dirty = FAMILIES.map((f) => desired.get(f)!.takeDirty());
        let wantAddrs: Set<string> | undefined;
        const owned = (_k: string, s: { vs: { address: string } }): boolean => {
          wantAddrs ??= new Set(d.flatMap((x) => [...x.vss.values()].map((v) => v.vs.address)));
          return !excluded(s.vs.address) && (cur.addresses.has(s.vs.address) || wantAddrs.has(s.vs.address) || ownAddresses.has(s.vs.address));
        };
        // A rebuilt desired state (node or options changed) is compared with all of the memory.
        const plan = planChanges(d, cur, full || affected === undefined ? { vss: 'all', entries: 'all', addresses: 'all' } : {
          vss: new Set(dirty.flatMap((x) => [...x.vss])),
          entries: new Set(dirty.flatMap((x) => [...x.entries])),
          addresses: new Set(dirty.flatMap((x) => [...x.addresses])),
        }, owned);
        const term = await terminations(plan, cur, wantedVS(d));
        const glue = d.map((x) => ({ family: x.family, ...x.glue() }));
        const glueChanged = glue.filter((g) => full || cur.glue.get(g.family) !== g.text);
        const t3 = performance.now();

        const ipvs = [...plan.ipvsAdd, ...term.lines, ...plan.ipvsDelete];
        await kernel.ipsetRestore(plan.ipset);
        await kernel.addressBatch(plan.addrAdd);
        await kernel.ipvsRestore(ipvs);
        for (const g of glueChanged) {
          await kernel.glueRestore(g.family, g.text);
          ops++;
          if (full) ops += await kernel.ensureJumps(g.family, g.jumps);
        }
        await kernel.addressBatch(plan.addrDel);
        ops += plan.ipset.length + ipvs.length + plan.addrAdd.length + plan.addrDel.length;
        commit(cur, { ipset: plan.ipset, ipvs, addrAdd: plan.addrAdd, addrDel: plan.addrDel }, d);
        for (const g of glue) cur.glue.set(g.family, g.text);
        applied = cur;
        if (full) lastFull = now();
        const t4 = performance.now();
        const kind: SyncResult['kind'] = full ? 'full' : ops === 0 ? 'noop' : 'partial';
        const timings = { model: t1 - t0, render: t2 - t1, diff: t3 - t2, apply: t4 - t3 };
        log.debug({ kind, kernelOps: ops, ipset: plan.ipset.length, ipvsadm: ipvs.length, addresses: plan.addrAdd.length + plan.addrDel.length, glue: glueChanged.length, quiesced: term.quiesced, pending: graceful.size, timings }, 'ipvs sync');
        return { kind, kernelOps: ops, problems: m.problems(), timings, model: m, affected: affected ?? 'all' };
      } catch (err) {
        forget();
        log.warn({ err }, 'ipvs sync failed: memory of applied state dropped, next sync lists the kernel and is full');
        throw err;
      }
    },
  };
}

export { vsKey };
