/**
 * What kpx wants in one family's `filter` and `nat` tables, kept per Service so a sync
 * recomputes only the Services that changed. Chain contents are their `-A` lines joined
 * with '\n', compared as text with what was applied.
 *
 * The dispatch chains (KUBE-SERVICES, KUBE-NODEPORTS, ...) are the Services' rules in
 * the model's order (`namespace/name:` as the sort key, which orders ports exactly as the
 * full renderer does), then the skeleton's own rules (the NodePort jumps).
 */
import type { FamilyState, ServicePort } from '../../model/types.js';
import { C } from '../../render/iptables/names.js';
import { LARGE_CLUSTER_ENDPOINTS_THRESHOLD } from '../../render/iptables/render.js';
import type { FamilyContext } from '../../render/iptables/service.js';
import { DISPATCH, NO_LINES, serviceLines, skeleton, type IptTableName, type ServiceLines, type Skeleton } from './pieces.js';

const order = (key: string): string => `${key}:`;

export class FamilyDesired {
  readonly skeleton: Skeleton;
  private readonly lines = new Map<string, ServiceLines>();
  /** Service keys with lines, sorted by `key:`. */
  private readonly sorted: string[] = [];
  /** nat chain name → the Service that has it. */
  private readonly owner = new Map<string, string>();
  private endpoints = 0;
  private notLocalUsers = 0;
  private readonly portsOf = new Map<string, number>();
  /** `table/chain` of the dispatch chains whose Service lines changed since clearDirty(). */
  private dirtyDispatch = new Set<string>();
  /** Service ports in this family. */
  ports = 0;

  constructor(readonly fs: FamilyState, private readonly threshold = LARGE_CLUSTER_ENDPOINTS_THRESHOLD) {
    this.skeleton = skeleton(fs);
  }

  /** Large-cluster mode (no per-endpoint comments) with `endpoints` endpoints in the family. */
  terseFor(endpoints: number): boolean {
    return endpoints > this.threshold;
  }

  get terse(): boolean {
    return this.terseFor(this.endpoints);
  }

  /** The family's endpoints if `key` had `ports` (decides large-cluster mode before rendering). */
  endpointsWith(changes: ReadonlyMap<string, readonly ServicePort[]>): number {
    let n = this.endpoints;
    for (const [key, ports] of changes) {
      n -= this.lines.get(key)?.endpoints ?? 0;
      n += ports.reduce((a, sp) => a + sp.allEndpoints.length, 0);
    }
    return n;
  }

  context(terse = this.terse): FamilyContext {
    return { masqueradeAll: this.fs.masqueradeAll, clusterCIDRs: this.fs.clusterCIDRs, terse };
  }

  /** Replaces one Service's rules; returns the names of its nat chains before and after. */
  setService(key: string, ports: readonly ServicePort[], ctx: FamilyContext): string[] {
    const old = this.lines.get(key) ?? NO_LINES;
    const next = serviceLines(ports, ctx);
    const touched = [...old.chains.keys()];
    for (const name of old.chains.keys()) if (this.owner.get(name) === key) this.owner.delete(name);
    for (const name of next.chains.keys()) { this.owner.set(name, key); touched.push(name); }
    DISPATCH.forEach(([table, chain], d) => {
      const a = old.dispatch[d]!;
      const b = next.dispatch[d]!;
      if (a.length !== b.length || a.some((l, i) => l !== b[i])) this.dirtyDispatch.add(`${table}/${chain}`);
    });
    this.endpoints += next.endpoints - old.endpoints;
    this.notLocalUsers += Number(next.usesNotLocal) - Number(old.usesNotLocal);
    this.ports += ports.length - (this.portsOf.get(key) ?? 0);
    const i = this.indexOf(key);
    if (next === NO_LINES) {
      if (this.sorted[i] === key) this.sorted.splice(i, 1);
      this.lines.delete(key);
      this.portsOf.delete(key);
    } else {
      if (this.sorted[i] !== key) this.sorted.splice(i, 0, key);
      this.lines.set(key, next);
      this.portsOf.set(key, ports.length);
    }
    return touched;
  }

  /** Binary search: the index of `key`, or where it would go. */
  private indexOf(key: string): number {
    const o = order(key);
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (order(this.sorted[mid]!) < o) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Every Service key with rules, in order. */
  keys(): readonly string[] {
    return this.sorted;
  }

  /** The fixed chains of a table (dispatch chains included), in rendered order. */
  fixedChains(table: IptTableName): string[] {
    const names = [...this.skeleton.chains[table].keys()];
    if (table === 'nat' && this.skeleton.notLocal !== undefined) names.push(C.masqNotLocal);
    return names;
  }

  /**
   * The fixed chains a partial sync must compare: the dispatch chains a Service's lines
   * changed in since clearDirty(), and the others (constant for given options).
   */
  changedFixedChains(table: IptTableName): string[] {
    return this.fixedChains(table).filter((n) => !DISPATCH.some(([t, c]) => t === table && c === n) || this.dirtyDispatch.has(`${table}/${n}`));
  }

  clearDirty(): void {
    this.dirtyDispatch = new Set();
  }

  /** A chain's wanted text; undefined when kpx does not want it. */
  chain(table: IptTableName, name: string): string | undefined {
    const fixed = this.skeleton.chains[table].get(name);
    if (fixed !== undefined) {
      const d = DISPATCH.findIndex(([t, c]) => t === table && c === name);
      if (d < 0) return fixed.join('\n');
      const out: string[] = [];
      for (const key of this.sorted) for (const l of this.lines.get(key)!.dispatch[d]!) out.push(l);
      for (const l of fixed) out.push(l);
      return out.join('\n');
    }
    if (table !== 'nat') return undefined;
    if (name === C.masqNotLocal) return this.notLocalUsers > 0 ? this.skeleton.notLocal : undefined;
    const key = this.owner.get(name);
    return key !== undefined ? this.lines.get(key)?.chains.get(name) : undefined;
  }

  /** Every wanted chain of a table: fixed ones first, then the Services' in order. */
  *chainNames(table: IptTableName): Generator<string> {
    for (const n of this.fixedChains(table)) if (this.chain(table, n) !== undefined) yield n;
    if (table === 'nat') for (const key of this.sorted) yield* this.lines.get(key)!.chains.keys();
  }
}
