/**
 * The x_tables walker that iptables.ts and the IPVS glue (ipvs-glue.ts) share. Each
 * gives its rule vocabulary as a dialect: tables of match and target evaluators keyed
 * by kind, and its printer; a kind missing from a table throws UnknownRuleError.
 *
 * Semantics modelled (x_tables as iptables-legacy and iptables-nft both implement them),
 * for the first packet of a new connection:
 * - built-in chains at the kernel's priorities: nat PREROUTING and OUTPUT at -100
 *   (NF_IP_PRI_NAT_DST), filter INPUT/FORWARD/OUTPUT at 0, nat INPUT and POSTROUTING at
 *   100 (NF_IP_PRI_NAT_SRC); policy ACCEPT;
 * - a rule's matches are ANDed in order; a match may fork the world (`-m statistic`);
 * - `-j CHAIN` returns to the caller at the end of CHAIN or on RETURN; RETURN or the end
 *   of a built-in chain applies its policy;
 * - ACCEPT ends the table's traversal for this hook; DNAT and MASQUERADE too (nat);
 *   DROP and REJECT end the packet; MARK and a rule without a target continue.
 */
import type { IPFamily } from '../model/types.js';
import { addrMatches } from './addr.js';
import { addStep, withConn, type ChainExit, type HookEntry, type World } from './engine.js';
import { UnknownRuleError, unknownShape, type Hook } from './types.js';

/** Built-in chains: where they hook in and at which priority. */
const BUILTINS: Readonly<Record<'filter' | 'nat', Readonly<Record<string, { hook: Hook; priority: number }>>>> = {
  filter: {
    INPUT: { hook: 'input', priority: 0 },
    FORWARD: { hook: 'forward', priority: 0 },
    OUTPUT: { hook: 'output', priority: 0 },
  },
  nat: {
    PREROUTING: { hook: 'prerouting', priority: -100 },
    INPUT: { hook: 'input', priority: 100 },
    OUTPUT: { hook: 'output', priority: -100 },
    POSTROUTING: { hook: 'postrouting', priority: 100 },
  },
};

/** x_tables' jump stack is bounded too; kpx's chains nest three deep. */
const MAX_DEPTH = 32;

export interface Kinded { readonly kind: string }

export interface XtRule {
  readonly matches: readonly Kinded[];
  readonly target?: Kinded;
}

type MatchOf<R extends XtRule> = R['matches'][number];
type TargetOf<R extends XtRule> = NonNullable<R['target']>;

export interface XtChain<R> {
  readonly name: string;
  readonly builtin: boolean;
  readonly rules: readonly R[];
}

export interface XtTable<R> {
  readonly name: 'filter' | 'nat';
  readonly chains: readonly XtChain<R>[];
}

/** Where a rule is evaluated, as the evaluators see it. */
export interface XtCtx<E> {
  /** `iptables` or `ipvs`: the tracer that errors name. */
  readonly tracer: string;
  readonly family: IPFamily;
  readonly table: 'filter' | 'nat';
  readonly hook: Hook;
  /** The dialect's own data (the glue: its ipsets). */
  readonly env: E;
}

export type MatchResult = { readonly world: World; readonly ok: boolean };
export type TargetRes = 'next' | 'RETURN' | 'ACCEPT' | 'DROP' | 'REJECT' | { readonly jump: string };
export type Applied = { readonly world: World; readonly res: TargetRes };

/** `before`: the rule's matches ahead of this one (`--dport` needs its protocol match). */
export type MatchEval<M, E> = (ctx: XtCtx<E>, w: World, m: M, before: readonly Kinded[]) => MatchResult[];
export type TargetEval<T, E> = (ctx: XtCtx<E>, w: World, t: T) => Applied;

/** The member(s) of U with kind K (one member may carry several kinds: ACCEPT | DROP | …). */
type Of<U extends Kinded, K extends string> = U extends unknown ? (K extends U['kind'] ? U : never) : never;

/** One evaluator per kind: a kind the vocabulary adds without an evaluator does not compile. */
export type Matches<M extends Kinded, E> = { readonly [K in M['kind']]: MatchEval<Of<M, K>, E> };
export type Targets<T extends Kinded, E> = { readonly [K in T['kind']]: TargetEval<Of<T, K>, E> };

/** A rule vocabulary `R`; `E` is the dialect's own data, handed to its evaluators. */
export interface XtDialect<R extends XtRule, E> {
  readonly tracer: string;
  readonly matches: Matches<MatchOf<R>, E>;
  readonly targets: Targets<TargetOf<R>, E>;
  /** The rule as the backend prints it (`-A CHAIN …`); throws UnknownRuleError if it cannot. */
  print(chain: string, rule: R): string;
  /**
   * Print (and so check) every rule the packet reaches, or only the rules that match.
   * iptables does the former, the glue the latter; both as before the walkers were one.
   */
  readonly printUnmatched: boolean;
}

