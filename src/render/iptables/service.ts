/**
 * The rules of one service port: its entries in the fixed chains (nat KUBE-SERVICES and
 * KUBE-NODEPORTS; filter KUBE-SERVICES, KUBE-EXTERNAL-SERVICES, KUBE-NODEPORTS,
 * KUBE-PROXY-FIREWALL) and its own chains (KUBE-EXT, KUBE-FW, KUBE-SVC, KUBE-SVL,
 * KUBE-SEP), in kube-proxy's iptables layout.
 *
 * Every decision comes from the model: which endpoints each traffic class reaches
 * (internalEndpoints, externalEndpoints, clusterEndpoints, localEndpoints), REJECT or
 * DROP (internalNoEndpoints, externalNoEndpoints), short-circuits (externalPolicyLocal),
 * firewall sources (loadBalancerSourceRanges, firewallExtraSources).
 */
import type { Endpoint, NoEndpointVerdict, ServicePort } from '../../model/types.js';
import { C, endpointChainName, endpointString, serviceChainName } from './names.js';
import {
  ACCEPT, DROP, REJECT, comment, dport, frontend, host, jump, localDst, localSrc, protocol, rule, src,
} from './rules.js';
import type { IptChain, IptMatch, IptRule, IptTarget } from './types.js';

/** Rules destined for the fixed chains, and the service port's own nat chains. */
export interface Collected {
  readonly natServices: IptRule[];
  readonly natNodePorts: IptRule[];
  readonly natChains: IptChain[];
  readonly filterServices: IptRule[];
  readonly filterExternalServices: IptRule[];
  readonly filterNodePorts: IptRule[];
  readonly filterProxyFirewall: IptRule[];
}

export function emptyCollected(): Collected {
  return {
    natServices: [], natNodePorts: [], natChains: [],
    filterServices: [], filterExternalServices: [], filterNodePorts: [], filterProxyFirewall: [],
  };
}

/** What the family contributes to every service port's rules. */
export interface FamilyContext {
  readonly masqueradeAll: boolean;
  /** The local-traffic detector's pod CIDRs of this family; empty: no detector. */
  readonly clusterCIDRs: readonly string[];
  /** Large-cluster mode: leave out per-endpoint comments. */
  readonly terse: boolean;
}

const markMasq = jump(C.markMasq);

function noEndpointFilter(verdict: NoEndpointVerdict, key: string): { target: IptTarget; text: string } {
  return verdict === 'reject'
    ? { target: REJECT, text: `${key} has no endpoints` }
    : { target: DROP, text: `${key} has no local endpoints` };
}

/**
 * "Not from a pod": `! -s CIDR` with one cluster CIDR; with several, iptables cannot negate
 * a list in one rule, so the rule jumps to KPX-MASQ-NOT-LOCAL instead (README.md).
 */
function masqueradeOffCluster(ctx: FamilyContext, matches: readonly IptMatch[]): IptRule {
  const [only] = ctx.clusterCIDRs;
  if (ctx.clusterCIDRs.length === 1 && only !== undefined) return rule([...matches, src(only, true)], markMasq);
  return rule(matches, jump(C.masqNotLocal));
}

/** The KUBE-SVC / KUBE-SVL rules: affinity checks, then the random cascade over `endpoints`. */
function dispatchRules(sp: ServicePort, endpoints: readonly Endpoint[], ctx: FamilyContext): IptRule[] {
  const rules: IptRule[] = [];
  const epComment = (ep: Endpoint): IptMatch[] => (ctx.terse ? [] : [comment(`${sp.key} -> ${endpointString(ep.ip, ep.port)}`)]);
  if (sp.affinityTimeoutSeconds !== undefined) {
    for (const ep of endpoints) {
      const sep = endpointChainName(sp, ep);
      rules.push(rule([...epComment(ep), { kind: 'recent-check', name: sep, seconds: sp.affinityTimeoutSeconds }], jump(sep)));
    }
  }
  endpoints.forEach((ep, i) => {
    const n = endpoints.length;
    const pick: IptMatch[] = i < n - 1 ? [{ kind: 'statistic-random', probability: 1 / (n - i) }] : [];
    rules.push(rule([...epComment(ep), ...pick], jump(endpointChainName(sp, ep))));
  });
  return rules;
}

