/**
 * The restore input of one sync for one family (pure): the chains whose wanted text
 * differs from what was applied, each declared (`:NAME - [0:0]`: created, or flushed
 * when it exists) and refilled; chains no longer wanted declared (flushed) and deleted
 * with `-X` after every rule, in the same input — the rules that jumped to them are
 * rewritten in it, as upstream's iptables proxier deletes stale chains.
 */
import { formatChainLine } from '../../render/iptables/format.js';
import type { IptTableName } from './pieces.js';
import { parseSave } from '../kernel/iptables-save.js';

export const CANARY = 'KUBE-PROXY-CANARY';
/** Tables that get the canary chain (upstream: mangle, nat, filter; mangle checked first). */
export const CANARY_TABLES = ['mangle', 'nat', 'filter'] as const;
export const TABLES: readonly IptTableName[] = ['filter', 'nat'];

/** What kpx believes a family's tables hold: chain → its lines joined with '\n'. */
export type Applied = Record<IptTableName, Map<string, string>>;

export const emptyApplied = (): Applied => ({ filter: new Map(), nat: new Map() });

export interface FamilyPlan {
  /** Restore input; '' when nothing changes. */
  readonly input: string;
  /** Chain declarations, rules and deletions in it. */
  readonly ops: number;
  /** Chains written (name → text) and deleted, per table. */
  readonly written: Record<IptTableName, Map<string, string>>;
  readonly deleted: Record<IptTableName, string[]>;
}

/**
 * `want(table, name)`: the chain's wanted text (undefined: not wanted). `candidates`:
 * the chains that may differ (all of them on a full sync). `full`: every wanted
 * candidate is written, changed or not, plus the canary chains.
 */
export function planFamily(
  candidates: Record<IptTableName, Iterable<string>>,
  want: (table: IptTableName, name: string) => string | undefined,
  applied: Applied,
  full: boolean,
): FamilyPlan {
  const sections: string[] = [];
  let ops = 0;
  const written = { filter: new Map<string, string>(), nat: new Map<string, string>() };
  const deleted: Record<IptTableName, string[]> = { filter: [], nat: [] };
  if (full) {
    sections.push('*mangle', formatChainLine({ name: CANARY, builtin: false }), 'COMMIT');
    ops++;
  }
  for (const table of TABLES) {
    const decl: string[] = [];
    const rules: string[] = [];
    const drops: string[] = [];
    const seen = new Set<string>();
    for (const name of candidates[table]) {
      if (seen.has(name)) continue;
      seen.add(name);
      const text = want(table, name);
      const have = applied[table].get(name);
      if (text !== undefined) {
        if (!full && text === have) continue;
        decl.push(formatChainLine({ name, builtin: false }));
        if (text !== '') rules.push(text);
        written[table].set(name, text);
      } else if (have !== undefined || full) {
        decl.push(formatChainLine({ name, builtin: false }));
        drops.push(`-X ${name}`);
        deleted[table].push(name);
      }
    }
    if (full) decl.push(formatChainLine({ name: CANARY, builtin: false }));
    if (decl.length === 0) continue;
    const ruleLines = rules.join('\n');
    ops += decl.length + drops.length + (ruleLines === '' ? 0 : ruleLines.split('\n').length);
    sections.push(`*${table}`, ...decl, ...(ruleLines !== '' ? [ruleLines] : []), ...drops, 'COMMIT');
  }
  return { input: ops > 0 ? `${sections.join('\n')}\n` : '', ops, written, deleted };
}

/** Records a plan that the kernel accepted. */
export function commitPlan(applied: Applied, plan: FamilyPlan): void {
  for (const table of TABLES) {
    for (const [name, text] of plan.written[table]) applied[table].set(name, text);
    for (const name of plan.deleted[table]) applied[table].delete(name);
  }
}

/** Chain names declared in `iptables-save` output. */
export function savedChains(save: string): string[] {
  return parseSave(save).flatMap((t) => t.chains);
}
