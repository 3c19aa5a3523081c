/**
 * The differ: what kpx last applied (remembered, never listed from the kernel) against
 * what it wants now → one nft transaction with only what changed. Also the full
 * replacement script and the memory it leaves.
 *
 * Order inside a partial transaction (each step only needs what earlier steps made):
 *   1. delete chains that went stale in an EARLIER sync (flushed then, unreferenced now)
 *   2. delete elements (a changed map element is a delete here and an add in step 7);
 *      a flushed lb chain wanted again is deleted in 1 with its map here and both are
 *      made again in 3 and 4 (an nft 1.0.6 bug, see below)
 *   3. add new sets and maps          4. add new chains
 *   5. flush changed chains and chains that just went stale (deleted in a later sync)
 *   6. add the rules of new and changed chains
 *   7. add elements                    8. delete sets and maps that went stale earlier
 * Kernel operations are counted per nft command: one `add element` / `delete element`
 * command per set or map (carrying all of its elements), one per chain, rule or set.
 */
import { LB_MAP_PREFIX, TABLE_NAME, type LbKind } from '../../render/nftables/names.js';
import type { NftFamily } from '../../render/nftables/types.js';
import type { DesiredTable } from './desired.js';
import { declText, type ChainPiece, type DeclPiece } from './pieces.js';

/** What kpx believes one of its tables holds (after its last successful transaction). */
export interface AppliedTable {
  readonly family: NftFamily;
  readonly decls: Map<string, DeclPiece>;
  readonly chains: Map<string, ChainPiece>;
  readonly elements: Map<string, Map<string, string>>;
  /** Flushed, unreferenced chains and unused sets/maps, to delete in a later transaction. */
  readonly staleChains: Set<string>;
  readonly staleDecls: Set<string>;
}

export interface Plan {
  readonly script: string;
  /** nft commands in the script. */
  readonly ops: number;
  /** Elements added and deleted (a changed element counts twice). */
  readonly elements: number;
  /** A change the differ cannot express (a set's type, a base chain's hook): replace the tables. */
  readonly needFull: boolean;
  /** Record the plan as applied (call only after the kernel accepted the script). */
  commit(): void;
}

const ALL_FAMILIES: readonly NftFamily[] = ['ip', 'ip6'];

/** The endpoint map an lb chain reads (`lb-3` → `eps-3`), undefined for other chains. */
function lbMapOf(chain: string): string | undefined {
  const m = /^(lb|lbc|np-lb|np-lbc)-(\d+)$/.exec(chain);
  return m ? `${LB_MAP_PREFIX[m[1] as LbKind]}-${m[2]}` : undefined;
}

const elementList = (items: readonly string[]): string => `{ ${items.join(',\n\t')} }`;

