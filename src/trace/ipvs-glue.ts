/**
 * The IPVS backend's iptables glue as an xtables.ts dialect: the shared matches and
 * targets (no DNAT: IPVS does the NAT) plus the glue's own vocabulary:
 * - `-m set [!] --match-set NAME FLAGS` over the family's ipsets (ipset.ts);
 * - `-m addrtype [!] --src-type/--dst-type LOCAL`;
 * - `-m conntrack --ctstate`: the packet is NEW;
 * - `-m physdev ! --physdev-is-in` always matches (the tracer has no bridge ports);
 * - `-m ipvs --vaddr/--vproto/--vport`: the packet was forwarded by IPVS for that
 *   virtual server (the step where IPVS scheduled it is remembered: `markScheduled`).
 * The glue has no random matches: one packet takes exactly one way through a chain.
 */
import { glueRuleArgs } from '../render/ipvs/format.js';
import type { GlueRule, VirtualServer } from '../render/ipvs/types.js';
import { canonicalIP, isLocal } from './addr.js';
import type { World } from './engine.js';
import { setContains, type ParsedSet } from './ipset.js';
import { UnknownRuleError, printable, unknownShape, type PathStep } from './types.js';
import { COMMON_MATCHES, COMMON_TARGETS, one, type XtDialect } from './xtables.js';

// IPVS: which virtual server forwarded a packet (the kernel's ipvs_property + connection)

/**
 * The path step where IPVS scheduled the packet, mapped to its virtual server. Steps are
 * shared by identity between the worlds forked from one (engine.ts relies on that too),
 * so "was this packet forwarded by IPVS, and for which virtual server" is a lookup over
 * the world's steps.
 */
const scheduledAt = new WeakMap<object, VirtualServer>();

/** Records that IPVS scheduled the packet for `vs` at `step` (a step then added to the world). */
export function markScheduled(step: PathStep, vs: VirtualServer): void {
  scheduledAt.set(step, vs);
}

export function forwardedBy(w: World): VirtualServer | undefined {
  for (let i = w.steps.length - 1; i >= 0; i--) {
    const vs = scheduledAt.get(w.steps[i]!);
    if (vs !== undefined) return vs;
  }
  return undefined;
}

/** The rule as iptables-save prints it; a printer failure is an unknown shape too. */
function ruleText(chain: string, rule: GlueRule): string {
  const args = printable('ipvs', () => glueRuleArgs(rule));
  return ['-A', chain, ...args].map((a) => (a !== '' && !/[\s"'\\]/.test(a) ? a : JSON.stringify(a))).join(' ');
}

/** The glue over its ipsets (by name). */
export const GLUE: XtDialect<GlueRule, ReadonlyMap<string, ParsedSet>> = {
  tracer: 'ipvs',
  printUnmatched: false,
  print: ruleText,
  matches: {
    ...COMMON_MATCHES,
    set: (ctx, w, m) => {
      const ps = ctx.env.get(m.name);
      if (ps === undefined) throw new UnknownRuleError(`ipvs tracer: --match-set of a missing set ${m.name}`);
      return one(w, setContains(ps, m.flags, w) !== m.negate);
    },
    'addrtype-local': (ctx, w, m) => {
      const addr = m.addr === 'src' ? w.conn.saddr : m.addr === 'dst' ? w.conn.daddr : unknownShape(ctx.tracer, 'addrtype', m.addr);
      return one(w, isLocal(addr, w.conn.local) !== m.negate);
    },
    'not-physdev-in': (_ctx, w) => one(w, true),
    conntrack: (ctx, w, m) => {
      for (const s of m.states) if (s !== 'NEW' && s !== 'RELATED' && s !== 'ESTABLISHED') unknownShape(ctx.tracer, 'conntrack state', s);
      return one(w, m.states.includes('NEW'));
    },
    ipvs: (_ctx, w, m) => {
      const vs = forwardedBy(w);
      return one(w, vs !== undefined && vs.protocol === m.vproto && vs.port === m.vport && canonicalIP(vs.address, 'vaddr') === canonicalIP(m.vaddr, '--vaddr'));
    },
  },
  targets: COMMON_TARGETS,
};
