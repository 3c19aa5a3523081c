/**
 * What kpx wants in the kernel in IPVS mode, kept per Service and aggregated: virtual
 * servers with their real servers, ipset entries and kube-ipvs0 addresses (reference
 * counted: two Services may need the same hairpin entry or external IP), and each
 * Service's KUBE-IPVS-OUT-FILTER entries for the glue. `setService` replaces one
 * Service's share and records which virtual servers, entries and addresses it touched
 * (`dirty`), so a sync diffs only those.
 */
import type { FamilyState, IPFamily, ServicePort } from '../../model/types.js';
import { familyIpsets, renderServicePieces, type ServicePieces } from '../../render/ipvs/render.js';
import { renderGlue, type OutFilterEntry } from '../../render/ipvs/glue.js';
import { glueJumps, toGlueRestore } from '../../render/ipvs/format.js';
import { SET_INFO, setName, type SetRole } from '../../render/ipvs/names.js';
import type { IpsetType, IpvsRenderOptions, VirtualServer } from '../../render/ipvs/types.js';
import type { BuiltinJump } from '../../render/restore.js';
import { rsKey, vsKey, type KRealServer, type KVirtualServer } from '../kernel/ipvs-state.js';

export interface WantedVS {
  readonly vs: KVirtualServer;
  readonly reals: ReadonlyMap<string, KRealServer>;
}

export interface WantedSet {
  readonly name: string;
  readonly type: IpsetType;
  readonly family?: 'inet' | 'inet6';
}

export function toKernelVS(v: VirtualServer): WantedVS {
  return {
    vs: {
      protocol: v.protocol, address: v.address.toLowerCase(), port: v.port, scheduler: v.scheduler,
      flags: [...v.schedulerFlags].sort(),
      ...(v.persistenceSeconds !== undefined ? { persistence: v.persistenceSeconds } : {}),
    },
    reals: new Map(v.realServers.map((r) => [rsKey(r), { ip: r.ip.toLowerCase(), port: r.port, weight: r.weight }])),
  };
}

export interface Dirty {
  readonly vss: Set<string>;
  /** `SET entry`. */
  readonly entries: Set<string>;
  readonly addresses: Set<string>;
}

const ROLES = Object.keys(SET_INFO) as SetRole[];

export class DesiredIpvs {
  private readonly pieces = new Map<string, ServicePieces>();
  readonly vss = new Map<string, WantedVS>();
  /** Set name → entry → how many Services want it. */
  readonly entries = new Map<string, Map<string, number>>();
  readonly addresses = new Map<string, number>();
  private readonly outFilter = new Map<string, readonly OutFilterEntry[]>();
  dirty: Dirty = { vss: new Set(), entries: new Set(), addresses: new Set() };
  /** The glue as last rendered; dropped when a set turns empty or non-empty, or out-filter entries change. */
  private glueCache: { readonly text: string; readonly jumps: BuiltinJump[] } | undefined;
  /** The sets every family has, by name. */
  readonly sets: ReadonlyMap<string, WantedSet>;

  constructor(readonly family: IPFamily, private fs: FamilyState, private readonly options: IpvsRenderOptions) {
    this.sets = new Map(ROLES.map((role) => {
      const name = setName(role, family);
      const type = SET_INFO[role].type;
      return [name, { name, type, ...(type === 'bitmap:port' ? {} : { family: family === 'ipv6' ? 'inet6' as const : 'inet' as const }) }];
    }));
    for (const s of this.sets.keys()) this.entries.set(s, new Map());
  }

  /** The node-wide family state (options, node IPs) for the glue and new Services. */
  setFamilyState(fs: FamilyState): void { this.fs = fs; this.glueCache = undefined; }

  get serviceCount(): number { return this.pieces.size; }

  /** Replaces one Service's share ([] removes it). */
  setService(key: string, ports: readonly ServicePort[]): void {
    const old = this.pieces.get(key);
    const next = ports.length > 0 ? renderServicePieces(this.fs, ports, this.options) : undefined;
    if (old) this.apply(old, -1);
    if (next) this.apply(next, +1);
    if (next) this.pieces.set(key, next); else this.pieces.delete(key);
    if ((old?.outFilter.length ?? 0) > 0 || (next?.outFilter.length ?? 0) > 0) this.glueCache = undefined;
    if (next && next.outFilter.length > 0) this.outFilter.set(key, next.outFilter); else this.outFilter.delete(key);
  }

  private apply(p: ServicePieces, delta: 1 | -1): void {
    for (const v of p.virtualServers) {
      const w = toKernelVS(v);
      const k = vsKey(w.vs);
      if (delta > 0) this.vss.set(k, w); else this.vss.delete(k);
      this.dirty.vss.add(k);
    }
    for (const [role, list] of p.entries) for (const e of list) this.count(setName(role, this.family), e, delta);
    for (const a of p.addresses) {
      const n = (this.addresses.get(a) ?? 0) + delta;
      if (n > 0) this.addresses.set(a, n); else this.addresses.delete(a);
      this.dirty.addresses.add(a);
      this.count(setName('ipvsIPs', this.family), a, delta);
    }
  }

  private count(set: string, entry: string, delta: number): void {
    const m = this.entries.get(set)!;
    const n = (m.get(entry) ?? 0) + delta;
    const size = m.size;
    if (n > 0) m.set(entry, n); else m.delete(entry);
    if ((size === 0) !== (m.size === 0)) this.glueCache = undefined;
    this.dirty.entries.add(`${set} ${entry}`);
  }

  takeDirty(): Dirty {
    const d = this.dirty;
    this.dirty = { vss: new Set(), entries: new Set(), addresses: new Set() };
    return d;
  }

  /**
   * The glue (iptables-restore --noflush text and the built-in jumps): it reads only
   * which sets are empty (renderGlue's rules for an empty set are left out) and the
   * out-filter entries, in Service key order.
   */
  glue(): { readonly text: string; readonly jumps: BuiltinJump[] } {
    if (this.glueCache) return this.glueCache;
    const ipsets = familyIpsets(this.fs, (role) => ((this.entries.get(setName(role, this.family))?.size ?? 0) > 0 ? ['(not empty)'] : []));
    const out = [...this.outFilter.keys()].sort().flatMap((k) => this.outFilter.get(k)!);
    const f = { family: this.family, virtualServers: [], ipsets, addresses: [], tables: renderGlue(this.fs, ipsets, out) };
    this.glueCache = { text: toGlueRestore(f), jumps: glueJumps(f) };
    return this.glueCache;
  }
}
