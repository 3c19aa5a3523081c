/**
 * What the conformance suite holds each backend's TRACER to: exactly the kernel suites'
 * table (test/kernel/not-honoured.ts; IPVS: test/ipvs-vm/not-honoured.ts). One source of
 * truth: the kernel judges (test/kernel/check.ts) tell a drop from an unanswered packet
 * and check affinity per client, so there is no case left where the tracer must be held
 * to something else than what the real kernel (or the IPVS VM) shows.
 */
import type { TracedBackend } from '../../src/cli/explain.js';
import { NOT_HONOURED, type NotHonoured } from '../kernel/not-honoured.js';

/** What the conformance suite holds `backend`'s tracer to, by case name. */
export function tracerNotHonoured(backend: TracedBackend): Readonly<Record<string, NotHonoured>> {
  return NOT_HONOURED[backend];
}
