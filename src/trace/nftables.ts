/**
 * Tracer over the nftables backend's typed ruleset (src/render/nftables/types.ts).
 *
 * Semantics modelled (nft 1.0.6, kernel 6.x), for the first packet of a new connection:
 * - base chains by hook and priority (engine.ts); policy accept;
 * - `jump` returns to the caller, `goto` does not (the goto'd chain's end returns to the
 *   chain that called the current one); a base chain's end applies its policy;
 * - a rule's matches are ANDed; a failed `vmap` / `dnat … map` lookup ends the rule
 *   (the next rule runs);
 * - `numgen random mod N` is uniform: every value is a branch of probability 1/N, drawn
 *   afresh at every evaluation;
 * - `dnat`, `masquerade`, `drop`, `reject`, `accept` end the base chain; `meta mark set`
 *   and `update @set` do not;
 * - `ct state new` holds; `ct status dnat` holds once a DNAT was set up;
 * - sets with the `dynamic` flag (ClientIP affinity) are empty for a fresh client;
 *   `update` records the client, which makes later connections sticky.
 *
 * Anything else (a match or statement kind, a verdict, a key expression, an element
 * shape the renderer does not emit today) throws UnknownRuleError.
 */
import type { IPFamily } from '../model/types.js';
import { formatRule } from '../render/nftables/format.js';
import type {
  NftChain, NftMap, NftMatch, NftRule, NftRuleset, NftSet, NftStatement, NftTable, NftVerdict,
} from '../render/nftables/types.js';
import { hostPort, isLocal } from './addr.js';
import { addStep, fork, runTrace, withConn, type ChainExit, type HookEntry, type TraceProgram, type World } from './engine.js';
import { evalKey, findElement } from './nftables-keys.js';
import { UnknownRuleError, printable, unknownShape, type Hook, type TraceInput, type TraceResult, type Tracer } from './types.js';

/** nft's jump stack depth (NFT_JUMP_STACK_SIZE). */
const MAX_DEPTH = 16;

interface Ctx {
  readonly table: NftTable;
  readonly label: string;
  readonly chains: ReadonlyMap<string, NftChain>;
  readonly sets: ReadonlyMap<string, NftSet>;
  readonly maps: ReadonlyMap<string, NftMap>;
  /** The base chain this evaluation started from. */
  readonly hook: Hook;
  readonly type: 'filter' | 'nat';
}

type RuleResult = 'next' | NftVerdict;
type Exit = { readonly world: World; readonly exit: 'end' | 'return' | 'accept' | 'drop' | 'reject' };

function unknown(what: string, value: unknown): never {
  return unknownShape('nftables', what, value);
}

function getSet(ctx: Ctx, name: string): NftSet {
  const s = ctx.sets.get(name);
  if (s === undefined) throw new UnknownRuleError(`nftables tracer: rule refers to a missing set @${name}`);
  return s;
}

function getMap(ctx: Ctx, name: string): NftMap {
  const m = ctx.maps.get(name);
  if (m === undefined) throw new UnknownRuleError(`nftables tracer: rule refers to a missing map @${name}`);
  return m;
}

function isDynamic(s: NftSet): boolean {
  return s.flags.includes('dynamic');
}

/** One match; returns the worlds where it holds (`ok`) and where it does not. */
function evalMatch(ctx: Ctx, w: World, m: NftMatch): { world: World; ok: boolean }[] {
  switch (m.kind) {
    case 'ct-state':
      if (m.state !== 'new') unknown('ct state', m.state);
      return [{ world: w, ok: true }];
    case 'ct-status':
      if (m.status !== 'dnat') unknown('ct status', m.status);
      return [{ world: w, ok: w.conn.dnat !== undefined }];
    case 'lookup': {
      const set = getSet(ctx, m.set);
      return evalKey(w, m.key).map(({ world, values }) => {
        if (isDynamic(set)) {
          const note = addStep(world, { kind: 'note', text: `@${m.set} (affinity) is empty for a fresh client` });
          return { world: note, ok: m.negate };
        }
        const hit = findElement(set.elements, m.key, values, set.flags.includes('interval'), set.name) !== undefined;
        return { world, ok: hit !== m.negate };
      });
    }
    case 'fib-local': {
      const addr = m.addr === 'saddr' ? w.conn.saddr : m.addr === 'daddr' ? w.conn.daddr : unknown('fib address', m.addr);
      return [{ world: w, ok: isLocal(addr, w.conn.local) }];
    }
    case 'l4proto':
      return [{ world: w, ok: w.conn.proto === m.protocol }];
    case 'numgen': {
      if (!Number.isInteger(m.mod) || m.mod < 1 || m.value < 0 || m.value >= m.mod) unknown('numgen match', m);
      return fork(w, `numgen random mod ${m.mod} == ${m.value}`, [
        { label: 'true', p: 1 / m.mod, value: true },
        { label: 'false', p: 1 - 1 / m.mod, value: false },
      ]).map((b) => ({ world: b.world, ok: b.value }));
    }
    case 'mark-clear':
      return [{ world: w, ok: (w.conn.mark & m.mask) === 0 }];
    default:
      return unknown('match', m);
  }
}

