/**
 * Tracer over the iptables backend's typed ruleset (src/render/iptables/types.ts).
 *
 * Semantics modelled (x_tables as iptables-legacy and iptables-nft both implement them),
 * for the first packet of a new connection:
 * - built-in chains at the kernel's priorities: nat PREROUTING and OUTPUT at -100
 *   (NF_IP_PRI_NAT_DST), filter INPUT/FORWARD/OUTPUT at 0, nat INPUT and POSTROUTING at
 *   100 (NF_IP_PRI_NAT_SRC); policy ACCEPT;
 * - `-j CHAIN` returns to the caller at the end of CHAIN or on RETURN; RETURN or the end
 *   of a built-in chain applies its policy;
 * - ACCEPT ends the table's traversal for this hook; DNAT and MASQUERADE too (nat);
 *   DROP and REJECT end the packet; MARK and a rule without a target continue;
 * - `-m statistic --mode random --probability P` matches with probability P, drawn
 *   afresh per rule;
 * - `-m conntrack --ctstate`: the packet is NEW, and DNAT once a DNAT was set up;
 * - `-m recent --rcheck` fails for a fresh client (empty lists); `--set` matches and
 *   records the client, which makes later connections sticky.
 *
 * Anything else throws UnknownRuleError.
 */
import type { IPFamily } from '../model/types.js';
import { formatRule } from '../render/iptables/format.js';
import type { CtState, IptChain, IptMatch, IptRule, IptTable, IptTarget, IptablesRuleset } from '../render/iptables/types.js';
import { addrMatches, hostPort, isLocal } from './addr.js';
import { addStep, fork, runTrace, withConn, type ChainExit, type HookEntry, type TraceProgram, type World } from './engine.js';
import { UnknownRuleError, type Hook, type TraceInput, type TraceResult, type Tracer } from './types.js';

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

const KNOWN_STATES: readonly CtState[] = ['NEW', 'INVALID', 'RELATED', 'ESTABLISHED', 'DNAT'];

/** x_tables' jump stack is bounded too; kpx's chains nest three deep. */
const MAX_DEPTH = 32;

interface Ctx {
  readonly family: IPFamily;
  readonly table: IptTable;
  readonly chains: ReadonlyMap<string, IptChain>;
  readonly hook: Hook;
}

type Exit = { readonly world: World; readonly exit: 'end' | 'return' | 'ACCEPT' | 'DROP' | 'REJECT' };

/** The rule as the backend prints it; a printer failure is an unknown shape too. */
function printable(print: () => string): string {
  try {
    return print();
  } catch (err) {
    throw new UnknownRuleError(`iptables tracer: cannot print rule (unknown shape?): ${err instanceof Error ? err.message : String(err)}`);
  }
}

function unknown(what: string, value: unknown): never {
  throw new UnknownRuleError(`iptables tracer: unknown ${what}: ${JSON.stringify(value)}`);
}

function cidrOf(ctx: Ctx, cidr: string): string {
  if (cidr.includes(':') !== (ctx.family === 'ipv6')) {
    throw new UnknownRuleError(`iptables tracer: ${cidr} in an ${ctx.family} ruleset`);
  }
  return cidr;
}

