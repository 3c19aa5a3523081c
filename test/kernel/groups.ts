/**
 * A flow case as probe groups, and the groups' results back as the case's results: one
 * group per client (sticky cases: several clients, each sending one probe after another;
 * topology.ts `clientAddress`), one group otherwise. Pure; shared by the kernel suites
 * (suite.ts) and the IPVS VM job (test/ipvs-vm/job.ts).
 */
import { STICKY_PROBES_PER_CLIENT, probeCount, type FlowCase } from './flows.js';
import type { ProbeGroup, ProbeResult } from './harness.js';
import type { NotHonoured } from './not-honoured.js';
import { clientCount } from './topology.js';

/**
 * The case as it is judged: a backend that does not honour it is held to `instead`, and
 * its probes must be counted for that expectation (3 probes suit "unanswered", not a
 * two-endpoint set: all three may land on one endpoint).
 */
export function judgedCase(c: FlowCase, notHonoured: Readonly<Record<string, NotHonoured>> = {}): FlowCase {
  const limit = notHonoured[c.name];
  return limit ? { ...c, expect: limit.instead } : c;
}

export function caseGroups(c: FlowCase, caseId: string, concurrency = 20): ProbeGroup[] {
  const probe = { proto: c.proto, dst: c.dst, dport: c.dport };
  if (c.expect.kind !== 'sticky' || clientCount(c.from) === 1) {
    const n = probeCount(c);
    return [{ id: caseId, from: c.from, concurrency: c.expect.kind === 'sticky' ? 1 : concurrency, probes: Array.from({ length: n }, () => probe) }];
  }
  const perClient = c.probes !== undefined ? Math.ceil(c.probes / clientCount(c.from)) : STICKY_PROBES_PER_CLIENT;
  return Array.from({ length: clientCount(c.from) }, (_, k) => ({
    id: `${caseId}#${k}`, from: c.from, client: k, concurrency: 1, probes: Array.from({ length: perClient }, () => probe),
  }));
}

/** The case's results, each tagged with its client, from the results of its groups (by group id). */
export function caseResults(groups: readonly ProbeGroup[], resultsOf: (groupId: string) => readonly ProbeResult[] | undefined): ProbeResult[] | undefined {
  const out: ProbeResult[] = [];
  for (const g of groups) {
    const r = resultsOf(g.id);
    if (r === undefined) return undefined;
    out.push(...r.map((x) => ({ ...x, client: g.client ?? 0 })));
  }
  return out;
}
