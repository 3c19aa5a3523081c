/**
 * The packet tracer's public types: one input (a new connection's first packet), one
 * result (every possible outcome with its probability, and the path through the rules).
 *
 * Every backend's tracer has the same shape, `Tracer.trace(input) → TraceResult`, so
 * `kpx explain` and the conformance suite never know which backend they ask.
 */
import type { IPFamily, Protocol } from '../model/types.js';

/**
 * Where the packet comes from.
 * - `local`: generated on the node itself: it enters through the output hooks.
 * - `external`: arrives on an interface from outside the cluster (prerouting hooks).
 * - `pod`: arrives from a pod; traced exactly like `external` (what differs is only that
 *   its source lies in a cluster CIDR, which the rules themselves test).
 */
export type Origin = 'local' | 'external' | 'pod';

export interface TraceInput {
  readonly src: string;
  readonly dst: string;
  readonly dport: number;
  readonly proto: Protocol;
  readonly origin: Origin;
  /**
   * The node's own addresses (its Node object's IPs, plus any other address the caller
   * knows is configured on it). Routing ("is the destination local?"), `fib … type local`
   * and `addrtype LOCAL` use them; loopback addresses are always local.
   */
  readonly localAddresses: readonly string[];
}

/** "none": kpx's rules leave the packet alone; "accept": a kpx rule accepted it explicitly. */
export type Verdict = 'dnat' | 'reject' | 'drop' | 'accept' | 'none';

export interface Outcome {
  readonly verdict: Verdict;
  /** `ip:port` (IPv6 `[ip]:port`), dnat only. */
  readonly endpoint?: string;
  /** 0…1; the outcomes of one trace sum to 1. */
  readonly probability: number;
  /** The source address is rewritten to the node's (masquerade, also hairpin). */
  readonly masquerade: boolean;
  /**
   * ClientIP affinity recorded the client on this path: later connections of the same
   * client go to the same endpoint while the entry lives. Traced as a fresh client
   * (affinity sets and `recent` lists empty).
   */
  readonly sticky: boolean;
}

/** Kernel hooks, as nft names them. */
export type Hook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';

/**
 * One step of the path. `hook`: a base chain (iptables: a table's built-in chain) starts;
 * `rule`: a rule matched (text as the backend prints it) and what it did; `chain`: a
 * regular chain was entered or left; `route`: the routing decision; `note`: anything
 * else worth saying; `branch`: a random choice, one sub-path per choice.
 */
export type PathStep =
  | { readonly kind: 'hook'; readonly hook: Hook; readonly table: string; readonly chain: string; readonly type: 'filter' | 'nat'; readonly priority: number; readonly text: string }
  | { readonly kind: 'rule'; readonly chain: string; readonly index: number; readonly rule: string; readonly text: string }
  | { readonly kind: 'chain' | 'route' | 'note'; readonly text: string }
  | { readonly kind: 'branch'; readonly text: string; readonly branches: readonly PathBranch[] };

export interface PathBranch {
  readonly label: string;
  readonly probability: number;
  readonly path: readonly PathStep[];
}

export interface TraceResult {
  readonly backend: string;
  readonly family: IPFamily;
  /** Sorted: dnat by endpoint, then reject, drop, accept, none. */
  readonly outcomes: readonly Outcome[];
  readonly path: readonly PathStep[];
}

export interface Tracer {
  readonly backend: string;
  trace(input: TraceInput): TraceResult;
}

/**
 * A rule shape the tracer does not know: the renderer emitted something new. Thrown, never
 * swallowed, so renderer and tracer are changed together.
 */
export class UnknownRuleError extends Error {}

/** The input itself is unusable (not an IP, families differ, port out of range). */
export class TraceInputError extends Error {}

/** `<tracer> tracer: unknown <what>: <value as JSON>`, the message every tracer throws. */
export function unknownShape(tracer: string, what: string, value: unknown): never {
  throw new UnknownRuleError(`${tracer} tracer: unknown ${what}: ${JSON.stringify(value)}`);
}

/** The rule as the backend prints it; a printer failure is an unknown shape too. */
export function printable<T>(tracer: string, print: () => T): T {
  try {
    return print();
  } catch (err) {
    throw new UnknownRuleError(`${tracer} tracer: cannot print rule (unknown shape?): ${err instanceof Error ? err.message : String(err)}`);
  }
}