function evalMatch(ctx: Ctx, w: World, m: IptMatch, before: readonly IptMatch[]): { world: World; ok: boolean }[] {
  const one = (ok: boolean): { world: World; ok: boolean }[] => [{ world: w, ok }];
  switch (m.kind) {
    case 'comment':
      return one(true);
    case 'protocol':
      if (m.protocol !== 'tcp' && m.protocol !== 'udp' && m.protocol !== 'sctp') unknown('protocol', m.protocol);
      return one(w.conn.proto === m.protocol);
    case 'dport':
      // --dport is an option of the protocol match (`-m tcp -p tcp`), which must come first.
      if (!before.some((b) => b.kind === 'protocol')) throw new UnknownRuleError('iptables tracer: --dport without a preceding protocol match');
      return one(w.conn.dport === m.port);
    case 'source':
      return one(addrMatches(cidrOf(ctx, m.cidr), w.conn.saddr, true) !== m.negate);
    case 'destination':
      return one(addrMatches(cidrOf(ctx, m.cidr), w.conn.daddr, true) !== m.negate);
    case 'addrtype-local': {
      const addr = m.addr === 'src' ? w.conn.saddr : m.addr === 'dst' ? w.conn.daddr : unknown('addrtype', m.addr);
      return one(isLocal(addr, w.conn.local));
    }
    case 'mark':
      return one(((w.conn.mark & m.mask) >>> 0 === m.value >>> 0) !== m.negate);
    case 'conntrack': {
      for (const s of m.states) if (!KNOWN_STATES.includes(s)) unknown('conntrack state', s);
      const states: CtState[] = w.conn.dnat !== undefined ? ['NEW', 'DNAT'] : ['NEW'];
      return one(m.states.some((s) => states.includes(s)) !== m.negate);
    }
    case 'statistic-random': {
      if (!(m.probability > 0 && m.probability <= 1)) unknown('statistic probability', m.probability);
      return fork(w, `statistic random probability ${m.probability.toFixed(10)}`, [
        { label: 'true', p: m.probability, value: true },
        { label: 'false', p: 1 - m.probability, value: false },
      ]).map((b) => ({ world: b.world, ok: b.value }));
    }
    case 'recent-check':
      return [{ world: addStep(w, { kind: 'note', text: `recent list ${m.name} (affinity) is empty for a fresh client` }), ok: false }];
    case 'recent-set':
      return [{
        world: withConn(addStep(w, { kind: 'note', text: `recent --set ${m.name}: the client is recorded (session affinity: later connections stick to this choice)` }), { sticky: true }),
        ok: true,
      }];
    default:
      return unknown('match', m);
  }
}

function applyTarget(ctx: Ctx, w: World, t: IptTarget | undefined): { world: World; res: 'next' | 'RETURN' | 'ACCEPT' | 'DROP' | 'REJECT' | { jump: string } } {
  if (t === undefined) return { world: w, res: 'next' };
  const table = ctx.table.name;
  switch (t.kind) {
    case 'jump':
      return { world: w, res: { jump: t.chain } };
    case 'ACCEPT': case 'DROP': case 'RETURN':
      return { world: w, res: t.kind };
    case 'REJECT':
      if (table !== 'filter' || (ctx.hook !== 'input' && ctx.hook !== 'forward' && ctx.hook !== 'output')) {
        throw new UnknownRuleError(`iptables tracer: REJECT in ${table} on the ${ctx.hook} hook (only filter INPUT/FORWARD/OUTPUT)`);
      }
      return { world: w, res: 'REJECT' };
    case 'mark': {
      const mark = t.op === 'or' ? (w.conn.mark | t.mark) >>> 0 : t.op === 'xor' ? (w.conn.mark ^ t.mark) >>> 0 : unknown('mark op', t.op);
      return { world: withConn(w, { mark }), res: 'next' };
    }
    case 'MASQUERADE':
      if (table !== 'nat' || ctx.hook !== 'postrouting') throw new UnknownRuleError('iptables tracer: MASQUERADE outside nat POSTROUTING');
      return { world: withConn(w, { masquerade: true }), res: 'ACCEPT' };
    case 'DNAT': {
      if (table !== 'nat' || (ctx.hook !== 'prerouting' && ctx.hook !== 'output')) {
        throw new UnknownRuleError('iptables tracer: DNAT outside nat PREROUTING/OUTPUT');
      }
      const at = addStep(w, { kind: 'note', text: `DNAT to ${hostPort(t.ip, t.port)}` });
      return { world: withConn(at, { daddr: t.ip, dport: t.port, dnat: { addr: t.ip, port: t.port } }), res: 'ACCEPT' };
    }
    default:
      return unknown('target', t);
  }
}

