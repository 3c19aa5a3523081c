/** A flow case (test/kernel/flows.ts) as a tracer input (address plan: test/kernel/topology.ts). */
import { parseIP } from '../../src/model/index.js';
import type { TraceInput } from '../../src/trace/index.js';
import type { FlowCase } from '../kernel/flows.js';
import { NODE_ADDRESSES, PLAN, familyOf, sourceAddress, type From } from '../kernel/topology.js';

/** `node` is locally generated; pods and external clients arrive. */
export function originOf(from: From): TraceInput['origin'] {
  if (from === 'node') return 'local';
  if (from === 'external' || from === 'external-other') return 'external';
  return 'pod';
}

/**
 * The source of a connection the node opens from an unbound socket, as the kernel picks
 * it: a local destination's own address (the local route's preferred source; for IPv6,
 * RFC 6724 rule 1), otherwise the node IP (the default routes carry `src` = node IP).
 * With IPVS that makes the node's connection to a VIP come from the VIP itself; `local`
 * holds the node's addresses and those its backend binds (src/cli/explain.ts
 * `boundAddresses`).
 */
export function nodeSource(dst: string, nodeIP: string, local: readonly string[]): string {
  const d = parseIP(dst)?.text;
  return local.some((a) => parseIP(a)?.text === d) ? dst : nodeIP;
}

/** `bound`: the addresses the backend binds on the node (src/cli/explain.ts `boundAddresses`). */
export function traceInput(c: FlowCase, bound: readonly string[] = []): TraceInput {
  const family = familyOf(c.dst);
  // Every address the kernel tests' node namespace owns (both families).
  const localAddresses = [...NODE_ADDRESSES.ipv4, ...NODE_ADDRESSES.ipv6];
  return {
    src: sourceAddress(c.from, family) ?? nodeSource(c.dst, PLAN.nodeIP[family], [...localAddresses, ...bound]),
    dst: c.dst,
    dport: c.dport,
    proto: c.proto,
    origin: originOf(c.from),
    localAddresses,
  };
}