export const one = (w: World, ok: boolean): MatchResult[] => [{ world: w, ok }];

function cidrOf(ctx: XtCtx<unknown>, cidr: string): string {
  if (cidr.includes(':') !== (ctx.family === 'ipv6')) {
    throw new UnknownRuleError(`${ctx.tracer} tracer: ${cidr} in an ${ctx.family} ruleset`);
  }
  return cidr;
}

/** Matches both vocabularies have, with the same meaning. */
export const COMMON_MATCHES = {
  comment: (_ctx: XtCtx<unknown>, w: World): MatchResult[] => one(w, true),
  protocol: (ctx: XtCtx<unknown>, w: World, m: { readonly protocol: string }): MatchResult[] => {
    if (m.protocol !== 'tcp' && m.protocol !== 'udp' && m.protocol !== 'sctp') unknownShape(ctx.tracer, 'protocol', m.protocol);
    return one(w, w.conn.proto === m.protocol);
  },
  source: (ctx: XtCtx<unknown>, w: World, m: { readonly cidr: string; readonly negate: boolean }): MatchResult[] =>
    one(w, addrMatches(cidrOf(ctx, m.cidr), w.conn.saddr, true) !== m.negate),
  destination: (ctx: XtCtx<unknown>, w: World, m: { readonly cidr: string; readonly negate: boolean }): MatchResult[] =>
    one(w, addrMatches(cidrOf(ctx, m.cidr), w.conn.daddr, true) !== m.negate),
  mark: (_ctx: XtCtx<unknown>, w: World, m: { readonly value: number; readonly mask: number; readonly negate: boolean }): MatchResult[] =>
    one(w, ((w.conn.mark & m.mask) >>> 0 === m.value >>> 0) !== m.negate),
};

const FILTER_HOOKS: readonly Hook[] = ['input', 'forward', 'output'];

/** Targets both vocabularies have, with the same meaning. */
export const COMMON_TARGETS = {
  jump: (_ctx: XtCtx<unknown>, w: World, t: { readonly chain: string }): Applied => ({ world: w, res: { jump: t.chain } }),
  ACCEPT: (_ctx: XtCtx<unknown>, w: World): Applied => ({ world: w, res: 'ACCEPT' }),
  DROP: (_ctx: XtCtx<unknown>, w: World): Applied => ({ world: w, res: 'DROP' }),
  RETURN: (_ctx: XtCtx<unknown>, w: World): Applied => ({ world: w, res: 'RETURN' }),
  REJECT: (ctx: XtCtx<unknown>, w: World): Applied => {
    if (ctx.table !== 'filter' || !FILTER_HOOKS.includes(ctx.hook)) {
      throw new UnknownRuleError(`${ctx.tracer} tracer: REJECT in ${ctx.table} on the ${ctx.hook} hook (only filter INPUT/FORWARD/OUTPUT)`);
    }
    return { world: w, res: 'REJECT' };
  },
  mark: (ctx: XtCtx<unknown>, w: World, t: { readonly op: 'or' | 'xor'; readonly mark: number }): Applied => {
    const mark = t.op === 'or' ? (w.conn.mark | t.mark) >>> 0 : t.op === 'xor' ? (w.conn.mark ^ t.mark) >>> 0 : unknownShape(ctx.tracer, 'mark op', t.op);
    return { world: withConn(w, { mark }), res: 'next' };
  },
  MASQUERADE: (ctx: XtCtx<unknown>, w: World): Applied => {
    if (ctx.table !== 'nat' || ctx.hook !== 'postrouting') throw new UnknownRuleError(`${ctx.tracer} tracer: MASQUERADE outside nat POSTROUTING`);
    return { world: withConn(w, { masquerade: true }), res: 'ACCEPT' };
  },
};

/**
 * The evaluator for `kind`, own properties only (`constructor` is not a match kind). The
 * tables are typed per kind; looked up by a kind, an evaluator takes that kind's shape.
 */
function lookup<F>(table: object, kind: string): F | undefined {
  return Object.hasOwn(table, kind) ? (table as Record<string, F>)[kind] : undefined;
}

interface Walk<R extends XtRule, E> {
  readonly d: XtDialect<R, E>;
  readonly ctx: XtCtx<E>;
  readonly chains: ReadonlyMap<string, XtChain<R>>;
}

type Exit = { readonly world: World; readonly exit: 'end' | 'return' | 'ACCEPT' | 'DROP' | 'REJECT' };

