/**
 * FakeIptablesKernel — a FAKE for unit tests, not a kernel. It parses the
 * `iptables-restore --noflush` input kpx emits (and `iptables-save` output), applies each
 * `*table … COMMIT` section to a copy and keeps it only when the whole section is valid,
 * as iptables-restore commits per table (earlier sections of a failing input stay).
 * It refuses what the real tools refuse (checked side by side by
 * test/sync/iptables-kernel.test.ts): a rule in or a jump to a missing chain, `-X` of a
 * missing, non-empty or referenced chain, a section without COMMIT, `-D` of a missing
 * rule. A chain declared twice is accepted (both flavours accept it). It counts every
 * tool run and remembers every restore input.
 */
import type { IPFamily } from '../../model/types.js';
import { quoteArg } from '../../render/restore.js';
import { IptablesError, locate } from './iptables-error.js';
import type { IptablesKernel } from './iptables.js';
import type { IptablesFlavour } from './iptables-flavour.js';

const BUILTIN: Record<string, readonly string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
};

/** Targets that are extensions, not chains. */
const TARGETS = new Set([
  'ACCEPT', 'DROP', 'RETURN', 'REJECT', 'QUEUE', 'MARK', 'MASQUERADE', 'DNAT', 'SNAT', 'REDIRECT', 'LOG',
  'CONNMARK', 'NOTRACK', 'CT', 'TPROXY', 'CHECKSUM', 'NFLOG', 'TCPMSS',
]);

interface Chain { policy: string | undefined; rules: string[] }
type Table = Map<string, Chain>;

/** Splits an iptables-restore line into words (double quotes, backslash escapes). */
export function splitWords(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (line[i] === ' ' || line[i] === '\t') i++;
    if (i >= line.length) break;
    let w = '';
    let quoted = false;
    while (i < line.length && (quoted || (line[i] !== ' ' && line[i] !== '\t'))) {
      const c = line[i]!;
      if (c === '"') { quoted = !quoted; i++; continue; }
      if (c === '\\' && quoted && i + 1 < line.length) { w += line[i + 1]; i += 2; continue; }
      w += c;
      i++;
    }
    out.push(w);
  }
  return out;
}

/** The rule text kept for comparison: its words re-quoted canonically. */
export const ruleText = (args: readonly string[]): string => args.map(quoteArg).join(' ');

function targetOf(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length - 1; i++) if (args[i] === '-j' || args[i] === '-g') return args[i + 1];
  return undefined;
}

function newTable(name: string): Table {
  return new Map((BUILTIN[name] ?? []).map((c) => [c, { policy: 'ACCEPT', rules: [] }]));
}

/**
 * A section's working copy: shares the chains with `t` and copies one on its first
 * change (a partial restore of a 10k-Service table copies a handful of chains, not all).
 */
class Work extends Map<string, Chain> {
  private readonly own = new Set<Chain>();
  constructor(t: Table) { super(t); }
  /** The chain, copied for writing. */
  writable(name: string): Chain | undefined {
    const c = super.get(name);
    if (c === undefined || this.own.has(c)) return c;
    const copy = { policy: c.policy, rules: [...c.rules] };
    this.own.add(copy);
    super.set(name, copy);
    return copy;
  }
  /** A new chain (owned by this copy). */
  create(name: string): void {
    const c = { policy: undefined, rules: [] };
    this.own.add(c);
    super.set(name, c);
  }
}

export class FakeIptablesKernel implements IptablesKernel {
  private readonly state: Record<IPFamily, Map<string, Table>> = { ipv4: new Map(), ipv6: new Map() };
  /** Every restore input, in order. */
  readonly restores: { family: IPFamily; input: string }[] = [];
  /** Tool runs of each kind. */
  readonly counts = { restore: 0, check: 0, insert: 0, list: 0, save: 0 };
  /** Fail the next restore with this message (tests of the failure path). */
  failNext: string | undefined;

  constructor(readonly flavour: IptablesFlavour = 'nft') {}

  /** Every tool run so far. */
  get calls(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }

  private table(family: IPFamily, name: string): Table {
    let t = this.state[family].get(name);
    if (!t) this.state[family].set(name, (t = newTable(name)));
    return t;
  }

  async restore(family: IPFamily, input: string): Promise<void> {
    this.counts.restore++;
    this.restores.push({ family, input });
    const tool = `${family === 'ipv6' ? 'ip6tables' : 'iptables'}-${this.flavour}-restore (fake)`;
    const fail = (line: number, msg: string): never => {
      const w = locate(input, line);
      throw new IptablesError(`${tool}: line ${line}${w.chain !== undefined ? ` (chain ${w.chain} in ${w.table})` : ''}: ${msg}`,
        tool, line, w.lineText, w.table, w.chain, -1, msg);
    };
    if (this.failNext !== undefined) { const m = this.failNext; this.failNext = undefined; fail(1, m); }
    const lines = input.split('\n');
    let name: string | undefined;
    let work: Work | undefined;
    for (let n = 1; n <= lines.length; n++) {
      const line = lines[n - 1]!.trim();
      if (line === '' || line.startsWith('#')) continue;
      if (line.startsWith('*')) {
        if (work) fail(n, 'COMMIT expected');
        name = line.slice(1);
        if (BUILTIN[name] === undefined) fail(n, `unknown table ${name}`);
        work = new Work(this.table(family, name));
        continue;
      }
      if (!work || name === undefined) { fail(n, 'no table'); return; }
      if (line === 'COMMIT') { this.state[family].set(name, work); work = undefined; continue; }
      if (line.startsWith(':')) {
        const [chain = '', policy = '-'] = line.slice(1).split(/\s+/);
        const builtin = (BUILTIN[name] ?? []).includes(chain);
        if (builtin !== (policy !== '-')) fail(n, `bad policy for ${chain}`);
        const c = work.writable(chain);
        if (c) { c.rules = []; if (builtin) c.policy = policy; } else work.create(chain);
        continue;
      }
      this.command(work, splitWords(line), (msg) => fail(n, msg));
    }
    if (work) fail(lines.length, 'COMMIT expected');
  }

