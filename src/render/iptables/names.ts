/**
 * Every chain name the iptables backend creates. All of them are kube-proxy's, byte for
 * byte, because operators and tooling grep for them; the only kpx-own name is
 * KPX-MASQ-NOT-LOCAL (see README.md).
 */
import { endpointString } from '../../model/ip.js';
import type { Endpoint, ServicePort } from '../../model/types.js';
import { base32Sha256 } from '../hash.js';

export { base32Sha256, endpointString };

/** Fixed chains. Built-in chains keep their kernel names. */
export const C = {
  services: 'KUBE-SERVICES',
  externalServices: 'KUBE-EXTERNAL-SERVICES',
  nodePorts: 'KUBE-NODEPORTS',
  postrouting: 'KUBE-POSTROUTING',
  markMasq: 'KUBE-MARK-MASQ',
  forward: 'KUBE-FORWARD',
  proxyFirewall: 'KUBE-PROXY-FIREWALL',
  /** kubelet's anti-martian chain, which kube-proxy also maintains. */
  firewall: 'KUBE-FIREWALL',
  /** kpx only: "source not in any cluster CIDR" when a family has more than one. */
  masqNotLocal: 'KPX-MASQ-NOT-LOCAL',
} as const;

/** Per-service-port chain prefixes. */
export const PREFIX = {
  svc: 'KUBE-SVC-',
  svl: 'KUBE-SVL-',
  ext: 'KUBE-EXT-',
  fw: 'KUBE-FW-',
  sep: 'KUBE-SEP-',
} as const;

export type ServiceChainKind = 'svc' | 'svl' | 'ext' | 'fw';

/**
 * `KUBE-SVC-`/`KUBE-SVL-`/`KUBE-EXT-`/`KUBE-FW-` + the first 16 characters of
 * base32(sha256(`ns/name:portName` + protocol)). Lengths: 9 + 16 = 25 (KUBE-FW-: 24),
 * within iptables' 28-character chain-name limit.
 */
export function serviceChainName(kind: ServiceChainKind, sp: Pick<ServicePort, 'key' | 'protocol'>): string {
  return PREFIX[kind] + base32Sha256(sp.key + sp.protocol).slice(0, 16);
}

/** `KUBE-SEP-` + 16 characters of base32(sha256(`ns/name:portName` + protocol + `ip:port`)): 25 characters. */
export function endpointChainName(sp: Pick<ServicePort, 'key' | 'protocol'>, ep: Pick<Endpoint, 'ip' | 'port'>): string {
  return PREFIX.sep + base32Sha256(sp.key + sp.protocol + endpointString(ep.ip, ep.port)).slice(0, 16);
}

/** True for the per-service and per-endpoint chains kube-proxy (and kpx) owns by prefix. */
export function isServiceChainName(name: string): boolean {
  return Object.values(PREFIX).some((p) => name.startsWith(p));
}
