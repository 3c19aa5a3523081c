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
import { BUILTIN_CHAINS, type SavedTable } from '../kernel/iptables-save.js';

export { BUILTIN_CHAINS, parseSave, type SavedTable } from '../kernel/iptables-save.js';

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
