/**
 * A typed nftables ruleset: plain readonly data that prints itself (format.ts, script.ts)
 * and that a packet tracer (src/trace) can walk without parsing text.
 *
 * Modelled on knftables' objects (table, set, map, chain, rule, element), with rules as
 * structured data over a small closed vocabulary: exactly the matches and statements the
 * kpx layout (README.md) needs, nothing more. Every expression is family-neutral
 * (`saddr`, not `ip saddr`); the table's family decides how it prints.
 *
 * Syntax checked against nft 1.0.6 on kernel 6.x (see README.md).
 */

/** nft table families kpx uses: one table per IP family. */
export type NftFamily = 'ip' | 'ip6';

/**
 * A packet field or computed value used in matches, lookup keys and dnat.
 * - `saddr`/`daddr`: `ip saddr` / `ip6 daddr` by table family.
 * - `l4proto`: `meta l4proto`; `dport`: `th dport` (transport header, any protocol).
 * - `numgen`: `numgen random mod N`, a uniform random integer in 0…N-1.
 */
export type NftExpr =
  | { readonly kind: 'field'; readonly field: 'saddr' | 'daddr' | 'l4proto' | 'dport' }
  | { readonly kind: 'numgen'; readonly mod: number };

/** A concatenation `a . b . c` used as a set/map lookup key. */
export type NftKey = readonly NftExpr[];

/** A condition; a rule's matches are ANDed. */
export type NftMatch =
  /** `ct state new` */
  | { readonly kind: 'ct-state'; readonly state: 'new' }
  /** `ct status dnat`: the connection was DNATed. */
  | { readonly kind: 'ct-status'; readonly status: 'dnat' }
  /** `KEY @set` (or `KEY != @set`). */
  | { readonly kind: 'lookup'; readonly key: NftKey; readonly set: string; readonly negate: boolean }
  /** `fib saddr type local` / `fib daddr type local`: the address is one of this host's. */
  | { readonly kind: 'fib-local'; readonly addr: 'saddr' | 'daddr' }
  /** `meta l4proto tcp` */
  | { readonly kind: 'l4proto'; readonly protocol: 'tcp' | 'udp' | 'sctp' }
  /** `numgen random mod N == value` */
  | { readonly kind: 'numgen'; readonly mod: number; readonly value: number }
  /** `meta mark & MASK == 0`: none of the mask's bits are set. */
  | { readonly kind: 'mark-clear'; readonly mask: number };

/** A terminal verdict. `goto` does not return to the calling chain; `jump` does. */
export type NftVerdict =
  | { readonly kind: 'accept' | 'drop' | 'return' | 'reject' }
  | { readonly kind: 'jump' | 'goto'; readonly chain: string };

/** An action; a verdict, if any, is the last statement of a rule. */
export type NftStatement =
  | { readonly kind: 'verdict'; readonly verdict: NftVerdict }
  /** `KEY vmap @map`: look up a verdict; a miss continues with the next rule. */
  | { readonly kind: 'vmap'; readonly key: NftKey; readonly map: string }
  /** `dnat to KEY map @map`: the map's value is `addr . port`; a miss continues. */
  | { readonly kind: 'dnat-map'; readonly key: NftKey; readonly map: string }
  /** `dnat to ADDR:PORT` (IPv6 prints `[ADDR]:PORT`). */
  | { readonly kind: 'dnat'; readonly addr: string; readonly port: number }
  /** `update @set { KEY }`: add or refresh the key (timeout restarts). */
  | { readonly kind: 'set-update'; readonly set: string; readonly key: NftKey }
  /** `meta mark set meta mark or|xor MARK` */
  | { readonly kind: 'mark'; readonly op: 'or' | 'xor'; readonly mark: number }
  /** `masquerade fully-random` */
  | { readonly kind: 'masquerade'; readonly fullyRandom: boolean };

export interface NftRule {
  readonly matches: readonly NftMatch[];
  readonly statements: readonly NftStatement[];
}

/** A set or map key/value type: nft datatypes (`ipv4_addr . inet_service`) or `typeof` expressions. */
export type NftTypeSpec =
  | { readonly type: string }
  | { readonly typeof: string };

/** A verdict or a data value (concatenation parts, e.g. `['10.1.0.1', '8080']`). */
export type NftMapValue =
  | { readonly kind: 'verdict'; readonly verdict: NftVerdict }
  | { readonly kind: 'data'; readonly parts: readonly string[] };

/** A set element: the concatenation parts of its key (a CIDR part in interval sets). */
export interface NftElement {
  readonly key: readonly string[];
  /** Printed as `comment "…"` after sanitisation (format.ts). */
  readonly comment?: string;
}

export interface NftMapElement extends NftElement {
  readonly value: NftMapValue;
}

export type NftSetFlag = 'interval' | 'dynamic' | 'timeout';

export interface NftSet {
  readonly name: string;
  readonly key: NftTypeSpec;
  readonly flags: readonly NftSetFlag[];
  /** Default element timeout in seconds (sets with the `timeout` flag). */
  readonly timeout?: number;
  /** Sorted; empty sets are still declared so incremental syncs can add to them. */
  readonly elements: readonly NftElement[];
}

export interface NftMap {
  readonly name: string;
  readonly key: NftTypeSpec;
  /** `{ type: 'verdict' }` for verdict maps. */
  readonly value: NftTypeSpec;
  readonly flags: readonly NftSetFlag[];
  readonly elements: readonly NftMapElement[];
}

/** A base chain's attachment. Priorities are numeric: nft 1.0.6 accepts `dstnat` only on prerouting. */
export interface NftHook {
  readonly type: 'filter' | 'nat';
  readonly hook: 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';
  /** dstnat = -100, srcnat = 100. */
  readonly priority: number;
  readonly policy: 'accept';
}

export interface NftChain {
  readonly name: string;
  /** Present for base chains. */
  readonly hook?: NftHook;
  readonly rules: readonly NftRule[];
}

export interface NftTable {
  readonly family: NftFamily;
  readonly name: string;
  readonly sets: readonly NftSet[];
  readonly maps: readonly NftMap[];
  readonly chains: readonly NftChain[];
}

/** One table per IP family in use; the ipv4 table is always present, and first. */
export interface NftRuleset {
  readonly tables: readonly NftTable[];
}