function evalMatch<R extends XtRule, E>(x: Walk<R, E>, w: World, m: Kinded, before: readonly Kinded[]): MatchResult[] {
  const ev = lookup<MatchEval<Kinded, E>>(x.d.matches, m.kind);
  return ev === undefined ? unknownShape(x.ctx.tracer, 'match', m) : ev(x.ctx, w, m, before);
}

function applyTarget<R extends XtRule, E>(x: Walk<R, E>, w: World, t: Kinded | undefined): Applied {
  if (t === undefined) return { world: w, res: 'next' };
  const ap = lookup<TargetEval<Kinded, E>>(x.d.targets, t.kind);
  return ap === undefined ? unknownShape(x.ctx.tracer, 'target', t) : ap(x.ctx, w, t);
}

function evalRule<R extends XtRule, E>(x: Walk<R, E>, w: World, chain: XtChain<R>, index: number, rule: R): Applied[] {
  let matched: World[] = [w];
  const failed: World[] = [];
  rule.matches.forEach((m, i) => {
    const next: World[] = [];
    for (const mw of matched) for (const r of evalMatch(x, mw, m, rule.matches.slice(0, i))) (r.ok ? next : failed).push(r.world);
    matched = next;
  });
  const skipped = failed.map((world) => ({ world, res: 'next' as const }));
  if (matched.length === 0 && !x.d.printUnmatched) return skipped;
  const text = x.d.print(chain.name, rule);
  return [
    ...skipped,
    ...matched.map((mw) => applyTarget(x, addStep(mw, { kind: 'rule', chain: chain.name, index, rule: text, text: `${x.ctx.table} ${text}` }), rule.target)),
  ];
}

function runChain<R extends XtRule, E>(x: Walk<R, E>, w: World, chain: XtChain<R>, from: number, depth: number): Exit[] {
  const tracer = x.ctx.tracer;
  if (depth > MAX_DEPTH) throw new UnknownRuleError(`${tracer} tracer: chains nested deeper than ${MAX_DEPTH} at ${chain.name}`);
  const rule = chain.rules[from];
  if (rule === undefined) return [{ world: w, exit: 'end' }];
  return evalRule(x, w, chain, from, rule).flatMap(({ world, res }): Exit[] => {
    if (res === 'next') return runChain(x, world, chain, from + 1, depth);
    if (res === 'RETURN') return [{ world, exit: 'return' }];
    if (typeof res === 'string') return [{ world, exit: res }];
    const target = x.chains.get(res.jump);
    if (target === undefined) throw new UnknownRuleError(`${tracer} tracer: jump to a missing chain ${res.jump} in ${x.ctx.table}`);
    if (target.builtin) throw new UnknownRuleError(`${tracer} tracer: jump to built-in chain ${res.jump}`);
    return runChain(x, world, target, 0, depth + 1).flatMap((e) =>
      e.exit === 'end' || e.exit === 'return' ? runChain(x, e.world, chain, from + 1, depth) : [e]);
  });
}

function builtinEntry<R extends XtRule, E>(
  d: XtDialect<R, E>, family: IPFamily, table: XtTable<R>, chain: XtChain<R>,
  chains: ReadonlyMap<string, XtChain<R>>, env: E,
): HookEntry {
  const at = BUILTINS[table.name]?.[chain.name] ?? unknownShape(d.tracer, `built-in chain of ${table.name}`, chain.name);
  const x: Walk<R, E> = { d, chains, ctx: { tracer: d.tracer, family, table: table.name, hook: at.hook, env } };
  return {
    hook: at.hook, priority: at.priority, type: table.name === 'nat' ? 'nat' : 'filter',
    table: `${family === 'ipv4' ? 'iptables' : 'ip6tables'} ${table.name}`, chain: chain.name,
    run: (w: World): ChainExit[] => runChain(x, w, chain, 0, 0).map((e): ChainExit => {
      switch (e.exit) {
        case 'end': case 'return': return { world: e.world, verdict: 'accept' };
        case 'ACCEPT': return { world: table.name === 'filter' ? withConn(e.world, { accepted: true }) : e.world, verdict: 'accept' };
        case 'DROP': return { world: e.world, verdict: 'drop' };
        case 'REJECT': return { world: e.world, verdict: 'reject' };
      }
    }),
  };
}

/** The built-in chains of one family's tables, as hook entries. */
export function xtablesEntries<R extends XtRule, E>(
  d: XtDialect<R, E>, family: IPFamily, tables: readonly XtTable<R>[], env: E,
): HookEntry[] {
  const entries: HookEntry[] = [];
  for (const table of tables) {
    if (table.name !== 'filter' && table.name !== 'nat') unknownShape(d.tracer, 'table', table.name);
    const chains = new Map(table.chains.map((c) => [c.name, c]));
    for (const c of table.chains) if (c.builtin) entries.push(builtinEntry(d, family, table, c, chains, env));
  }
  return entries;
}
