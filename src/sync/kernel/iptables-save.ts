/**
 * `iptables-save` text → its tables, chains and rules (pure). The one reader of that
 * format: the iptables proxier (the chains a family holds), `kpx cleanup` (what to
 * unlink and delete) and `kpx diff` (what to compare) all use it.
 */

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