  /** One `-A/-I/-D/-F/-X/-N/-P` command applied to `t`. */
  private command(t: Work, words: readonly string[], fail: (msg: string) => never): void {
    const [op, chain, ...rest] = words;
    const c = chain !== undefined ? t.writable(chain) : undefined;
    const needChain = (): Chain => c ?? fail(`No chain/target/match by that name: ${chain}`);
    const checkTarget = (args: readonly string[]): void => {
      const target = targetOf(args);
      if (target !== undefined && !TARGETS.has(target) && !t.has(target)) fail(`Chain '${target}' does not exist`);
    };
    switch (op) {
      case '-A': { const ch = needChain(); checkTarget(rest); ch.rules.push(ruleText(rest)); return; }
      case '-I': {
        const ch = needChain();
        const pos = /^\d+$/.test(rest[0] ?? '') ? Number(rest[0]) : 1;
        const args = /^\d+$/.test(rest[0] ?? '') ? rest.slice(1) : rest;
        checkTarget(args);
        if (pos < 1 || pos > ch.rules.length + 1) fail('Index of insertion too big');
        ch.rules.splice(pos - 1, 0, ruleText(args));
        return;
      }
      case '-D': {
        const ch = needChain();
        const i = ch.rules.indexOf(ruleText(rest));
        if (i < 0) fail('Bad rule (does a matching rule exist in that chain?)');
        ch.rules.splice(i, 1);
        return;
      }
      case '-F': if (chain === undefined) { for (const n of t.keys()) t.writable(n)!.rules = []; } else needChain().rules = []; return;
      case '-N': if (c) fail('Chain already exists'); t.create(chain!); return;
      case '-P': { const ch = needChain(); if (ch.policy === undefined) fail('Bad built-in chain name'); ch.policy = rest[0]; return; }
      case '-X': {
        if (chain === undefined) { for (const [n, x] of t) if (x.policy === undefined) this.deleteChain(t, n, x, fail); return; }
        this.deleteChain(t, chain, needChain(), fail);
        return;
      }
      default: fail(`unknown command ${op ?? ''}`);
    }
  }

  private deleteChain(t: Work, name: string, c: Chain, fail: (msg: string) => never): void {
    if (c.policy !== undefined) fail(`cannot delete built-in chain ${name}`);
    if (c.rules.length > 0) fail(`Directory not empty: ${name}`);
    for (const x of t.values()) {
      if (x.rules.some((r) => r.includes(name) && targetOf(splitWords(r)) === name)) fail(`Device or resource busy: ${name} is referenced`);
    }
    t.delete(name);
  }

  async ensureRule(family: IPFamily, table: string, chain: string, args: readonly string[]): Promise<boolean> {
    this.counts.check++;
    const c = this.table(family, table).get(chain);
    if (c?.rules.includes(ruleText(args))) return false;
    this.counts.insert++;
    const tool = `${family === 'ipv6' ? 'ip6tables' : 'iptables'}-${this.flavour} (fake)`;
    this.exec(family, table, ['-I', chain, '1', ...args], (msg) => { throw new IptablesError(`${tool}: ${msg}`, tool, undefined, undefined, table, chain, -1, msg); });
    return true;
  }

  async chainExists(family: IPFamily, table: string, chain: string): Promise<boolean> {
    this.counts.list++;
    return this.state[family].get(table)?.has(chain) === true;
  }

  async save(family: IPFamily, table: string): Promise<string> {
    this.counts.save++;
    return this.dump(family, [table]);
  }

  /**
   * The state as iptables-save prints it, normalised: tables and user chains sorted by
   * name, built-in chains in kernel order, no counters.
   */
  dump(family: IPFamily = 'ipv4', tables?: readonly string[]): string {
    const out: string[] = [];
    const names = tables ?? [...this.state[family].keys()].sort();
    for (const name of names) {
      const t = this.state[family].get(name);
      if (!t) continue;
      const builtins = (BUILTIN[name] ?? []).filter((c) => t.has(c));
      const users = [...t.keys()].filter((c) => t.get(c)!.policy === undefined).sort();
      out.push(`*${name}`);
      for (const c of builtins) out.push(`:${c} ${t.get(c)!.policy} [0:0]`);
      for (const c of users) out.push(`:${c} - [0:0]`);
      for (const c of [...builtins, ...users]) for (const r of t.get(c)!.rules) out.push(`-A ${c} ${r}`);
      out.push('COMMIT');
    }
    return out.length > 0 ? `${out.join('\n')}\n` : '';
  }

  /** Removes one table of a family (tests: someone flushed the table). */
  dropTable(family: IPFamily, table: string): void {
    this.state[family].delete(table);
  }

  /** Runs `iptables -t TABLE ARGS...` style commands against the state (tests: foreign rules, deletions). */
  exec(family: IPFamily, table: string, words: readonly string[], fail: (msg: string) => never = (msg) => { throw new Error(msg); }): void {
    const work = new Work(this.table(family, table));
    this.command(work, words, fail);
    this.state[family].set(table, work);
  }
}