/** The partial transaction for every table (`all`: compare everything, not just what is dirty). */
export function diffTables(desired: readonly DesiredTable[], applied: ReadonlyMap<NftFamily, AppliedTable>, all: boolean): Plan {
  const buckets: string[][] = Array.from({ length: 8 }, () => []);
  const stale: string[] = [];
  const commits: (() => void)[] = [];
  const staleCommits: (() => void)[] = [];
  let elements = 0;
  let needFull = false;
  for (const d of desired) {
    const a = applied.get(d.family);
    if (!a) { needFull = true; continue; }
    const t = `${d.family} ${TABLE_NAME}`;
    const staleChainsBefore = new Set(a.staleChains);
    const staleDeclsBefore = new Set(a.staleDecls);

    const declNames = all ? new Set([...d.declNames(), ...a.decls.keys()]) : d.dirtyDecls;
    for (const name of declNames) {
      const want = d.decl(name);
      const have = a.decls.get(name);
      if (want && have) {
        if (declText(want) !== declText(have)) needFull = true;
        staleDeclsBefore.delete(name);
        commits.push(() => a.staleDecls.delete(name));
      } else if (want) {
        buckets[2]!.push(`add ${want.kind} ${t} ${name} ${want.body}`);
        commits.push(() => a.decls.set(name, want));
      } else if (have && !a.staleDecls.has(name)) {
        commits.push(() => a.staleDecls.add(name));
      }
    }

    const chainNames = all ? new Set([...d.chainNames(), ...a.chains.keys()]) : d.dirtyChains;
    for (const name of chainNames) {
      const want = d.chain(name);
      const have = a.chains.get(name);
      if (want) staleChainsBefore.delete(name);
      if (want && have) {
        if (want.hook !== have.hook) needFull = true;
        commits.push(() => a.staleChains.delete(name));
        if (want.text === have.text) continue;
        const map = lbMapOf(name);
        const decl = map !== undefined ? d.decl(map) : undefined;
        if (have.rules.length === 0 && map !== undefined && decl !== undefined && a.decls.has(map)) {
          // A flushed lb chain wanted again. nft 1.0.6 cannot add a rule that uses a
          // `typeof` map it reads back from the kernel ("conflicting protocols specified:
          // tcp vs. th"): make chain and (empty) map again in this transaction.
          buckets[0]!.push(`delete chain ${t} ${name}`);
          buckets[1]!.push(`delete map ${t} ${map}`);
          buckets[2]!.push(`add map ${t} ${map} ${decl.body}`);
          buckets[3]!.push(`add chain ${t} ${name}`);
          for (const r of want.rules) buckets[5]!.push(`add rule ${t} ${name} ${r}`);
          commits.push(() => a.chains.set(name, want));
          continue;
        }
        if (have.rules.length > 0) buckets[4]!.push(`flush chain ${t} ${name}`);
        for (const r of want.rules) buckets[5]!.push(`add rule ${t} ${name} ${r}`);
        commits.push(() => a.chains.set(name, want));
      } else if (want) {
        buckets[3]!.push(`add chain ${t} ${name}${want.hook !== undefined ? ` { ${want.hook} }` : ''}`);
        for (const r of want.rules) buckets[5]!.push(`add rule ${t} ${name} ${r}`);
        commits.push(() => a.chains.set(name, want));
      } else if (have) {
        if (have.hook !== undefined) { needFull = true; continue; }
        if (have.rules.length > 0) buckets[4]!.push(`flush chain ${t} ${name}`);
        commits.push(() => { a.chains.set(name, { rules: [], text: '' }); a.staleChains.add(name); });
      }
    }

    const del = new Map<string, string[]>();
    const add = new Map<string, string[]>();
    const push = (m: Map<string, string[]>, c: string, v: string): void => {
      const l = m.get(c);
      if (l) l.push(v);
      else m.set(c, [v]);
    };
    const compare = (container: string, id: string): void => {
      const want = d.element(container, id);
      const have = a.elements.get(container)?.get(id);
      if (want === have) return;
      if (have !== undefined) push(del, container, id);
      if (want !== undefined) push(add, container, want);
      commits.push(() => {
        let m = a.elements.get(container);
        if (!m) a.elements.set(container, (m = new Map()));
        if (want === undefined) m.delete(id);
        else m.set(id, want);
      });
    };
    if (all) {
      const seen = new Set<string>();
      for (const [c, id] of d.allElements()) { seen.add(`${c}\u0000${id}`); compare(c, id); }
      for (const [c, m] of a.elements) for (const id of m.keys()) if (!seen.has(`${c}\u0000${id}`)) compare(c, id);
    } else {
      for (const [c, ids] of d.dirtyElements) for (const id of ids) compare(c, id);
    }
    for (const [c, ids] of del) { buckets[1]!.push(`delete element ${t} ${c} ${elementList(ids)}`); elements += ids.length; }
    for (const [c, texts] of add) { buckets[6]!.push(`add element ${t} ${c} ${elementList(texts)}`); elements += texts.length; }

    // Stale since an earlier sync: deleted only with other work (an unchanged cluster makes no call).
    for (const name of staleChainsBefore) {
      stale.push(`0delete chain ${t} ${name}`);
      staleCommits.push(() => { a.chains.delete(name); a.staleChains.delete(name); });
    }
    for (const name of staleDeclsBefore) {
      const have = a.decls.get(name);
      if (!have) continue;
      stale.push(`7delete ${have.kind} ${t} ${name}`);
      staleCommits.push(() => { a.decls.delete(name); a.staleDecls.delete(name); a.elements.delete(name); });
    }
  }
  const work = buckets.reduce((n, b) => n + b.length, 0);
  if (work > 0) {
    for (const s of stale) buckets[Number(s[0])]!.push(s.slice(1));
  }
  const lines = buckets.flat();
  return {
    script: lines.length > 0 ? `${lines.join('\n')}\n` : '',
    ops: lines.length,
    elements,
    needFull,
    commit: () => {
      for (const c of commits) c();
      // Without other work the stale deletions were not sent: they wait for a later sync.
      if (work > 0) for (const c of staleCommits) c();
    },
  };
}

/**
 * Full replacement: every kpx table of both families deleted and the wanted ones made
 * again, in one transaction (`add table` first so the delete cannot fail on a fresh
 * node; packets never see a missing table). Returns the memory it leaves.
 */
export function fullScript(desired: readonly DesiredTable[]): { script: string; ops: number; applied: Map<NftFamily, AppliedTable> } {
  const lines: string[] = [];
  for (const f of ALL_FAMILIES) lines.push(`add table ${f} ${TABLE_NAME}`, `delete table ${f} ${TABLE_NAME}`);
  const applied = new Map<NftFamily, AppliedTable>();
  for (const d of desired) {
    const t = `${d.family} ${TABLE_NAME}`;
    const a: AppliedTable = { family: d.family, decls: new Map(), chains: new Map(), elements: new Map(), staleChains: new Set(), staleDecls: new Set() };
    lines.push(`add table ${t}`);
    for (const name of d.declNames()) {
      const decl = d.decl(name)!;
      lines.push(`add ${decl.kind} ${t} ${name} ${decl.body}`);
      a.decls.set(name, decl);
    }
    const chains = d.chainNames().map((name) => [name, d.chain(name)!] as const);
    for (const [name, c] of chains) {
      lines.push(`add chain ${t} ${name}${c.hook !== undefined ? ` { ${c.hook} }` : ''}`);
      a.chains.set(name, c);
    }
    for (const [name, c] of chains) for (const r of c.rules) lines.push(`add rule ${t} ${name} ${r}`);
    const byContainer = new Map<string, string[]>();
    for (const [container, id, text] of d.allElements()) {
      let m = a.elements.get(container);
      if (!m) a.elements.set(container, (m = new Map()));
      m.set(id, text);
      const l = byContainer.get(container);
      if (l) l.push(text);
      else byContainer.set(container, [text]);
    }
    for (const [c, texts] of byContainer) lines.push(`add element ${t} ${c} ${elementList(texts)}`);
    applied.set(d.family, a);
  }
  return { script: `${lines.join('\n')}\n`, ops: lines.length, applied };
}
