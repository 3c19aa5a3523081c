/**
 * Scripts for `nft -f -`. A script is one transaction: the kernel applies all of it or
 * none of it.
 */
import { TABLE_NAME } from './names.js';
import { formatTable } from './format.js';
import { checkName } from '../safe.js';
import type { NftFamily, NftRuleset } from './types.js';

/**
 * Replace kpx's tables atomically. For each table, `add table` (a no-op when it exists)
 * makes the following `delete table` safe on a fresh node, and the full definition
 * re-creates it; all in one transaction, so packets never see a missing table.
 */
export function toNftScript(ruleset: NftRuleset): string {
  const parts = ruleset.tables.map((t) =>
    [`add table ${t.family} ${t.name}`, `delete table ${t.family} ${t.name}`, formatTable(t)].join('\n'),
  );
  return `${parts.join('\n')}\n`;
}

/** The tables kpx may own, for cleanup: both families by default. */
export const KPX_TABLES: readonly { readonly family: NftFamily; readonly name: string }[] = [
  { family: 'ip', name: TABLE_NAME },
  { family: 'ip6', name: TABLE_NAME },
];

/**
 * Delete kpx's tables, whether or not they exist (each is added first, so the delete
 * cannot fail with ENOENT). One transaction.
 */
export function toNftCleanupScript(tables: readonly { readonly family: NftFamily; readonly name: string }[] = KPX_TABLES): string {
  return `${tables.map((t) => {
    const name = checkName('table name', t.name, 'nft printer');
    return `add table ${t.family} ${name}\ndelete table ${t.family} ${name}`;
  }).join('\n')}\n`;
}
