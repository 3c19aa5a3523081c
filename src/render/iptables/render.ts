/**
 * `renderIptables(state) → IptablesRuleset`: the pure iptables renderer, kube-proxy's
 * iptables-mode layout (README.md). No I/O; the same state always gives the same rules,
 * services in the model's (sorted) order.
 */
import { cidrContains, parseCIDR, parseIP } from '../../model/index.js';
import type { FamilyState, ProxyState } from '../../model/types.js';
import { C } from './names.js';
import {
  ACCEPT, DROP, RETURN, comment, ctNew, ctstate, dst, host, jump, localDst, rule, src,
} from './rules.js';
import { collectServicePort, emptyCollected, type FamilyContext } from './service.js';
import type { IptChain, IptMatch, IptRule, IptablesRenderOptions, IptablesRuleset } from './types.js';

/** kube-proxy's largeClusterEndpointsThreshold. */
export const LARGE_CLUSTER_ENDPOINTS_THRESHOLD = 1000;

const chain = (name: string, rules: readonly IptRule[]): IptChain => ({ name, builtin: false, rules });
const builtin = (name: string, rules: readonly IptRule[] = []): IptChain => ({ name, builtin: true, rules });

/**
 * Jumps from the built-in chains, in the order they end up on a kube-proxy node (each is
 * prepended there; kubelet's KUBE-FIREWALL jump predates kube-proxy's and ends up last).
 */
function filterBuiltins(): IptChain[] {
  const lbFirewall = rule([ctNew, comment('kubernetes load balancer firewall')], jump(C.proxyFirewall));
  const portals = rule([ctNew, comment('kubernetes service portals')], jump(C.services));
  const externalPortals = rule([ctNew, comment('kubernetes externally-visible service portals')], jump(C.externalServices));
  return [
    builtin('INPUT', [
      lbFirewall,
      rule([comment('kubernetes health check service ports')], jump(C.nodePorts)),
      externalPortals,
      rule([], jump(C.firewall)),
    ]),
    builtin('FORWARD', [
      lbFirewall,
      rule([comment('kubernetes forwarding rules')], jump(C.forward)),
      portals,
      externalPortals,
    ]),
    builtin('OUTPUT', [lbFirewall, portals, rule([], jump(C.firewall))]),
  ];
}

function natBuiltins(): IptChain[] {
  const portals = rule([comment('kubernetes service portals')], jump(C.services));
  return [
    builtin('PREROUTING', [portals]),
    builtin('INPUT'),
    builtin('OUTPUT', [portals]),
    builtin('POSTROUTING', [rule([comment('kubernetes postrouting rules')], jump(C.postrouting))]),
  ];
}

const NODEPORTS_COMMENT = comment('kubernetes service nodeports; NOTE: this must be the last rule in this chain');

/**
 * The tail of nat KUBE-SERVICES: which destinations NodePorts are served on.
 * Every local address (`0.0.0.0/0` / `::/0`): `-m addrtype --dst-type LOCAL`, IPv6 without
 * `::1`. Otherwise one rule per nodePortAddresses CIDR; kube-proxy expands the CIDRs to the
 * node's interface addresses at sync time, a pure renderer cannot: a node IP's host CIDR
 * prints as `-d IP/32` (what upstream prints for it), any other CIDR as `-d CIDR` plus
 * `-m addrtype --dst-type LOCAL` (the same set of addresses).
 */
function nodePortJumps(fs: FamilyState): IptRule[] {
  const to = jump(C.nodePorts);
  const v6loopback = parseIP('::1')!;
  const cidrs = fs.nodePortAddresses.map((c) => parseCIDR(c)).filter((c) => c !== undefined && c.ip.family === fs.family);
  if (cidrs.some((c) => c!.prefix === 0)) {
    const notLoopback: IptMatch[] = fs.family === 'ipv6' ? [dst('::1/128', true)] : [];
    return [rule([NODEPORTS_COMMENT, localDst, ...notLoopback], to)];
  }
  const nodeIPs = new Set(fs.nodeIPs.map((ip) => parseIP(ip)?.text));
  return cidrs.map((c) => {
    const hostBits = c!.ip.bytes.length * 8;
    if (c!.prefix === hostBits && nodeIPs.has(c!.ip.text)) return rule([NODEPORTS_COMMENT, dst(host(c!.ip.text))], to);
    const notLoopback: IptMatch[] = fs.family === 'ipv6' && cidrContains(c!, v6loopback) ? [dst('::1/128', true)] : [];
    return rule([NODEPORTS_COMMENT, dst(c!.text), localDst, ...notLoopback], to);
  });
}

