/**
 * Tracer over the iptables backend's typed ruleset (src/render/iptables/types.ts).
 *
 * Chains, jumps, verdicts and the built-in chains' priorities are xtables.ts's (shared
 * with the IPVS glue). The iptables vocabulary, for the first packet of a new connection:
 * - `-p`/`-m tcp` with `--dport` (which must follow its protocol match), `-s`/`-d`,
 *   `-m addrtype --src-type/--dst-type LOCAL`, `-m mark`, `-m comment`;
 * - `-m statistic --mode random --probability P` matches with probability P, drawn
 *   afresh per rule;
 * - `-m conntrack --ctstate`: the packet is NEW, and DNAT once a DNAT was set up;
 * - `-m recent --rcheck` fails for a fresh client (empty lists); `--set` matches and
 *   records the client, which makes later connections sticky;
 * - targets: jumps, ACCEPT, DROP, RETURN, REJECT (filter INPUT/FORWARD/OUTPUT), MARK,
 *   MASQUERADE (nat POSTROUTING), DNAT (nat PREROUTING/OUTPUT).
 *
 * Anything else throws UnknownRuleError.
 */
import type { IPFamily } from '../model/types.js';
import { formatRule } from '../render/iptables/format.js';
import type { CtState, IptRule, IptablesRuleset } from '../render/iptables/types.js';
import { hostPort, isLocal } from './addr.js';
import { addStep, fork, runTrace, withConn, type HookEntry, type TraceProgram } from './engine.js';
import { UnknownRuleError, printable, unknownShape, type TraceInput, type TraceResult, type Tracer } from './types.js';
import { COMMON_MATCHES, COMMON_TARGETS, one, xtablesEntries, type XtDialect } from './xtables.js';

const KNOWN_STATES: readonly CtState[] = ['NEW', 'INVALID', 'RELATED', 'ESTABLISHED', 'DNAT'];

const IPTABLES: XtDialect<IptRule, undefined> = {
  tracer: 'iptables',
  printUnmatched: true,
  print: (chain, rule) => printable('iptables', () => formatRule(chain, rule)),
  matches: {
    ...COMMON_MATCHES,
    dport: (_ctx, w, m, before) => {
      // --dport is an option of the protocol match (`-m tcp -p tcp`), which must come first.
      if (!before.some((b) => b.kind === 'protocol')) throw new UnknownRuleError('iptables tracer: --dport without a preceding protocol match');
      return one(w, w.conn.dport === m.port);
    },
    'addrtype-local': (ctx, w, m) => {
      const addr = m.addr === 'src' ? w.conn.saddr : m.addr === 'dst' ? w.conn.daddr : unknownShape(ctx.tracer, 'addrtype', m.addr);
      return one(w, isLocal(addr, w.conn.local));
    },
    conntrack: (ctx, w, m) => {
      for (const s of m.states) if (!KNOWN_STATES.includes(s)) unknownShape(ctx.tracer, 'conntrack state', s);
      const states: CtState[] = w.conn.dnat !== undefined ? ['NEW', 'DNAT'] : ['NEW'];
      return one(w, m.states.some((s) => states.includes(s)) !== m.negate);
    },
    'statistic-random': (ctx, w, m) => {
      if (!(m.probability > 0 && m.probability <= 1)) unknownShape(ctx.tracer, 'statistic probability', m.probability);
      return fork(w, `statistic random probability ${m.probability.toFixed(10)}`, [
        { label: 'true', p: m.probability, value: true },
        { label: 'false', p: 1 - m.probability, value: false },
      ]).map((b) => ({ world: b.world, ok: b.value }));
    },
    'recent-check': (_ctx, w, m) =>
      [{ world: addStep(w, { kind: 'note', text: `recent list ${m.name} (affinity) is empty for a fresh client` }), ok: false }],
    'recent-set': (_ctx, w, m) => [{
      world: withConn(addStep(w, { kind: 'note', text: `recent --set ${m.name}: the client is recorded (session affinity: later connections stick to this choice)` }), { sticky: true }),
      ok: true,
    }],
  },
  targets: {
    ...COMMON_TARGETS,
    DNAT: (ctx, w, t) => {
      if (ctx.table !== 'nat' || (ctx.hook !== 'prerouting' && ctx.hook !== 'output')) {
        throw new UnknownRuleError('iptables tracer: DNAT outside nat PREROUTING/OUTPUT');
      }
      const at = addStep(w, { kind: 'note', text: `DNAT to ${hostPort(t.ip, t.port)}` });
      return { world: withConn(at, { daddr: t.ip, dport: t.port, dnat: { addr: t.ip, port: t.port } }), res: 'ACCEPT' };
    },
  },
};

export function iptablesProgram(rulesets: readonly IptablesRuleset[], family: IPFamily): TraceProgram {
  const entries: HookEntry[] = [];
  for (const r of rulesets) if (r.family === family) entries.push(...xtablesEntries(IPTABLES, family, r.tables, undefined));
  return { entries };
}

export function iptablesTracer(rulesets: readonly IptablesRuleset[]): Tracer {
  return {
    backend: 'iptables',
    trace: (input: TraceInput): TraceResult => runTrace('iptables', input, (family) => iptablesProgram(rulesets, family)),
  };
}
