/**
 * A typed iptables ruleset: tables → chains → rules, each rule a list of matches and an
 * optional target over a small closed vocabulary (exactly what kube-proxy's iptables mode
 * writes). Plain readonly data: format.ts prints it as `iptables-restore` input, and a
 * packet tracer (src/trace) can walk it without parsing text.
 *
 * Match order inside a rule is the print order, and it is kube-proxy's order, e.g.
 * `-m comment --comment "…" -m tcp -p tcp -d 10.96.0.1/32 --dport 80 -j KUBE-SVC-…`.
 * A `dport` match must follow a `protocol` match (it is that match's option).
 */
import type { IPFamily, Protocol } from '../../model/types.js';

/** The tables kpx writes, in the order they appear in the restore input. */
export type IptTableName = 'filter' | 'nat';

/** conntrack states kube-proxy matches on. */
export type CtState = 'NEW' | 'INVALID' | 'RELATED' | 'ESTABLISHED' | 'DNAT';

export type IptMatch =
  /** `-m comment --comment TEXT`; quoted when printed if it holds spaces. */
  | { readonly kind: 'comment'; readonly text: string }
  /** `-m tcp -p tcp` (the module and the protocol, as kube-proxy writes both). */
  | { readonly kind: 'protocol'; readonly protocol: Protocol }
  /** `--dport N`: option of the preceding `protocol` match. */
  | { readonly kind: 'dport'; readonly port: number }
  /** `-s CIDR` / `! -s CIDR`. Addresses are always printed with a prefix (`/32`, `/128`). */
  | { readonly kind: 'source'; readonly cidr: string; readonly negate: boolean }
  /** `-d CIDR` / `! -d CIDR`. */
  | { readonly kind: 'destination'; readonly cidr: string; readonly negate: boolean }
  /** `-m addrtype --src-type LOCAL` / `--dst-type LOCAL`: the address is one of this host's. */
  | { readonly kind: 'addrtype-local'; readonly addr: 'src' | 'dst' }
  /** `-m mark --mark V/M` / `-m mark ! --mark V/M`: (mark & M) == V. */
  | { readonly kind: 'mark'; readonly value: number; readonly mask: number; readonly negate: boolean }
  /** `-m conntrack --ctstate A,B` / `-m conntrack ! --ctstate A,B`. */
  | { readonly kind: 'conntrack'; readonly states: readonly CtState[]; readonly negate: boolean }
  /**
   * `-m statistic --mode random --probability P`, P printed like Go's `%0.10f`.
   * kube-proxy's rule i of N endpoints has P = 1/(N−i).
   */
  | { readonly kind: 'statistic-random'; readonly probability: number }
  /**
   * `-m recent --name NAME --rcheck --seconds T --reap`: the source address is in list NAME
   * and was seen within T seconds (ClientIP session affinity).
   */
  | { readonly kind: 'recent-check'; readonly name: string; readonly seconds: number }
  /** `-m recent --name NAME --set`: add or refresh the source address in list NAME. */
  | { readonly kind: 'recent-set'; readonly name: string };

export type IptTarget =
  | { readonly kind: 'jump'; readonly chain: string }
  | { readonly kind: 'ACCEPT' | 'DROP' | 'RETURN' | 'REJECT' }
  /** `-j MARK --or-mark M` / `--xor-mark M`. */
  | { readonly kind: 'mark'; readonly op: 'or' | 'xor'; readonly mark: number }
  /** `-j MASQUERADE [--random-fully]`. */
  | { readonly kind: 'MASQUERADE'; readonly randomFully: boolean }
  /** `-j DNAT --to-destination ip:port` (IPv6 `[ip]:port`). */
  | { readonly kind: 'DNAT'; readonly ip: string; readonly port: number };

/** A rule; without a target it only counts packets (kube-proxy's KUBE-FW-* tail rule). */
export interface IptRule {
  readonly matches: readonly IptMatch[];
  readonly target?: IptTarget;
}

export interface IptChain {
  readonly name: string;
  /**
   * Set for the kernel's built-in chains (PREROUTING, INPUT, …): they cannot be created or
   * deleted, only hold kpx's jump rules; policy is always ACCEPT.
   */
  readonly builtin: boolean;
  readonly rules: readonly IptRule[];
}

export interface IptTable {
  readonly name: IptTableName;
  /** Built-in chains first, then kube-proxy's fixed chains, then per-service chains. */
  readonly chains: readonly IptChain[];
}

/** One IP family's rules: input for `iptables-restore` (ipv4) or `ip6tables-restore` (ipv6). */
export interface IptablesRuleset {
  readonly family: IPFamily;
  /** `filter` then `nat`, as kube-proxy writes them. */
  readonly tables: readonly IptTable[];
}

export interface IptablesRenderOptions {
  /**
   * Above this many endpoints (all service ports of the family together), per-endpoint
   * comments are left out, as kube-proxy's "large cluster mode" does. Default 1000.
   */
  readonly largeClusterEndpointsThreshold?: number;
}
