/**
 * iptables-restore text, shared by the backends that emit x_tables rules (iptables, and
 * IPVS's glue): table sections, chain declarations, quoting, marks. Each backend passes
 * its own rule → argument-list function.
 */

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

export interface RestoreOptions {
  /**
   * Include the built-in chains and kpx's jump rules in them (default true). Loaded
   * without `--noflush`, the text then replaces the whole `filter` and `nat` tables
   * (a private namespace, a dedicated node). False prints only kube-proxy's own chains,
   * for `iptables-restore --noflush` with the jumps ensured separately, as kube-proxy does.
   */
  readonly builtinJumps?: boolean;
}

/** The chain's declaration line: `:KUBE-SERVICES - [0:0]`, built-ins `:INPUT ACCEPT [0:0]`. */
export function formatChainLine(chain: { readonly name: string; readonly builtin: boolean }): string {
  return `:${chain.name} ${chain.builtin ? 'ACCEPT' : '-'} [0:0]`;
}

/** `-A CHAIN args…`, quoted. */
export function formatRuleLine(chain: string, args: readonly string[]): string {
  return ['-A', chain, ...args].map(quoteArg).join(' ');
}

/** One `*table … COMMIT` section. */
export function formatRestoreTable<R>(table: RestoreTable<R>, ruleArgs: (r: R) => string[], options: RestoreOptions = {}): string {
  const chains = table.chains.filter((c) => options.builtinJumps !== false || !c.builtin);
  const lines = [`*${table.name}`, ...chains.map(formatChainLine)];
  for (const c of chains) for (const r of c.rules) lines.push(formatRuleLine(c.name, ruleArgs(r)));
  lines.push('COMMIT');
  return lines.join('\n');
}