/** KUBE-SEP-*: hairpin masquerade, affinity `--set`, DNAT. */
function endpointChain(sp: ServicePort, ep: Endpoint, ctx: FamilyContext): IptChain {
  const name = endpointChainName(sp, ep);
  const c: IptMatch[] = ctx.terse ? [] : [comment(sp.key)];
  const affinity: IptMatch[] = sp.affinityTimeoutSeconds !== undefined ? [{ kind: 'recent-set', name }] : [];
  return {
    name, builtin: false, rules: [
      rule([...c, src(host(ep.ip))], markMasq),
      rule([...c, ...affinity, protocol(sp.protocol)], { kind: 'DNAT', ip: ep.ip, port: ep.port }),
    ],
  };
}

/** Endpoints with a KUBE-SEP chain: those of every policy chain in use, each once. */
function reachableEndpoints(sp: ServicePort): Endpoint[] {
  const seen = new Set<string>();
  const out: Endpoint[] = [];
  for (const ep of [...sp.clusterEndpoints, ...sp.localEndpoints]) {
    const k = endpointString(ep.ip, ep.port);
    if (!seen.has(k)) { seen.add(k); out.push(ep); }
  }
  return out;
}

export function collectServicePort(out: Collected, sp: ServicePort, ctx: FamilyContext): void {
  const { key, protocol: proto, port } = sp;
  const svcChain = serviceChainName('svc', sp);
  const svlChain = serviceChainName('svl', sp);
  const extChain = serviceChainName('ext', sp);
  const fwChain = serviceChainName('fw', sp);

  const hasEndpoints = sp.hasEndpoints;
  const usesCluster = sp.clusterEndpoints.length > 0;
  const usesLocal = sp.localEndpoints.length > 0;
  const internalChain = sp.internalPolicyLocal ? svlChain : svcChain;
  const externalPolicyChain = sp.externalPolicyLocal ? svlChain : svcChain;
  const accessible = sp.nodePort !== undefined || sp.externalIPs.length > 0 || sp.loadBalancerIPs.length > 0;
  const usesExt = hasEndpoints && accessible;
  const usesFW = hasEndpoints && sp.loadBalancerIPs.length > 0 && sp.loadBalancerSourceRanges.length > 0;
  const lbChain = usesFW ? fwChain : extChain;
  const internalFilter = sp.internalNoEndpoints !== undefined ? noEndpointFilter(sp.internalNoEndpoints, key) : undefined;
  const externalFilter = sp.externalNoEndpoints !== undefined ? noEndpointFilter(sp.externalNoEndpoints, key) : undefined;
  const clusterIPComment = comment(`${key} cluster IP`);

  // Cluster IP.
  if (!internalFilter) {
    out.natServices.push(rule([clusterIPComment, ...frontend(proto, sp.clusterIP, port)], jump(internalChain)));
  } else {
    out.filterServices.push(rule([comment(internalFilter.text), ...frontend(proto, sp.clusterIP, port)], internalFilter.target));
  }

  // External IPs.
  for (const ip of sp.externalIPs) {
    if (hasEndpoints) out.natServices.push(rule([comment(`${key} external IP`), ...frontend(proto, ip, port)], jump(extChain)));
    if (externalFilter) {
      out.filterExternalServices.push(rule([comment(externalFilter.text), ...frontend(proto, ip, port)], externalFilter.target));
    }
  }

  // LoadBalancer ingress IPs.
  for (const ip of sp.loadBalancerIPs) {
    if (hasEndpoints) out.natServices.push(rule([comment(`${key} loadbalancer IP`), ...frontend(proto, ip, port)], jump(lbChain)));
    if (usesFW) {
      out.filterProxyFirewall.push(rule([comment(`${key} traffic not accepted by ${fwChain}`), ...frontend(proto, ip, port)], DROP));
    }
  }
  if (externalFilter) {
    for (const ip of sp.loadBalancerIPs) {
      out.filterExternalServices.push(rule([comment(externalFilter.text), ...frontend(proto, ip, port)], externalFilter.target));
    }
  }

  // NodePort. Not subject to loadBalancerSourceRanges, as upstream.
  if (sp.nodePort !== undefined) {
    if (hasEndpoints) out.natNodePorts.push(rule([comment(key), protocol(proto), dport(sp.nodePort)], jump(extChain)));
    if (externalFilter) {
      out.filterExternalServices.push(rule([comment(externalFilter.text), localDst, protocol(proto), dport(sp.nodePort)], externalFilter.target));
    }
  }

  // Health-check node port: accepted whether or not there are local endpoints.
  if (sp.healthCheckNodePort !== undefined) {
    out.filterNodePorts.push(rule([comment(`${key} health check node port`), protocol('tcp'), dport(sp.healthCheckNodePort)], ACCEPT));
  }

  // KUBE-EXT-*.
  if (usesExt) {
    const rules: IptRule[] = [];
    if (!sp.externalPolicyLocal) {
      rules.push(rule([comment(`masquerade traffic for ${key} external destinations`)], markMasq));
    } else {
      // Short-circuits to the Cluster-policy chain (it exists whenever the service has
      // endpoints and is externally reachable; checked anyway, a jump to a missing chain
      // would fail the whole restore).
      if (usesCluster) {
        for (const cidr of ctx.clusterCIDRs) {
          rules.push(rule([comment(`pod traffic for ${key} external destinations`), src(cidr)], jump(svcChain)));
        }
      }
      rules.push(rule([comment(`masquerade LOCAL traffic for ${key} external destinations`), localSrc], markMasq));
      if (usesCluster) rules.push(rule([comment(`route LOCAL traffic for ${key} external destinations`), localSrc], jump(svcChain)));
    }
    if (!externalFilter) rules.push(rule([], jump(externalPolicyChain)));
    out.natChains.push({ name: extChain, builtin: false, rules });
  }

  // KUBE-FW-*: allowed sources continue to KUBE-EXT; the rest falls through, not DNATed,
  // and filter KUBE-PROXY-FIREWALL drops it.
  if (usesFW) {
    const allowed = comment(`${key} loadbalancer IP`);
    const rules: IptRule[] = [...sp.loadBalancerSourceRanges, ...sp.firewallExtraSources]
      .map((cidr) => rule([allowed, src(cidr)], jump(extChain)));
    rules.push(rule([comment(`other traffic to ${key} will be dropped by KUBE-PROXY-FIREWALL`)]));
    out.natChains.push({ name: fwChain, builtin: false, rules });
  }

  // Off-cluster (or all, with --masquerade-all) traffic to the cluster IP is masqueraded
  // first in whichever policy chain internal traffic uses.
  const internalMasq: IptRule[] = [];
  if (!internalFilter) {
    const matches = [clusterIPComment, ...frontend(proto, sp.clusterIP, port)];
    if (ctx.masqueradeAll) internalMasq.push(rule(matches, markMasq));
    else if (ctx.clusterCIDRs.length > 0) internalMasq.push(masqueradeOffCluster(ctx, matches));
  }
  if (usesCluster) {
    const masq = internalChain === svcChain ? internalMasq : [];
    out.natChains.push({ name: svcChain, builtin: false, rules: [...masq, ...dispatchRules(sp, sp.clusterEndpoints, ctx)] });
  }
  if (usesLocal) {
    const masq = internalChain === svlChain ? internalMasq : [];
    out.natChains.push({ name: svlChain, builtin: false, rules: [...masq, ...dispatchRules(sp, sp.localEndpoints, ctx)] });
  }

  for (const ep of reachableEndpoints(sp)) out.natChains.push(endpointChain(sp, ep, ctx));
}
