/**
 * Per-service facts as set and map elements. Each ServicePort contributes elements only;
 * chains are added only for ClientIP affinity (one per service port and policy set).
 * Every decision (which endpoints, reject or drop) is read from the model.
 */
import type { Endpoint, NoEndpointVerdict, ServicePort } from '../../model/types.js';
import { goto, lookup, proto, rule, saddr } from './chains.js';
import { N, affinityChainName, affinitySetName, lbChainName, lbMapName, type LbKind, type PolicySet } from './names.js';
import type { NftChain, NftMapElement, NftRule, NftSet, NftStatement, NftVerdict } from './types.js';

/** Elements collected per map/set name; keys are deduplicated (the first one wins). */
export class Collector {
  readonly maps = new Map<string, Map<string, NftMapElement>>();
  readonly sets = new Map<string, Map<string, { key: readonly string[]; comment?: string }>>();
  /** Endpoint counts in use per lb kind. */
  readonly lbCounts: Record<LbKind, Set<number>> = { lb: new Set(), lbc: new Set(), 'np-lb': new Set(), 'np-lbc': new Set() };
  readonly affinityChains = new Map<string, NftChain>();
  readonly affinitySets = new Map<string, NftSet>();

  /** `addrType`: `ipv4_addr` or `ipv6_addr`, the table family's address datatype. */
  constructor(readonly addrType: string) {}

  addMap(name: string, key: readonly string[], value: NftMapElement['value'], comment: string): void {
    const m = this.maps.get(name) ?? new Map<string, NftMapElement>();
    this.maps.set(name, m);
    const id = key.join(' . ');
    if (!m.has(id)) m.set(id, { key, comment, value });
  }

  addSet(name: string, key: readonly string[], comment?: string): void {
    const s = this.sets.get(name) ?? new Map<string, { key: readonly string[]; comment?: string }>();
    this.sets.set(name, s);
    const id = key.join(' . ');
    if (!s.has(id)) s.set(id, comment === undefined ? { key } : { key, comment });
  }

  /** Verdict map entry. */
  addVerdict(map: string, key: readonly string[], v: NftVerdict, comment: string): void {
    this.addMap(map, key, { kind: 'verdict', verdict: v }, comment);
  }
}

function noEndpointVerdict(v: NoEndpointVerdict | undefined): NftVerdict {
  // An empty endpoint list without a verdict is a model inconsistency; refuse the traffic.
  return (v ?? 'reject') === 'drop' ? { kind: 'drop' } : goto(N.rejectChain);
}

/**
 * The affinity chain: a client whose address is in endpoint k's timeout set goes to k
 * (refreshing the entry); a new client picks k uniformly (`numgen random mod (N-k) == 0`
 * for k < N-1, given it got past 0…k-1) and is recorded in k's set.
 */
function affinityChain(c: Collector, sp: ServicePort, policy: PolicySet, endpoints: readonly Endpoint[], timeout: number): string {
  const name = affinityChainName(sp, policy);
  if (c.affinityChains.has(name)) return name;
  const sets = endpoints.map((ep) => affinitySetName(name, ep));
  const act = (k: number, ep: Endpoint): NftStatement[] => [
    { kind: 'set-update', set: sets[k] ?? '', key: [saddr] },
    { kind: 'dnat', addr: ep.ip, port: ep.port },
  ];
  const sticky: NftRule[] = endpoints.map((ep, k) => rule([proto(sp.protocol), lookup([saddr], sets[k] ?? '')], act(k, ep)));
  const pick: NftRule[] = endpoints.map((ep, k) =>
    k < endpoints.length - 1
      ? rule([proto(sp.protocol), { kind: 'numgen', mod: endpoints.length - k, value: 0 }], act(k, ep))
      : rule([proto(sp.protocol)], act(k, ep)),
  );
  c.affinityChains.set(name, { name, rules: [...sticky, ...pick] });
  for (const set of sets) {
    c.affinitySets.set(set, { name: set, key: { type: c.addrType }, flags: ['dynamic', 'timeout'], timeout, elements: [] });
  }
  return name;
}