function evalRule(ctx: Ctx, w: World, chain: IptChain, index: number, rule: IptRule): { world: World; res: ReturnType<typeof applyTarget>['res'] }[] {
  let matched: World[] = [w];
  const failed: World[] = [];
  rule.matches.forEach((m, i) => {
    const next: World[] = [];
    for (const mw of matched) for (const r of evalMatch(ctx, mw, m, rule.matches.slice(0, i))) (r.ok ? next : failed).push(r.world);
    matched = next;
  });
  const text = printable(() => formatRule(chain.name, rule));
  return [
    ...failed.map((world) => ({ world, res: 'next' as const })),
    ...matched.map((mw) => applyTarget(ctx, addStep(mw, { kind: 'rule', chain: chain.name, index, rule: text, text: `${ctx.table.name} ${text}` }), rule.target)),
  ];
}

function runChain(ctx: Ctx, w: World, chain: IptChain, from: number, depth: number): Exit[] {
  if (depth > MAX_DEPTH) throw new UnknownRuleError(`iptables tracer: chains nested deeper than ${MAX_DEPTH} at ${chain.name}`);
  const rule = chain.rules[from];
  if (rule === undefined) return [{ world: w, exit: 'end' }];
  return evalRule(ctx, w, chain, from, rule).flatMap(({ world, res }): Exit[] => {
    if (res === 'next') return runChain(ctx, world, chain, from + 1, depth);
    if (res === 'RETURN') return [{ world, exit: 'return' }];
    if (typeof res === 'string') return [{ world, exit: res }];
    const target = ctx.chains.get(res.jump);
    if (target === undefined) throw new UnknownRuleError(`iptables tracer: jump to a missing chain ${res.jump} in ${ctx.table.name}`);
    if (target.builtin) throw new UnknownRuleError(`iptables tracer: jump to built-in chain ${res.jump}`);
    return runChain(ctx, world, target, 0, depth + 1).flatMap((e) =>
      e.exit === 'end' || e.exit === 'return' ? runChain(ctx, e.world, chain, from + 1, depth) : [e]);
  });
}

function builtinEntry(family: IPFamily, table: IptTable, chain: IptChain, chains: ReadonlyMap<string, IptChain>): HookEntry {
  const at = BUILTINS[table.name]?.[chain.name];
  if (at === undefined) unknown(`built-in chain of ${table.name}`, chain.name);
  const ctx: Ctx = { family, table, chains, hook: at.hook };
  return {
    hook: at.hook, priority: at.priority, type: table.name === 'nat' ? 'nat' : 'filter',
    table: `${family === 'ipv4' ? 'iptables' : 'ip6tables'} ${table.name}`, chain: chain.name,
    run: (w: World): ChainExit[] => runChain(ctx, w, chain, 0, 0).map((e) => {
      switch (e.exit) {
        case 'end': case 'return': return { world: e.world, verdict: 'accept' as const };
        case 'ACCEPT': return { world: table.name === 'filter' ? withConn(e.world, { accepted: true }) : e.world, verdict: 'accept' as const };
        case 'DROP': return { world: e.world, verdict: 'drop' as const };
        case 'REJECT': return { world: e.world, verdict: 'reject' as const };
      }
    }),
  };
}

export function iptablesProgram(rulesets: readonly IptablesRuleset[], family: IPFamily): TraceProgram {
  const entries: HookEntry[] = [];
  for (const r of rulesets) {
    if (r.family !== family) continue;
    for (const table of r.tables) {
      if (table.name !== 'filter' && table.name !== 'nat') unknown('table', table.name);
      const chains = new Map(table.chains.map((c) => [c.name, c]));
      for (const c of table.chains) if (c.builtin) entries.push(builtinEntry(family, table, c, chains));
    }
  }
  return { entries };
}

export function iptablesTracer(rulesets: readonly IptablesRuleset[]): Tracer {
  return {
    backend: 'iptables',
    trace: (input: TraceInput): TraceResult => runTrace('iptables', input, (family) => iptablesProgram(rulesets, family)),
  };
}
