/** A flow case (test/kernel/flows.ts) as a tracer input (address plan: test/kernel/topology.ts). */
import type { TraceInput } from '../../src/trace/index.js';
import type { FlowCase } from '../kernel/flows.js';
import { NODE_ADDRESSES, PLAN, familyOf, sourceAddress, type From } from '../kernel/topology.js';

/** `node` is locally generated; pods and external clients arrive. */
export function originOf(from: From): TraceInput['origin'] {
  if (from === 'node') return 'local';
  if (from === 'external' || from === 'external-other') return 'external';
  return 'pod';
}

export function traceInput(c: FlowCase): TraceInput {
  const family = familyOf(c.dst);
  return {
    src: sourceAddress(c.from, family) ?? PLAN.nodeIP[family],
    dst: c.dst,
    dport: c.dport,
    proto: c.proto,
    origin: originOf(c.from),
    // Every address the kernel tests' node namespace owns (both families).
    localAddresses: [...NODE_ADDRESSES.ipv4, ...NODE_ADDRESSES.ipv6],
  };
}