/** Where a frontend's `lb*` entry sends the packet, registering the elements it needs. */
function dispatch(
  c: Collector, sp: ServicePort, kind: LbKind, key: readonly string[],
  endpoints: readonly Endpoint[], policy: PolicySet,
): NftVerdict {
  for (const ep of endpoints) c.addSet(N.hairpin, [ep.ip, ep.ip]);
  if (sp.affinityTimeoutSeconds !== undefined) {
    return goto(affinityChain(c, sp, policy, endpoints, sp.affinityTimeoutSeconds));
  }
  const count = endpoints.length;
  c.lbCounts[kind].add(count);
  const map = lbMapName(kind, count);
  endpoints.forEach((ep, i) => {
    c.addMap(map, [...key, String(i)], { kind: 'data', parts: [ep.ip, String(ep.port)] }, sp.key);
  });
  return goto(lbChainName(kind, count));
}

/** Both kinds of external frontend (an address or a NodePort) share this logic. */
function external(c: Collector, sp: ServicePort, key: readonly string[], nodePort: boolean): void {
  const local = sp.externalPolicyLocal;
  const reachable = sp.externalEndpoints.length > 0 || (local && sp.clusterEndpoints.length > 0);
  const [dispatchMap, clusterMap, noEp] = nodePort
    ? [N.serviceNodeports, N.npLbCluster, N.noEndpointNodeports]
    : [N.serviceIPs, N.lbCluster, N.noEndpointServices];
  const chain = nodePort ? (local ? N.npExternalLocal : N.npExternal) : local ? N.externalLocal : N.external;
  if (reachable) c.addVerdict(dispatchMap, key, goto(chain), sp.key);
  if (sp.externalEndpoints.length > 0) {
    const v = dispatch(c, sp, nodePort ? 'np-lb' : 'lb', key, sp.externalEndpoints, local ? 'local' : 'cluster');
    c.addVerdict(nodePort ? N.npLb : N.lb, key, v, sp.key);
  } else {
    c.addVerdict(noEp, key, noEndpointVerdict(sp.externalNoEndpoints), sp.key);
  }
  if (local && sp.clusterEndpoints.length > 0) {
    const v = dispatch(c, sp, nodePort ? 'np-lbc' : 'lbc', key, sp.clusterEndpoints, 'cluster');
    c.addVerdict(clusterMap, key, v, sp.key);
  }
}

/** All elements (and affinity chains) of one service port. */
export function collectServicePort(c: Collector, sp: ServicePort, firewallAllow: (cidrs: readonly string[]) => string[]): void {
  const port = String(sp.port);
  const clusterKey = [sp.clusterIP, sp.protocol, port];
  c.addSet(N.clusterIPs, [sp.clusterIP], `${sp.namespace}/${sp.name}`);
  if (sp.internalEndpoints.length > 0) {
    c.addVerdict(N.serviceIPs, clusterKey, goto(N.internal), sp.key);
    const v = dispatch(c, sp, 'lb', clusterKey, sp.internalEndpoints, sp.internalPolicyLocal ? 'local' : 'cluster');
    c.addVerdict(N.lb, clusterKey, v, sp.key);
  } else {
    c.addVerdict(N.noEndpointServices, clusterKey, noEndpointVerdict(sp.internalNoEndpoints), sp.key);
  }

  const lbIPs = new Set(sp.loadBalancerIPs);
  for (const addr of [...new Set([...sp.externalIPs, ...sp.loadBalancerIPs])]) {
    const key = [addr, sp.protocol, port];
    external(c, sp, key, false);
    if (lbIPs.has(addr) && sp.loadBalancerSourceRanges.length > 0) {
      c.addSet(N.firewallIPs, key, sp.key);
      for (const cidr of firewallAllow([...sp.loadBalancerSourceRanges, ...sp.firewallExtraSources])) {
        c.addSet(N.firewallAllow, [...key, cidr], sp.key);
      }
    }
  }
  if (sp.nodePort !== undefined) external(c, sp, [sp.protocol, String(sp.nodePort)], true);
}
