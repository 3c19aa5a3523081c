/**
 * Pure planning of the iptables part of a cleanup: `iptables-save` text in, one
 * `iptables-restore --noflush` input per table out, which in one transaction per table
 * deletes the jumps from built-in chains to the owned chains, flushes the owned chains
 * and deletes them (upstream's order: unlink, flush, delete).
 *
 * Upstream deletes its jumps by their exact rule text; a jump it did not write (another
 * comment, a kpx version's extra match) would keep the chain referenced and fail the
 * whole table. kpx deletes every rule of a built-in chain that jumps (`-j`/`-g`) to a
 * chain it removes, whatever its matches. An owned chain still referenced by a foreign
 * chain (e.g. a CNI chain jumping to KUBE-MARK-MASQ) is left whole and reported, and so
 * is every owned chain it references: deleting it would fail the table's transaction.
 */
import { isOwned, type OwnedChains, type XtTable } from './owned.js';

export const BUILTIN_CHAINS: ReadonlySet<string> = new Set(['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING']);

export interface SavedTable {
  readonly name: string;
  /** Every chain declared (`:NAME POLICY [p:b]`), in order. */
  readonly chains: readonly string[];
  /** Every `-A CHAIN …` line, the text after `-A ` kept verbatim. */
  readonly rules: readonly { readonly chain: string; readonly spec: string; readonly target?: string }[];
}

/** Parses `iptables-save` output (every table it printed). */
export function parseSave(text: string): SavedTable[] {
  const tables: { name: string; chains: string[]; rules: SavedTable['rules'][number][] }[] = [];
  let cur: (typeof tables)[number] | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) {
      cur = { name: line.slice(1).trim(), chains: [], rules: [] };
      tables.push(cur);
    } else if (cur !== undefined && line.startsWith(':')) {
      const name = line.slice(1).split(' ')[0];
      if (name) cur.chains.push(name);
    } else if (cur !== undefined && line.startsWith('-A ')) {
      const spec = line.slice(3);
      const chain = spec.split(' ')[0] ?? '';
      const m = / -[jg] (\S+)/.exec(` ${spec}`);
      cur.rules.push({ chain, spec, ...(m?.[1] !== undefined ? { target: m[1] } : {}) });
    } else if (line === 'COMMIT') {
      cur = undefined;
    }
  }
  return tables;
}

export interface TablePlan {
  readonly table: XtTable;
  /** Chains that will be removed. */
  readonly remove: readonly string[];
  /** Owned chains left in place because a foreign chain still uses them: chain → user. */
  readonly kept: ReadonlyMap<string, string>;
  /** Jumps deleted from built-in chains (their save text). */
  readonly unlinks: readonly string[];
  /** `iptables-restore --noflush` input; undefined when there is nothing to do. */
  readonly restore?: string;
}

/** The plan for one saved table. */
export function planTable(table: SavedTable, owned: OwnedChains): TablePlan {
  const name = table.name as XtTable;
  const present = table.chains.filter((c) => !BUILTIN_CHAINS.has(c) && isOwned(owned, c));
  const remove = new Set(present);
  const kept = new Map<string, string>();
  // Fixed point: a chain used by a chain that stays (foreign, or owned but kept) stays.
  for (let changed = true; changed;) {
    changed = false;
    for (const r of table.rules) {
      if (r.target === undefined || !remove.has(r.target)) continue;
      if (BUILTIN_CHAINS.has(r.chain) || remove.has(r.chain)) continue;
      remove.delete(r.target);
      kept.set(r.target, r.chain);
      changed = true;
    }
  }
  const unlinks = table.rules
    .filter((r) => BUILTIN_CHAINS.has(r.chain) && r.target !== undefined && remove.has(r.target))
    .map((r) => r.spec);
  const order = present.filter((c) => remove.has(c));
  if (order.length === 0) return { table: name, remove: [], kept, unlinks: [] };
  const restore = [
    `*${name}`,
    ...order.map((c) => `:${c} - [0:0]`),
    ...unlinks.map((s) => `-D ${s}`),
    ...order.map((c) => `-X ${c}`),
    'COMMIT',
    '',
  ].join('\n');
  return { table: name, remove: order, kept, unlinks, restore };
}