/** kube-proxy serves IPv4 NodePorts on 127.0.0.1 when nodePortAddresses includes it. */
function localhostNodePorts(fs: FamilyState): boolean {
  if (fs.family !== 'ipv4') return false;
  const loopback = parseIP('127.0.0.1')!;
  return fs.nodePortAddresses.some((c) => { const p = parseCIDR(c); return p !== undefined && cidrContains(p, loopback); });
}

export function renderIptables(fs: FamilyState, options: IptablesRenderOptions = {}): IptablesRuleset {
  const threshold = options.largeClusterEndpointsThreshold ?? LARGE_CLUSTER_ENDPOINTS_THRESHOLD;
  const totalEndpoints = fs.services.reduce((n, sp) => n + sp.allEndpoints.length, 0);
  const ctx: FamilyContext = {
    masqueradeAll: fs.masqueradeAll,
    clusterCIDRs: fs.clusterCIDRs,
    terse: totalEndpoints > threshold,
  };
  const out = emptyCollected();
  for (const sp of fs.services) collectServicePort(out, sp, ctx);

  const mark = fs.masqueradeMark;
  const markMasq = jump(C.markMasq);
  // Loopback-sourced packets to 127/8 are fine; anything else arriving for 127/8 (possible
  // once route_localnet is on for localhost NodePorts) is a martian and dropped.
  const firewallRules = localhostNodePorts(fs)
    ? [rule([comment('block incoming localnet connections'), dst('127.0.0.0/8'), src('127.0.0.0/8', true),
      ctstate(['RELATED', 'ESTABLISHED', 'DNAT'], true)], DROP)]
    : [];
  const filter: IptChain[] = [
    ...filterBuiltins(),
    chain(C.services, out.filterServices),
    chain(C.externalServices, out.filterExternalServices),
    chain(C.forward, [
      rule([ctstate(['INVALID'])], DROP),
      rule([comment('kubernetes forwarding rules'), { kind: 'mark', value: mark, mask: mark, negate: false }], ACCEPT),
      rule([comment('kubernetes forwarding conntrack rule'), ctstate(['RELATED', 'ESTABLISHED'])], ACCEPT),
    ]),
    chain(C.nodePorts, out.filterNodePorts),
    chain(C.proxyFirewall, out.filterProxyFirewall),
    chain(C.firewall, firewallRules),
  ];

  // With more than one pod CIDR in the family, "not from a pod" needs a chain (service.ts).
  const needsNotLocal = !fs.masqueradeAll && fs.clusterCIDRs.length > 1
    && out.natChains.some((c) => c.rules.some((r) => r.target?.kind === 'jump' && r.target.chain === C.masqNotLocal));
  const nat: IptChain[] = [
    ...natBuiltins(),
    chain(C.services, [...out.natServices, ...nodePortJumps(fs)]),
    chain(C.nodePorts, out.natNodePorts),
    chain(C.postrouting, [
      rule([{ kind: 'mark', value: mark, mask: mark, negate: true }], RETURN),
      rule([], { kind: 'mark', op: 'xor', mark }),
      rule([comment('kubernetes service traffic requiring SNAT')], { kind: 'MASQUERADE', randomFully: true }),
    ]),
    chain(C.markMasq, [rule([], { kind: 'mark', op: 'or', mark })]),
    ...(needsNotLocal ? [chain(C.masqNotLocal, [...fs.clusterCIDRs.map((c) => rule([src(c)], RETURN)), rule([], markMasq)])] : []),
    ...out.natChains,
  ];

  return { family: fs.family, tables: [{ name: 'filter', chains: filter }, { name: 'nat', chains: nat }] };
}

/**
 * One ruleset per IP family in use: ipv4 always (an empty cluster still gets a loadable
 * skeleton), ipv6 when the node has an IPv6 address or there is an IPv6 service.
 */
export function renderIptablesFamilies(state: ProxyState, options: IptablesRenderOptions = {}): IptablesRuleset[] {
  const out = [renderIptables(state.ipv4, options)];
  if (state.ipv6.nodeIPs.length > 0 || state.ipv6.services.length > 0) out.push(renderIptables(state.ipv6, options));
  return out;
}
