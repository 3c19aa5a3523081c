/**
 * Every name the nftables backend creates. Public names (grepped by tooling) match
 * kube-proxy's nftables mode; `lb-*`, `eps-*` and `affinity-*` are kpx's own.
 */
import { endpointString } from '../../model/ip.js';
import type { Endpoint, IPFamily, ServicePort } from '../../model/types.js';
import { base32Sha256 } from '../hash.js';

export { base32Sha256 };
import type { NftFamily } from './types.js';

export const TABLE_NAME = 'kube-proxy';

export function nftFamily(family: IPFamily): NftFamily {
  return family === 'ipv4' ? 'ip' : 'ip6';
}

/** Fixed chains, sets and maps. */
export const N = {
  filterPrerouting: 'filter-prerouting',
  filterInput: 'filter-input',
  filterForward: 'filter-forward',
  filterOutput: 'filter-output',
  filterOutputPostDnat: 'filter-output-post-dnat',
  natPrerouting: 'nat-prerouting',
  natOutput: 'nat-output',
  natPostrouting: 'nat-postrouting',
  services: 'services',
  internal: 'internal',
  external: 'external',
  externalLocal: 'external-local',
  npExternal: 'np-external',
  npExternalLocal: 'np-external-local',
  markForMasquerade: 'mark-for-masquerade',
  masquerading: 'masquerading',
  firewallCheck: 'firewall-check',
  serviceEndpointsCheck: 'service-endpoints-check',
  nodeportEndpointsCheck: 'nodeport-endpoints-check',
  clusterIPsCheck: 'cluster-ips-check',
  rejectChain: 'reject-chain',
  clusterIPs: 'cluster-ips',
  serviceCIDRs: 'service-cidrs',
  podCIDRs: 'pod-cidrs',
  nodeportIPs: 'nodeport-ips',
  hairpin: 'hairpin',
  serviceIPs: 'service-ips',
  serviceNodeports: 'service-nodeports',
  lb: 'lb',
  lbCluster: 'lb-cluster',
  npLb: 'np-lb',
  npLbCluster: 'np-lb-cluster',
  noEndpointServices: 'no-endpoint-services',
  noEndpointNodeports: 'no-endpoint-nodeports',
  firewallIPs: 'firewall-ips',
  firewallAllow: 'firewall-allow',
} as const;

/**
 * The four endpoint-choice families. For each endpoint count K in use there is one chain
 * named `<prefix>-K` and one map named `<mapPrefix>-K`.
 */
export type LbKind = 'lb' | 'lbc' | 'np-lb' | 'np-lbc';

export const LB_MAP_PREFIX: Record<LbKind, string> = {
  lb: 'eps',
  lbc: 'epsc',
  'np-lb': 'np-eps',
  'np-lbc': 'np-epsc',
};

export function lbChainName(kind: LbKind, count: number): string {
  return `${kind}-${count}`;
}

export function lbMapName(kind: LbKind, count: number): string {
  return `${LB_MAP_PREFIX[kind]}-${count}`;
}

/** Which endpoint set a frontend uses: kube-proxy's Cluster or Local traffic policy. */
export type PolicySet = 'cluster' | 'local';

/**
 * Affinity chain of one service port and policy set:
 * `affinity-` (9) + 16 hash chars = 25 characters, far below nft's 256-byte name limit.
 */
export function affinityChainName(sp: ServicePort, policy: PolicySet): string {
  return `affinity-${base32Sha256(sp.key + sp.protocol + policy).slice(0, 16)}`;
}

/**
 * Per-endpoint affinity set: chain name (25) + `-` + 8 hash chars = 34 characters.
 * 8 base32 chars = 40 bits: collisions within one service port are negligible.
 */
export function affinitySetName(chain: string, ep: Pick<Endpoint, 'ip' | 'port'>): string {
  return `${chain}-${base32Sha256(endpointString(ep.ip, ep.port)).slice(0, 8)}`;
}
