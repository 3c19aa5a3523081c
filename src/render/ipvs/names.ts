/**
 * Every name the IPVS backend creates. Sets, chains and the dummy device are kube-proxy's
 * IPVS-mode names byte for byte (operators and tooling grep for them); the only kpx-own
 * names are the `KPX-` sets and chains that carry the model's DROP verdicts (README.md).
 */
import type { IPFamily } from '../../model/types.js';
import type { IpsetType } from './types.js';

/** The dummy interface that holds every service address IPVS must see as local. */
export const DUMMY_DEVICE = 'kube-ipvs0';

/** Fixed chains (nat and filter). Built-in chains keep their kernel names. */
export const C = {
  services: 'KUBE-SERVICES',
  postrouting: 'KUBE-POSTROUTING',
  nodePort: 'KUBE-NODE-PORT',
  loadBalancer: 'KUBE-LOAD-BALANCER',
  markMasq: 'KUBE-MARK-MASQ',
  forward: 'KUBE-FORWARD',
  proxyFirewall: 'KUBE-PROXY-FIREWALL',
  sourceRangesFirewall: 'KUBE-SOURCE-RANGES-FIREWALL',
  ipvsFilter: 'KUBE-IPVS-FILTER',
  ipvsOutFilter: 'KUBE-IPVS-OUT-FILTER',
  /** kpx only: "source not in any cluster CIDR" when a family has more than one. */
  masqNotLocal: 'KPX-MASQ-NOT-LOCAL',
  /** kpx only: external frontends whose Local policy has no local endpoint. */
  dropExternal: 'KPX-DROP-EXTERNAL',
} as const;

/** The sets, by role. Values are the IPv4 names; `setName` gives a family's name. */
export const S = {
  loopBack: 'KUBE-LOOP-BACK',
  clusterIP: 'KUBE-CLUSTER-IP',
  externalIP: 'KUBE-EXTERNAL-IP',
  externalIPLocal: 'KUBE-EXTERNAL-IP-LOCAL',
  loadBalancer: 'KUBE-LOAD-BALANCER',
  loadBalancerFW: 'KUBE-LOAD-BALANCER-FW',
  loadBalancerLocal: 'KUBE-LOAD-BALANCER-LOCAL',
  loadBalancerSourceIP: 'KUBE-LOAD-BALANCER-SOURCE-IP',
  loadBalancerSourceCIDR: 'KUBE-LOAD-BALANCER-SOURCE-CIDR',
  nodePortTCP: 'KUBE-NODE-PORT-TCP',
  nodePortLocalTCP: 'KUBE-NODE-PORT-LOCAL-TCP',
  nodePortUDP: 'KUBE-NODE-PORT-UDP',
  nodePortLocalUDP: 'KUBE-NODE-PORT-LOCAL-UDP',
  nodePortSCTP: 'KUBE-NODE-PORT-SCTP-HASH',
  nodePortLocalSCTP: 'KUBE-NODE-PORT-LOCAL-SCTP-HASH',
  healthCheckNodePort: 'KUBE-HEALTH-CHECK-NODE-PORT',
  ipvsIPs: 'KUBE-IPVS-IPS',
  /** kpx only: frontends that drop every new connection (the model's DROP, internal traffic). */
  drop: 'KPX-DROP',
  /** kpx only: external frontends that drop traffic which is neither from a pod nor the node. */
  dropExternal: 'KPX-DROP-EXTERNAL',
} as const;

export type SetRole = keyof typeof S;

/** Type and kube-proxy's comment of every set, in kube-proxy's creation order. */
export const SET_INFO: Readonly<Record<SetRole, { readonly type: IpsetType; readonly comment: string }>> = {
  loopBack: { type: 'hash:ip,port,ip', comment: 'Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose' },
  clusterIP: { type: 'hash:ip,port', comment: 'Kubernetes service cluster ip + port for masquerade purpose' },
  externalIP: { type: 'hash:ip,port', comment: 'Kubernetes service external ip + port for masquerade and filter purpose' },
  externalIPLocal: { type: 'hash:ip,port', comment: 'Kubernetes service external ip + port with externalTrafficPolicy=local' },
  loadBalancer: { type: 'hash:ip,port', comment: 'Kubernetes service lb portal' },
  loadBalancerFW: { type: 'hash:ip,port', comment: 'Kubernetes service load balancer ip + port for load balancer with sourceRange' },
  loadBalancerLocal: { type: 'hash:ip,port', comment: 'Kubernetes service load balancer ip + port with externalTrafficPolicy=local' },
  loadBalancerSourceIP: { type: 'hash:ip,port,ip', comment: 'Kubernetes service load balancer ip + port + source IP for packet filter purpose' },
  loadBalancerSourceCIDR: { type: 'hash:ip,port,net', comment: 'Kubernetes service load balancer ip + port + source cidr for packet filter purpose' },
  nodePortTCP: { type: 'bitmap:port', comment: 'Kubernetes nodeport TCP port for masquerade purpose' },
  nodePortLocalTCP: { type: 'bitmap:port', comment: 'Kubernetes nodeport TCP port with externalTrafficPolicy=local' },
  nodePortUDP: { type: 'bitmap:port', comment: 'Kubernetes nodeport UDP port for masquerade purpose' },
  nodePortLocalUDP: { type: 'bitmap:port', comment: 'Kubernetes nodeport UDP port with externalTrafficPolicy=local' },
  nodePortSCTP: { type: 'hash:ip,port', comment: "Kubernetes nodeport SCTP port for masquerade purpose with type 'hash ip:port'" },
  nodePortLocalSCTP: { type: 'hash:ip,port', comment: "Kubernetes nodeport SCTP port with externalTrafficPolicy=local with type 'hash ip:port'" },
  healthCheckNodePort: { type: 'bitmap:port', comment: 'Kubernetes health check node port' },
  ipvsIPs: { type: 'hash:ip', comment: 'Addresses on the ipvs interface' },
  drop: { type: 'hash:ip,port', comment: 'kpx: service ip + port without usable endpoints: drop' },
  dropExternal: { type: 'hash:ip,port', comment: 'kpx: external ip + port without local endpoints: drop unless from a pod or the node' },
};

/** ipset's limit on set names. */
export const MAX_SET_NAME = 31;

/**
 * A set's name in a family. IPv6 sets swap the leading `KUBE-` for `KUBE-6-` (and `KPX-`
 * for `KPX-6-`), cut to 31 characters as kube-proxy does: `KUBE-6-LOAD-BALANCER-SOURCE-CIDR`
 * (32) becomes `KUBE-6-LOAD-BALANCER-SOURCE-CID`.
 */
export function setName(role: SetRole, family: IPFamily): string {
  const v4 = S[role];
  if (family === 'ipv4') return v4;
  return v4.replace(/^(KUBE|KPX)-/, '$1-6-').slice(0, MAX_SET_NAME);
}