function formatVerdict(v: NftVerdict): string {
  return v.kind === 'jump' || v.kind === 'goto' ? `${v.kind} ${v.chain}` : v.kind;
}

function checkVerdict(v: NftVerdict): NftVerdict {
  switch (v.kind) {
    case 'accept': case 'drop': case 'return': case 'reject': case 'jump': case 'goto': return v;
    default: return unknown('verdict', v);
  }
}

function dnatTo(ctx: Ctx, w: World, addr: string, port: number, how: string): World {
  if (ctx.type !== 'nat' || (ctx.hook !== 'prerouting' && ctx.hook !== 'output')) {
    throw new UnknownRuleError(`nftables tracer: dnat outside a nat prerouting/output chain (${ctx.type} ${ctx.hook})`);
  }
  const at = addStep(w, { kind: 'note', text: `${how}: dnat to ${hostPort(addr, port)}` });
  return withConn(at, { daddr: addr, dport: port, dnat: { addr, port } });
}

/** Statements of a rule whose matches held. */
function evalStatements(ctx: Ctx, w: World, statements: readonly NftStatement[], from: number): { world: World; res: RuleResult }[] {
  const s = statements[from];
  if (s === undefined) return [{ world: w, res: 'next' }];
  const last = from === statements.length - 1;
  const terminal = (world: World, res: NftVerdict): { world: World; res: RuleResult }[] => {
    if (!last) throw new UnknownRuleError(`nftables tracer: statement after a terminal ${s.kind}`);
    return [{ world, res }];
  };
  const rest = (world: World): { world: World; res: RuleResult }[] => evalStatements(ctx, world, statements, from + 1);
  switch (s.kind) {
    case 'verdict':
      return terminal(w, checkVerdict(s.verdict));
    case 'vmap': {
      const map = getMap(ctx, s.map);
      if (!('type' in map.value) || map.value.type !== 'verdict') throw new UnknownRuleError(`nftables tracer: vmap on non-verdict map @${s.map}`);
      return evalKey(w, s.key).flatMap(({ world, values }) => {
        const el = findElement(map.elements, s.key, values, map.flags.includes('interval'), map.name);
        const shown = values.join(' . ');
        if (el === undefined) return [{ world: addStep(world, { kind: 'note', text: `@${s.map} has no element ${shown}: next rule` }), res: 'next' as const }];
        if (el.value.kind !== 'verdict') throw new UnknownRuleError(`nftables tracer: data value in verdict map @${s.map}`);
        const comment = el.comment !== undefined ? ` (${el.comment})` : '';
        const at = addStep(world, { kind: 'note', text: `@${s.map}: ${shown}${comment} → ${formatVerdict(el.value.verdict)}` });
        return terminal(at, checkVerdict(el.value.verdict));
      });
    }
    case 'dnat-map': {
      const map = getMap(ctx, s.map);
      return evalKey(w, s.key).flatMap(({ world, values }) => {
        const el = findElement(map.elements, s.key, values, map.flags.includes('interval'), map.name);
        const shown = values.join(' . ');
        if (el === undefined) return [{ world: addStep(world, { kind: 'note', text: `@${s.map} has no element ${shown}: next rule` }), res: 'next' as const }];
        if (el.value.kind !== 'data' || el.value.parts.length !== 2) throw new UnknownRuleError(`nftables tracer: @${s.map} value is not addr . port`);
        const [addr = '', port = ''] = el.value.parts;
        if (!/^\d+$/.test(port)) unknown('port in dnat map value', port);
        return terminal(dnatTo(ctx, world, addr, Number(port), `@${s.map}: ${shown}`), { kind: 'accept' });
      });
    }
    case 'dnat':
      return terminal(dnatTo(ctx, w, s.addr, s.port, 'dnat'), { kind: 'accept' });
    case 'set-update': {
      const set = getSet(ctx, s.set);
      if (!isDynamic(set)) throw new UnknownRuleError(`nftables tracer: update of non-dynamic set @${s.set}`);
      const noted = addStep(w, { kind: 'note', text: `update @${s.set}: the client is recorded for ${set.timeout ?? '?'}s (session affinity: later connections stick to this choice)` });
      return rest(withConn(noted, { sticky: true }));
    }
    case 'mark': {
      const mark = s.op === 'or' ? (w.conn.mark | s.mark) >>> 0 : s.op === 'xor' ? (w.conn.mark ^ s.mark) >>> 0 : unknown('mark op', s.op);
      return rest(withConn(w, { mark }));
    }
    case 'masquerade': {
      if (ctx.type !== 'nat' || ctx.hook !== 'postrouting') throw new UnknownRuleError('nftables tracer: masquerade outside a nat postrouting chain');
      return terminal(withConn(w, { masquerade: true }), { kind: 'accept' });
    }
    default:
      return unknown('statement', s);
  }
}

