/**
 * The typed IPVS state of one node: what kube-proxy's IPVS mode programs, as plain
 * readonly data. Four parts, each loaded by its own tool (format.ts prints them):
 * - virtual servers with their real servers (`ipvsadm-restore`),
 * - ipsets that let a handful of iptables rules match every Service at once
 *   (`ipset restore`),
 * - the fixed iptables glue in `nat` and `filter` (`iptables-restore` /
 *   `ip6tables-restore`),
 * - the addresses bound to the dummy interface `kube-ipvs0` (`ip -batch`), so that the
 *   kernel delivers packets for them locally, where IPVS (LOCAL_IN) picks them up.
 */
import type { IPFamily, Protocol } from '../../model/types.js';

/**
 * IPVS schedulers kpx can ask for (kube-proxy's `--ipvs-scheduler`). Each needs its kernel
 * module (`ip_vs_rr`, `ip_vs_lc`, …). `mh` is given the `mh-port` flag, as upstream does.
 */
export type IpvsScheduler = 'rr' | 'wrr' | 'lc' | 'wlc' | 'lblc' | 'lblcr' | 'dh' | 'sh' | 'sed' | 'nq' | 'mh';

export const IPVS_SCHEDULERS: readonly IpvsScheduler[] = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'mh'];

/** Which Service frontend a virtual server serves. */
export type FrontendKind = 'cluster-ip' | 'external-ip' | 'load-balancer' | 'node-port';

/** A destination of a virtual server: always masquerading forwarding (`-m`), weight 1. */
export interface RealServer {
  readonly ip: string;
  readonly port: number;
  readonly weight: number;
}

/** `ipvsadm -A -t|-u|--sctp-service ADDR:PORT -s SCHED [-p T] [-b FLAGS]` and its `-a` lines. */
export interface VirtualServer {
  readonly family: IPFamily;
  readonly protocol: Protocol;
  readonly address: string;
  readonly port: number;
  readonly scheduler: IpvsScheduler;
  /** ClientIP session affinity: persistence timeout in seconds (`-p`). */
  readonly persistenceSeconds?: number;
  /** Scheduler flags (`-b`), e.g. `mh-port` for the mh scheduler. */
  readonly schedulerFlags: readonly string[];
  /** Empty: IPVS answers new connections with ICMP port unreachable (a reject). */
  readonly realServers: readonly RealServer[];
  /** The model's ServicePort key, and which of its frontends this is (not printed). */
  readonly service: string;
  readonly frontend: FrontendKind;
}

export type IpsetType = 'hash:ip' | 'hash:ip,port' | 'hash:ip,port,ip' | 'hash:ip,port,net' | 'bitmap:port';

export interface Ipset {
  /** `KUBE-…` for IPv4, `KUBE-6-…` for IPv6 (at most 31 characters). */
  readonly name: string;
  readonly type: IpsetType;
  /** Address family of hash sets; bitmap:port sets have none. */
  readonly family: IPFamily;
  /** kube-proxy's description, used as the `-m comment` of the rule that matches the set. */
  readonly comment: string;
  /** Entries in ipset syntax, e.g. `10.96.0.1,tcp:443`, `30080`; sorted, unique. */
  readonly entries: readonly string[];
}

/** ipset match directions: `dst`, `dst,dst`, `dst,dst,src`, `src,dst`. */
export type SetFlags = 'dst' | 'dst,dst' | 'dst,dst,src' | 'src,dst';

export type GlueMatch =
  | { readonly kind: 'comment'; readonly text: string }
  /** `-p tcp` (no `-m tcp`: glue rules never match ports directly). */
  | { readonly kind: 'protocol'; readonly protocol: Protocol }
  /** `-m set [!] --match-set NAME FLAGS`. */
  | { readonly kind: 'set'; readonly name: string; readonly flags: SetFlags; readonly negate: boolean }
  | { readonly kind: 'source'; readonly cidr: string; readonly negate: boolean }
  | { readonly kind: 'destination'; readonly cidr: string; readonly negate: boolean }
  /** `-m addrtype [!] --src-type LOCAL` / `--dst-type LOCAL`. */
  | { readonly kind: 'addrtype-local'; readonly addr: 'src' | 'dst'; readonly negate: boolean }
  /** `-m physdev ! --physdev-is-in`: not bridged in (needs xt_physdev). */
  | { readonly kind: 'not-physdev-in' }
  | { readonly kind: 'mark'; readonly value: number; readonly mask: number; readonly negate: boolean }
  | { readonly kind: 'conntrack'; readonly states: readonly ('NEW' | 'RELATED' | 'ESTABLISHED')[] }
  /** `-m ipvs --vaddr IP --vproto P --vport N`: the packet belongs to that virtual server (xt_ipvs). */
  | { readonly kind: 'ipvs'; readonly vaddr: string; readonly vproto: Protocol; readonly vport: number };

export type GlueTarget =
  | { readonly kind: 'jump'; readonly chain: string }
  | { readonly kind: 'ACCEPT' | 'DROP' | 'RETURN' | 'REJECT' }
  | { readonly kind: 'mark'; readonly op: 'or' | 'xor'; readonly mark: number }
  | { readonly kind: 'MASQUERADE'; readonly randomFully: boolean };

export interface GlueRule {
  readonly matches: readonly GlueMatch[];
  readonly target: GlueTarget;
}

export interface GlueChain {
  readonly name: string;
  /** Kernel built-in chain (PREROUTING, INPUT, …): only holds kpx's jumps. */
  readonly builtin: boolean;
  readonly rules: readonly GlueRule[];
}

export interface GlueTable {
  readonly name: 'filter' | 'nat';
  readonly chains: readonly GlueChain[];
}

/** One IP family's part of the IPVS state. */
export interface IpvsFamilyRuleset {
  readonly family: IPFamily;
  readonly virtualServers: readonly VirtualServer[];
  /** Every set kube-proxy creates for the family, empty ones included (rules name them). */
  readonly ipsets: readonly Ipset[];
  /** `nat` then `filter`, as kube-proxy writes them. */
  readonly tables: readonly GlueTable[];
  /** Addresses to bind on kube-ipvs0: cluster IPs, external IPs and LB IPs that are not node IPs. */
  readonly addresses: readonly string[];
}

/** The whole node: ipv4 always, ipv6 when the node or a Service uses it. */
export interface IpvsRuleset {
  readonly families: readonly IpvsFamilyRuleset[];
}

export interface IpvsRenderOptions {
  /** Default `rr`. */
  readonly scheduler?: IpvsScheduler;
}
