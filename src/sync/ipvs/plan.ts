/**
 * The IPVS diff: wanted state (desired.ts) against the applied state (kpx's memory, or
 * the kernel as listed on a full sync) → the minimal tool input: `ipset restore` lines,
 * `ipvsadm -R` lines, `ip -batch` lines. Pure; graceful termination decides separately
 * what happens to a removed TCP real server (graceful.ts).
 */
import { cidrContains, parseCIDR, parseIP } from '../../model/ip.js';
import { ipsetCreateLine, rsArgs, vsArgs, serviceArgs, type KRealServer, type KService, type KSet, type KVirtualServer } from '../kernel/ipvs-state.js';
import { DUMMY_DEVICE } from '../../render/ipvs/names.js';
import type { DesiredIpvs, WantedVS } from './desired.js';

/** What kpx believes the kernel holds. */
export interface Applied {
  readonly sets: Map<string, KSet>;
  readonly services: Map<string, KService>;
  readonly addresses: Set<string>;
  /** Glue text per family as last restored. */
  readonly glue: Map<string, string>;
}

export const emptyApplied = (): Applied => ({ sets: new Map(), services: new Map(), addresses: new Set(), glue: new Map() });

/** A real server that leaves a virtual server that stays. */
export interface Removal {
  readonly key: string;
  readonly vs: KVirtualServer;
  readonly rs: KRealServer;
}

export interface Plan {
  readonly ipset: string[];
  /** -A/-E and -a/-e lines (before the removals). */
  readonly ipvsAdd: string[];
  /** -D lines (virtual servers that go, with their real servers). */
  readonly ipvsDelete: string[];
  /** Real servers that leave a virtual server that stays: graceful termination decides. */
  readonly removals: Removal[];
  readonly addrAdd: string[];
  readonly addrDel: string[];
}

const sameVS = (a: KVirtualServer, b: KVirtualServer): boolean =>
  a.scheduler === b.scheduler && a.persistence === b.persistence && a.flags.join(',') === b.flags.join(',');

const addrLine = (verb: 'add' | 'del', a: string): string => (a.includes(':')
  ? `address ${verb} ${a}/128 dev ${DUMMY_DEVICE}${verb === 'add' ? ' nodad preferred_lft 0' : ''}`
  : `address ${verb} ${a}/32 dev ${DUMMY_DEVICE}`);

export interface PlanScope {
  /** 'all': compare everything (full sync); otherwise only these keys. */
  readonly vss: Iterable<string> | 'all';
  readonly entries: Iterable<string> | 'all';
  readonly addresses: Iterable<string> | 'all';
}

/** Decides whether a virtual server kpx does not want may be deleted (full syncs; see proxier.ts). */
export type Owned = (key: string, svc: KService) => boolean;

export function planChanges(desired: readonly DesiredIpvs[], applied: Applied, scope: PlanScope, owned: Owned): Plan {
  const plan: Plan = { ipset: [], ipvsAdd: [], ipvsDelete: [], removals: [], addrAdd: [], addrDel: [] };
  const wantVS = wantedVS(desired);
  const wantSets = new Map(desired.flatMap((d) => [...d.sets]));

  // Sets: create what is missing (or of another type: destroyed first, as ipset cannot change a type).
  for (const s of wantSets.values()) {
    const have = applied.sets.get(s.name);
    if (have && have.type !== s.type) plan.ipset.push(`destroy ${s.name}`);
    if (!have || have.type !== s.type) plan.ipset.push(ipsetCreateLine(s));
  }
  const entryKeys = scope.entries === 'all'
    ? new Set([...desired.flatMap((d) => [...d.entries].flatMap(([set, m]) => [...m.keys()].map((e) => `${set} ${e}`))),
      ...[...applied.sets.values()].flatMap((s) => [...s.entries].map((e) => `${s.name} ${e}`))])
    : scope.entries;
  const wantEntry = (set: string, e: string): boolean => desired.some((d) => d.entries.get(set)?.has(e) === true);
  for (const k of entryKeys) {
    const sp = k.indexOf(' ');
    const set = k.slice(0, sp);
    const e = k.slice(sp + 1);
    const have = applied.sets.get(set);
    const valid = have !== undefined && have.type === wantSets.get(set)?.type;
    const want = wantEntry(set, e);
    if (want && !(valid && have.entries.has(e))) plan.ipset.push(`add ${set} ${e}`);
    if (!want && have?.entries.has(e) === true && valid) plan.ipset.push(`del ${set} ${e}`);
  }

  const vsKeys = scope.vss === 'all' ? new Set([...desired.flatMap((d) => [...d.vss.keys()]), ...applied.services.keys()]) : scope.vss;
  for (const k of vsKeys) {
    const want = wantVS.get(k);
    const have = applied.services.get(k);
    if (!want) {
      if (have && owned(k, have)) plan.ipvsDelete.push(['-D', ...serviceArgs(have.vs)].join(' '));
      continue;
    }
    if (!have) plan.ipvsAdd.push(['-A', ...vsArgs(want.vs)].join(' '));
    else if (!sameVS(have.vs, want.vs)) plan.ipvsAdd.push(['-E', ...vsArgs(want.vs)].join(' '));
    for (const [rk, r] of want.reals) {
      const hr = have?.reals.get(rk);
      if (!hr) plan.ipvsAdd.push(['-a', ...rsArgs(want.vs, r)].join(' '));
      else if (hr.weight !== r.weight) plan.ipvsAdd.push(['-e', ...rsArgs(want.vs, r)].join(' '));
    }
    for (const [rk, r] of have?.reals ?? []) if (!want.reals.has(rk)) plan.removals.push({ key: k, vs: want.vs, rs: r });
  }

  const wantAddr = (a: string): boolean => desired.some((d) => d.addresses.has(a));
  const addrKeys = scope.addresses === 'all' ? new Set([...desired.flatMap((d) => [...d.addresses.keys()]), ...applied.addresses]) : scope.addresses;
  for (const a of addrKeys) {
    if (wantAddr(a) && !applied.addresses.has(a)) plan.addrAdd.push(addrLine('add', a));
    if (!wantAddr(a) && applied.addresses.has(a)) plan.addrDel.push(addrLine('del', a));
  }
  return plan;
}

/** Lookup of a wanted virtual server by key over the families (no copy of the maps). */
export function wantedVS(desired: readonly DesiredIpvs[]): { get(key: string): WantedVS | undefined } {
  return {
    get(key) {
      for (const d of desired) {
        const v = d.vss.get(key);
        if (v) return v;
      }
      return undefined;
    },
  };
}

/** `-d` (delete) and `-e … -w 0` (quiesce) lines of a real server. */
export const rsDeleteLine = (vs: KVirtualServer, rs: KRealServer): string => ['-d', ...rsArgs(vs, rs, false)].join(' ');
export const rsQuiesceLine = (vs: KVirtualServer, rs: KRealServer): string => ['-e', ...rsArgs(vs, { ...rs, weight: 0 })].join(' ');

/** `--ipvs-exclude-cidrs`: parsed once; `excluded(ip)` is true for an address inside one. */
export function excludedBy(cidrs: readonly string[]): (ip: string) => boolean {
  const parsed = cidrs.map((c) => parseCIDR(c)).filter((c) => c !== undefined);
  return (ip) => {
    const p = parseIP(ip);
    return p !== undefined && parsed.some((c) => cidrContains(c, p));
  };
}