function evalRule(ctx: Ctx, w: World, chain: NftChain, index: number, rule: NftRule): { world: World; res: RuleResult }[] {
  let matched: World[] = [w];
  const failed: World[] = [];
  for (const m of rule.matches) {
    const next: World[] = [];
    for (const mw of matched) for (const r of evalMatch(ctx, mw, m)) (r.ok ? next : failed).push(r.world);
    matched = next;
  }
  const text = printable('nftables', () => formatRule(rule, ctx.table.family));
  return [
    ...failed.map((world) => ({ world, res: 'next' as const })),
    ...matched.flatMap((mw) => evalStatements(ctx, addStep(mw, {
      kind: 'rule', chain: chain.name, index, rule: text, text: `${chain.name} #${index + 1}: ${text}`,
    }), rule.statements, 0)),
  ];
}

function getChain(ctx: Ctx, name: string): NftChain {
  const c = ctx.chains.get(name);
  if (c === undefined) throw new UnknownRuleError(`nftables tracer: jump to a missing chain ${name}`);
  if (c.hook !== undefined) throw new UnknownRuleError(`nftables tracer: jump to base chain ${name}`);
  return c;
}

function runChain(ctx: Ctx, w: World, chain: NftChain, from: number, depth: number): Exit[] {
  if (depth > MAX_DEPTH) throw new UnknownRuleError(`nftables tracer: jump stack deeper than ${MAX_DEPTH} at ${chain.name}`);
  const rule = chain.rules[from];
  if (rule === undefined) return [{ world: w, exit: 'end' }];
  return evalRule(ctx, w, chain, from, rule).flatMap(({ world, res }): Exit[] => {
    if (res === 'next') return runChain(ctx, world, chain, from + 1, depth);
    switch (res.kind) {
      case 'accept': case 'drop': case 'reject': {
        if (res.kind === 'reject' && (ctx.hook === 'prerouting' || ctx.hook === 'postrouting')) {
          throw new UnknownRuleError(`nftables tracer: reject on the ${ctx.hook} hook (the kernel refuses it)`);
        }
        return [{ world, exit: res.kind }];
      }
      case 'return':
        return [{ world, exit: 'return' }];
      case 'jump':
        return runChain(ctx, world, getChain(ctx, res.chain), 0, depth + 1).flatMap((e) =>
          e.exit === 'end' || e.exit === 'return' ? runChain(ctx, e.world, chain, from + 1, depth) : [e]);
      case 'goto':
        return runChain(ctx, world, getChain(ctx, res.chain), 0, depth + 1).map((e) =>
          (e.exit === 'end' ? { world: e.world, exit: 'return' as const } : e));
      default:
        return unknown('verdict', res);
    }
  });
}

function baseEntry(table: NftTable, chain: NftChain, index: Omit<Ctx, 'hook' | 'type'>): HookEntry {
  const hook = chain.hook;
  if (hook === undefined) throw new Error('internal: not a base chain');
  if (hook.policy !== 'accept') unknown('chain policy', hook.policy);
  if (hook.type !== 'filter' && hook.type !== 'nat') unknown('chain type', hook.type);
  const ctx: Ctx = { ...index, hook: hook.hook, type: hook.type };
  return {
    hook: hook.hook, priority: hook.priority, type: hook.type, table: `${table.family} ${table.name}`, chain: chain.name,
    run: (w: World): ChainExit[] => runChain(ctx, w, chain, 0, 0).map((e) => {
      if (e.exit === 'end' || e.exit === 'return') return { world: e.world, verdict: 'accept' as const };
      if (e.exit === 'accept') {
        const world = ctx.type === 'filter' ? withConn(e.world, { accepted: true }) : e.world;
        return { world, verdict: 'accept' as const };
      }
      return { world: e.world, verdict: e.exit };
    }),
  };
}

/** The base chains of the packet's family, as hook entries. */
export function nftablesProgram(ruleset: NftRuleset, family: IPFamily): TraceProgram {
  const nftFamily = family === 'ipv4' ? 'ip' : 'ip6';
  const entries: HookEntry[] = [];
  for (const table of ruleset.tables) {
    if (table.family !== 'ip' && table.family !== 'ip6') unknown('table family', table.family);
    if (table.family !== nftFamily) continue;
    const index = {
      table,
      label: `${table.family} ${table.name}`,
      chains: new Map(table.chains.map((c) => [c.name, c])),
      sets: new Map(table.sets.map((s) => [s.name, s])),
      maps: new Map(table.maps.map((m) => [m.name, m])),
    };
    for (const c of table.chains) if (c.hook !== undefined) entries.push(baseEntry(table, c, index));
  }
  return { entries };
}

export function nftablesTracer(ruleset: NftRuleset): Tracer {
  return {
    backend: 'nftables',
    trace: (input: TraceInput): TraceResult => runTrace('nftables', input, (family) => nftablesProgram(ruleset, family)),
  };
}
