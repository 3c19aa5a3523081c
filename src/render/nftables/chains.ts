/**
 * The fixed chains of the layout (README.md) and the small typed helpers that build rules.
 * Nothing here grows with the number of services or endpoints.
 */
import type { FamilyState, Protocol } from '../../model/types.js';
import { N, lbChainName, lbMapName, type LbKind } from './names.js';
import type { NftChain, NftExpr, NftHook, NftKey, NftMatch, NftRule, NftStatement, NftVerdict } from './types.js';

export const saddr: NftExpr = { kind: 'field', field: 'saddr' };
export const daddr: NftExpr = { kind: 'field', field: 'daddr' };
export const l4proto: NftExpr = { kind: 'field', field: 'l4proto' };
export const dport: NftExpr = { kind: 'field', field: 'dport' };
export const numgen = (mod: number): NftExpr => ({ kind: 'numgen', mod });

/** F: a frontend address, `daddr . l4proto . dport`. */
export const FRONTEND: NftKey = [daddr, l4proto, dport];
/** P: a NodePort, `l4proto . dport`. */
export const NODEPORT: NftKey = [l4proto, dport];

export const PROTOCOLS: readonly Protocol[] = ['tcp', 'udp', 'sctp'];

export const rule = (matches: readonly NftMatch[], statements: readonly NftStatement[]): NftRule => ({ matches, statements });
export const verdict = (v: NftVerdict): NftStatement => ({ kind: 'verdict', verdict: v });
export const jump = (chain: string): NftStatement => verdict({ kind: 'jump', chain });
export const goto = (chain: string): NftVerdict => ({ kind: 'goto', chain });
export const lookup = (key: NftKey, set: string, negate = false): NftMatch => ({ kind: 'lookup', key, set, negate });
export const vmap = (key: NftKey, map: string): NftStatement => ({ kind: 'vmap', key, map });
export const ctNew: NftMatch = { kind: 'ct-state', state: 'new' };
export const fibLocal = (addr: 'saddr' | 'daddr'): NftMatch => ({ kind: 'fib-local', addr });
export const proto = (protocol: Protocol): NftMatch => ({ kind: 'l4proto', protocol });

// dstnat = -100, srcnat = 100. nft 1.0.6 accepts the `dstnat` keyword only on the
// prerouting hook, so every priority is printed as a number.
const DSTNAT = -100;
const SRCNAT = 100;
const hook = (type: NftHook['type'], h: NftHook['hook'], priority: number): NftHook => ({ type, hook: h, priority, policy: 'accept' });
const base = (name: string, h: NftHook, rules: readonly NftRule[]): NftChain => ({ name, hook: h, rules });
const chain = (name: string, rules: readonly NftRule[]): NftChain => ({ name, rules });

export function baseChains(): NftChain[] {
  const newJump = (c: string): NftRule => rule([ctNew], [jump(c)]);
  return [
    base(N.filterPrerouting, hook('filter', 'prerouting', DSTNAT - 10), [newJump(N.firewallCheck)]),
    base(N.filterInput, hook('filter', 'input', DSTNAT - 10), [newJump(N.nodeportEndpointsCheck), newJump(N.serviceEndpointsCheck)]),
    base(N.filterForward, hook('filter', 'forward', DSTNAT - 10), [newJump(N.serviceEndpointsCheck), newJump(N.clusterIPsCheck)]),
    base(N.filterOutput, hook('filter', 'output', DSTNAT - 10), [newJump(N.firewallCheck)]),
    base(N.filterOutputPostDnat, hook('filter', 'output', DSTNAT + 10), [newJump(N.serviceEndpointsCheck), newJump(N.clusterIPsCheck)]),
    base(N.natPrerouting, hook('nat', 'prerouting', DSTNAT), [rule([], [jump(N.services)])]),
    base(N.natOutput, hook('nat', 'output', DSTNAT), [rule([], [jump(N.services)])]),
    base(N.natPostrouting, hook('nat', 'postrouting', SRCNAT), [rule([], [jump(N.masquerading)])]),
  ];
}

