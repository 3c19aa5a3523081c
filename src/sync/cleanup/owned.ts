/**
 * What kube-proxy (v1.36) removes when it cleans up after a proxy mode, and kpx's own
 * additions. Nothing outside these lists is ever touched: kubelet's chains
 * (KUBE-FIREWALL, KUBE-MARK-DROP, KUBE-KUBELET-CANARY, KUBE-IPTABLES-HINT) and any
 * foreign table, chain, rule or set stay.
 *
 * Upstream (k8s.io/kubernetes v1.36.3):
 * - nftables: pkg/proxy/nftables/cleanup.go CleanupLeftovers deletes table `kube-proxy`
 *   in the ip and ip6 families.
 * - iptables: pkg/proxy/iptables/cleanup.go cleanupLeftoversForFamily deletes the jumps
 *   of iptablesJumpChains, flushes and deletes nat KUBE-SERVICES, KUBE-NODEPORTS,
 *   KUBE-POSTROUTING, KUBE-MARK-MASQ, KUBE-PROXY-CANARY and every chain for which
 *   isServiceChainName holds (KUBE-SVC-/SVL-/SEP-/FW-/EXT-), filter KUBE-SERVICES,
 *   KUBE-EXTERNAL-SERVICES, KUBE-FORWARD, KUBE-NODEPORTS, KUBE-PROXY-FIREWALL,
 *   KUBE-PROXY-CANARY, and mangle KUBE-PROXY-CANARY.
 * - ipvs: pkg/proxy/ipvs/cleanup.go cleanupLeftovers flushes IPVS (every virtual server,
 *   as `ipvsadm -C`), deletes the dummy device kube-ipvs0, deletes the jumps of
 *   iptablesJumpChain and the chains of iptablesCleanupChains (proxier.go), then
 *   destroys the sets of ipsetInfo (proxier.go).
 * - cmd/kube-proxy/app/server_linux.go platformCleanup: `--cleanup` does all three; at
 *   start, nftables mode cleans iptables and ipvs leftovers, iptables and ipvs modes
 *   clean nftables leftovers (never the other iptables-based mode: they share chains).
 */
import { setName, S as IPVS_SETS, C as IPVS_CHAINS } from '../../render/ipvs/names.js';
import { C as IPT_CHAINS, PREFIX } from '../../render/iptables/names.js';
import { KPX_TABLES } from '../../render/nftables/index.js';
import { CANARY } from '../iptables/plan.js';

export const CLEANUP_MODES = ['nftables', 'iptables', 'ipvs'] as const;
export type CleanupMode = (typeof CLEANUP_MODES)[number];

export const NFT_TABLES = KPX_TABLES;

export type XtTable = 'nat' | 'filter' | 'mangle';

/** Chains one mode owns in an iptables table: exact names and name prefixes. */
export interface OwnedChains {
  readonly names: ReadonlySet<string>;
  readonly prefixes: readonly string[];
}


/** iptables mode: cleanup.go's lists, plus kpx's KPX-MASQ-NOT-LOCAL (nat). */
const IPTABLES_CHAINS: Readonly<Record<XtTable, OwnedChains>> = {
  nat: {
    names: new Set([IPT_CHAINS.services, IPT_CHAINS.nodePorts, IPT_CHAINS.postrouting, IPT_CHAINS.markMasq, CANARY, IPT_CHAINS.masqNotLocal]),
    prefixes: Object.values(PREFIX),
  },
  filter: {
    names: new Set([IPT_CHAINS.services, IPT_CHAINS.externalServices, IPT_CHAINS.forward, IPT_CHAINS.nodePorts, IPT_CHAINS.proxyFirewall, CANARY]),
    prefixes: [],
  },
  mangle: { names: new Set([CANARY]), prefixes: [] },
};

/** ipvs mode: proxier.go iptablesCleanupChains, plus kpx's KPX-MASQ-NOT-LOCAL (nat) and KPX-DROP-EXTERNAL (filter). */
const IPVS_CHAINS_OWNED: Readonly<Record<XtTable, OwnedChains>> = {
  nat: {
    names: new Set([IPVS_CHAINS.services, IPVS_CHAINS.postrouting, IPVS_CHAINS.nodePort, IPVS_CHAINS.loadBalancer, IPVS_CHAINS.markMasq, IPVS_CHAINS.masqNotLocal]),
    prefixes: [],
  },
  filter: {
    names: new Set([
      IPVS_CHAINS.forward, IPVS_CHAINS.nodePort, IPVS_CHAINS.proxyFirewall, IPVS_CHAINS.sourceRangesFirewall,
      IPVS_CHAINS.ipvsFilter, IPVS_CHAINS.ipvsOutFilter, IPVS_CHAINS.dropExternal,
    ]),
    prefixes: [],
  },
  mangle: { names: new Set(), prefixes: [] },
};

/** The iptables chains the given modes own, per table (union). */
export function ownedChains(modes: readonly CleanupMode[]): Readonly<Record<XtTable, OwnedChains>> {
  const parts = [
    ...(modes.includes('iptables') ? [IPTABLES_CHAINS] : []),
    ...(modes.includes('ipvs') ? [IPVS_CHAINS_OWNED] : []),
  ];
  const merge = (t: XtTable): OwnedChains => ({
    names: new Set(parts.flatMap((p) => [...p[t].names])),
    prefixes: parts.flatMap((p) => p[t].prefixes),
  });
  return { nat: merge('nat'), filter: merge('filter'), mangle: merge('mangle') };
}

export function isOwned(owned: OwnedChains, chain: string): boolean {
  return owned.names.has(chain) || owned.prefixes.some((p) => chain.startsWith(p));
}

/**
 * IPVS mode's sets. Upstream destroys the IPv4 names of ipsetInfo only; kpx also
 * destroys their IPv6 (`KUBE-6-`) names, which kube-proxy's own dual-stack IPVS mode
 * creates, and its own `KPX-` sets (both families).
 */
export const IPVS_SET_NAMES: readonly string[] = (Object.keys(IPVS_SETS) as (keyof typeof IPVS_SETS)[])
  .flatMap((role) => [setName(role, 'ipv4'), setName(role, 'ipv6')]);

export const IPVS_DUMMY_DEVICE = 'kube-ipvs0';
