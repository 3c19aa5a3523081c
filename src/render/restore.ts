/**
 * iptables-restore text, shared by the backends that emit x_tables rules (iptables, and
 * IPVS's glue): table sections, chain declarations, quoting, marks. Each backend passes
 * its own rule → argument-list function.
 *
 * Two forms:
 * - `noflush` (default): only kpx's own chains (KUBE-*, KPX-*), each declared
 *   `:NAME - [0:0]`, which with `iptables-restore --noflush` creates or flushes just that
 *   chain. No built-in chain is declared (no policy is reset) and no foreign chain or rule
 *   is touched. The jumps from the built-in chains are not in it: `builtinJumps` lists them
 *   for the load script (xtables-script.ts), which adds each only when missing.
 * - `full`: whole tables, built-in chains with policy ACCEPT and kpx's jumps in them, for
 *   `iptables-restore` without `--noflush`: it replaces the `filter` and `nat` tables
 *   completely (a private namespace, a node nothing else programs). `kpx render --full-tables`.
 */
import { UnsafeRenderTextError, checkComment, checkName, checkWord } from './safe.js';

/** `0x4000`, as iptables-save prints marks. */
export function formatMark(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

/** One argument as iptables-restore reads it: quoted only when it must be. */
export function quoteArg(word: string): string {
  if (word !== '' && !/[\s"'\\]/.test(word)) return word;
  return `"${word.replace(/["\\]/g, '\\$&')}"`;
}

export interface RestoreChain<R> {
  readonly name: string;
  readonly builtin: boolean;
  readonly rules: readonly R[];
}

export interface RestoreTable<R> {
  readonly name: string;
  readonly chains: readonly RestoreChain<R>[];
}

export type RestoreForm = 'noflush' | 'full';

export interface RestoreOptions {
  /** `noflush` (default): kpx's own chains only; `full`: whole tables (see above). */
  readonly form?: RestoreForm;
}

/** A jump rule in a built-in chain, as argument words after `-t TABLE -I CHAIN`. */
export interface BuiltinJump {
  readonly table: string;
  readonly chain: string;
  readonly args: readonly string[];
}

const PRINTER = 'iptables-restore printer';
/** XT_EXTENSION_MAXNAMELEN − 1. */
const CHAIN_MAX = 28;
const TABLES = new Set(['filter', 'nat', 'mangle', 'raw']);

function checkTable(name: string): string {
  if (!TABLES.has(name)) throw new UnsafeRenderTextError('table name', name, PRINTER);
  return name;
}

/**
 * Every word of a rule passes the allowlist: a comment (the word after `--comment`) as
 * comment text, every other word as a plain argument (safe.ts).
 */
export function checkRuleArgs(args: readonly string[]): readonly string[] {
  args.forEach((a, i) => (args[i - 1] === '--comment' ? checkComment(a, PRINTER) : checkWord(a, PRINTER)));
  return args;
}

/** The chain's declaration line: `:KUBE-SERVICES - [0:0]`, built-ins `:INPUT ACCEPT [0:0]`. */
export function formatChainLine(chain: { readonly name: string; readonly builtin: boolean }): string {
  return `:${checkName('chain name', chain.name, PRINTER, CHAIN_MAX)} ${chain.builtin ? 'ACCEPT' : '-'} [0:0]`;
}

/** `-A CHAIN args…`, quoted. */
export function formatRuleLine(chain: string, args: readonly string[]): string {
  return ['-A', checkName('chain name', chain, PRINTER, CHAIN_MAX), ...checkRuleArgs(args)].map(quoteArg).join(' ');
}

/** One `*table … COMMIT` section. */
export function formatRestoreTable<R>(table: RestoreTable<R>, ruleArgs: (r: R) => string[], options: RestoreOptions = {}): string {
  const chains = table.chains.filter((c) => options.form === 'full' || !c.builtin);
  const lines = [`*${checkTable(table.name)}`, ...chains.map(formatChainLine)];
  for (const c of chains) for (const r of c.rules) lines.push(formatRuleLine(c.name, ruleArgs(r)));
  lines.push('COMMIT');
  return lines.join('\n');
}

/** The rules of the built-in chains (kpx's jumps into its own chains), in chain order. */
export function builtinJumps<R>(tables: readonly RestoreTable<R>[], ruleArgs: (r: R) => string[]): BuiltinJump[] {
  return tables.flatMap((t) => t.chains.filter((c) => c.builtin).flatMap((c) => c.rules.map((r) => ({
    table: checkTable(t.name),
    chain: checkName('chain name', c.name, PRINTER, CHAIN_MAX),
    args: checkRuleArgs(ruleArgs(r)),
  }))));
}
