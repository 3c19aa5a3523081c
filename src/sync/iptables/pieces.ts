/**
 * One Service's iptables rules in one family, as printed lines, made with the
 * renderer's own collector and printers (src/render/iptables/service.ts
 * `collectServicePort`, format.ts `formatRule`): its rules in the dispatch chains and
 * its own nat chains (KUBE-SVC/SVL/EXT/FW/SEP-*). And the skeleton: what the renderer
 * writes for the family with no Service at all (fixed chains, their option-given
 * rules, the jumps from the built-in chains). Nothing here decides Service semantics.
 */
import type { FamilyState, ServicePort } from '../../model/types.js';
import { formatRule, iptablesJumps, renderIptables, type BuiltinJump, type IptRule } from '../../render/iptables/index.js';
import { C } from '../../render/iptables/names.js';
import { jump, rule, src, RETURN } from '../../render/iptables/rules.js';
import { collectServicePort, emptyCollected, type Collected, type FamilyContext } from '../../render/iptables/service.js';

export type IptTableName = 'filter' | 'nat';

/** The dispatch chains Services add rules to: `table/chain` → the Collected field. */
export const DISPATCH = [
  ['nat', C.services, 'natServices'],
  ['nat', C.nodePorts, 'natNodePorts'],
  ['filter', C.services, 'filterServices'],
  ['filter', C.externalServices, 'filterExternalServices'],
  ['filter', C.nodePorts, 'filterNodePorts'],
  ['filter', C.proxyFirewall, 'filterProxyFirewall'],
] as const satisfies readonly (readonly [IptTableName, string, keyof Collected])[];

export interface ServiceLines {
  /** Lines for each DISPATCH entry (same index). */
  readonly dispatch: readonly (readonly string[])[];
  /** The Service's own nat chains: name → its `-A` lines joined with '\n' ('' when empty). */
  readonly chains: ReadonlyMap<string, string>;
  /** Endpoints of all its ports (the family's large-cluster threshold counts them). */
  readonly endpoints: number;
  /** A rule jumps to KPX-MASQ-NOT-LOCAL (several pod CIDRs in the family). */
  readonly usesNotLocal: boolean;
}

export const NO_LINES: ServiceLines = { dispatch: DISPATCH.map(() => []), chains: new Map(), endpoints: 0, usesNotLocal: false };

export function serviceLines(ports: readonly ServicePort[], ctx: FamilyContext): ServiceLines {
  if (ports.length === 0) return NO_LINES;
  const out = emptyCollected();
  for (const sp of ports) collectServicePort(out, sp, ctx);
  const chains = new Map<string, string>();
  let usesNotLocal = false;
  for (const c of out.natChains) {
    chains.set(c.name, c.rules.map((r) => formatRule(c.name, r)).join('\n'));
    usesNotLocal ||= c.rules.some((r) => r.target?.kind === 'jump' && r.target.chain === C.masqNotLocal);
  }
  return {
    dispatch: DISPATCH.map(([, chain, field]) => (out[field] as readonly IptRule[]).map((r) => formatRule(chain, r))),
    chains,
    endpoints: ports.reduce((n, sp) => n + sp.allEndpoints.length, 0),
    usesNotLocal,
  };
}

export interface Skeleton {
  /** Fixed (non-built-in) chains per table, in rendered order: name → their option-given lines. */
  readonly chains: Record<IptTableName, ReadonlyMap<string, readonly string[]>>;
  /** The jumps from the built-in chains into kpx's chains. */
  readonly jumps: readonly BuiltinJump[];
  /** KPX-MASQ-NOT-LOCAL's lines, when the family has more than one pod CIDR. */
  readonly notLocal: string | undefined;
}

export function skeleton(fs: FamilyState): Skeleton {
  const ruleset = renderIptables({ ...fs, services: [] });
  const chains = { filter: new Map<string, readonly string[]>(), nat: new Map<string, readonly string[]>() };
  for (const t of ruleset.tables) {
    for (const c of t.chains) if (!c.builtin) chains[t.name].set(c.name, c.rules.map((r) => formatRule(c.name, r)));
  }
  // The renderer writes this chain only when a Service rule jumps to it; its content is fixed.
  const notLocal = !fs.masqueradeAll && fs.clusterCIDRs.length > 1
    ? [...fs.clusterCIDRs.map((c) => rule([src(c)], RETURN)), rule([], jump(C.markMasq))].map((r) => formatRule(C.masqNotLocal, r)).join('\n')
    : undefined;
  return { chains, jumps: iptablesJumps(ruleset), notLocal };
}