/** The dispatch, traffic-class, masquerade and check chains. */
export function fixedChains(fs: FamilyState): NftChain[] {
  const detector = fs.clusterCIDRs.length > 0;
  const markMasq = rule([], [jump(N.markForMasquerade)]);
  const podShortCircuit = (key: NftKey, map: string): NftRule[] =>
    detector ? [rule([lookup([saddr], N.podCIDRs)], [vmap(key, map)])] : [];
  const hostShortCircuit = (key: NftKey, map: string): NftRule[] => [
    rule([fibLocal('saddr')], [jump(N.markForMasquerade)]),
    rule([fibLocal('saddr')], [vmap(key, map)]),
  ];
  const internalMasq = fs.masqueradeAll
    ? [markMasq]
    : detector ? [rule([lookup([saddr], N.podCIDRs, true)], [jump(N.markForMasquerade)])] : [];
  const mark = fs.masqueradeMark;
  return [
    chain(N.services, [
      rule([], [vmap(FRONTEND, N.serviceIPs)]),
      rule([lookup([daddr], N.nodeportIPs), fibLocal('daddr')], [vmap(NODEPORT, N.serviceNodeports)]),
    ]),
    chain(N.internal, [...internalMasq, rule([], [vmap(FRONTEND, N.lb)])]),
    chain(N.external, [markMasq, rule([], [vmap(FRONTEND, N.lb)])]),
    chain(N.externalLocal, [
      ...podShortCircuit(FRONTEND, N.lbCluster),
      ...hostShortCircuit(FRONTEND, N.lbCluster),
      rule([], [vmap(FRONTEND, N.lb)]),
    ]),
    chain(N.npExternal, [markMasq, rule([], [vmap(NODEPORT, N.npLb)])]),
    chain(N.npExternalLocal, [
      ...podShortCircuit(NODEPORT, N.npLbCluster),
      ...hostShortCircuit(NODEPORT, N.npLbCluster),
      rule([], [vmap(NODEPORT, N.npLb)]),
    ]),
    chain(N.markForMasquerade, [rule([], [{ kind: 'mark', op: 'or', mark }])]),
    chain(N.masquerading, [
      rule([{ kind: 'ct-status', status: 'dnat' }, lookup([saddr, daddr], N.hairpin)], [{ kind: 'masquerade', fullyRandom: true }]),
      rule([{ kind: 'mark-clear', mask: mark }], [verdict({ kind: 'return' })]),
      rule([], [{ kind: 'mark', op: 'xor', mark }]),
      rule([], [{ kind: 'masquerade', fullyRandom: true }]),
    ]),
    chain(N.firewallCheck, [
      rule([lookup(FRONTEND, N.firewallIPs), lookup([...FRONTEND, saddr], N.firewallAllow, true)], [verdict({ kind: 'drop' })]),
    ]),
    chain(N.serviceEndpointsCheck, [rule([], [vmap(FRONTEND, N.noEndpointServices)])]),
    chain(N.nodeportEndpointsCheck, [rule([lookup([daddr], N.nodeportIPs)], [vmap(NODEPORT, N.noEndpointNodeports)])]),
    chain(N.clusterIPsCheck, [
      rule([lookup([daddr], N.clusterIPs)], [verdict({ kind: 'reject' })]),
      ...(fs.serviceCIDRs.length > 0 ? [rule([lookup([daddr], N.serviceCIDRs)], [verdict({ kind: 'drop' })])] : []),
    ]),
    chain(N.rejectChain, [rule([], [verdict({ kind: 'reject' })])]),
  ];
}

/** The key an `lb-N` family looks up: F or P, then the random endpoint index. */
export function lbKey(kind: LbKind, count: number): NftKey {
  const frontend = kind === 'lb' || kind === 'lbc' ? FRONTEND : NODEPORT;
  return [...frontend, numgen(count)];
}

/** `lb-N` and friends: one DNAT-through-map rule per protocol. */
export function lbChain(kind: LbKind, count: number): NftChain {
  const key = lbKey(kind, count);
  const map = lbMapName(kind, count);
  return chain(
    lbChainName(kind, count),
    PROTOCOLS.map((p) => rule([proto(p)], [{ kind: 'dnat-map', key, map }])),
  );
}
