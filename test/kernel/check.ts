/**
 * Judges the probe results of one flow case against its expectation. Returns every
 * problem found (empty = pass) plus a one-line summary of what actually happened, so a
 * failing case says precisely which flow went where.
 */
import type { FlowCase } from './flows.js';
import type { ProbeResult } from './harness.js';
import { PLAN, expectedClientIP, familyOf, hostPort } from './topology.js';

/** `{"10.244.1.2:8080 ← 10.244.1.100": 12, "timeout": 3}`-style tally of the outcomes. */
export function summarize(results: readonly ProbeResult[]): string {
  const tally = new Map<string, number>();
  for (const r of results) {
    const key = r.kind === 'answer' ? `${r.endpoint} saw ${r.peerSeen}`
      : r.kind === 'error' ? `error ${r.code}` : r.kind;
    tally.set(key, (tally.get(key) ?? 0) + 1);
  }
  return [...tally].sort().map(([k, n]) => `${n}× ${k}`).join(', ');
}

export function checkFlow(c: FlowCase, results: readonly ProbeResult[]): string[] {
  const problems: string[] = [];
  const family = familyOf(c.dst);
  const client = expectedClientIP(c.from, family);
  const nodeIP = PLAN.nodeIP[family];
  const e = c.expect;
  const answers = results.filter((r): r is Extract<ProbeResult, { kind: 'answer' }> => r.kind === 'answer');
  const notAnswered = results.length - answers.length;

  switch (e.kind) {
    case 'endpoints':
    case 'sticky': {
      if (notAnswered > 0) problems.push(`${notAnswered} of ${results.length} probes were not answered`);
      const stray = [...new Set(answers.map((a) => a.endpoint).filter((x) => !e.set.includes(x)))];
      if (stray.length > 0) problems.push(`answered by ineligible endpoints: ${stray.join(', ')}`);
      const seen = new Set(answers.map((a) => a.endpoint));
      if (e.kind === 'sticky') {
        problems.push(...checkSticky(e.set, answers));
        break;
      }
      if (e.allMustAnswer ?? true) {
        const missing = e.set.filter((x) => !seen.has(x));
        if (missing.length > 0) problems.push(`eligible endpoints never answered: ${missing.join(', ')}`);
      }
      for (const a of answers) {
        const self = a.endpoint === hostPort(client, Number(a.endpoint.slice(a.endpoint.lastIndexOf(':') + 1)));
        let want: string | undefined;
        if (e.clientIPPreserved) want = client;
        if (e.masqueraded) want = nodeIP;
        if (e.hairpin) want = self ? nodeIP : client;
        if (want !== undefined && a.peerSeen !== want) {
          problems.push(`${a.endpoint} saw ${a.peerSeen}, expected ${want}` +
            (want === nodeIP ? ' (masquerade to the node IP)' : ' (client IP preserved)'));
          break;
        }
      }
      break;
    }
    case 'refused':
      if (results.some((r) => r.kind !== 'refused')) problems.push('expected every probe to be refused (reject)');
      break;
    case 'dropped':
      if (results.some((r) => r.kind !== 'timeout')) problems.push('expected every probe to time out (drop)');
      break;
    case 'unanswered':
      if (answers.length > 0) problems.push('expected no endpoint to answer');
      if ((e.by ?? 'network') === 'network') {
        if (results.some((r) => r.kind !== 'error' || !UNREACHABLE.includes(r.code))) {
          problems.push(`expected every probe to be answered by the network as unreachable (${UNREACHABLE.join('/')}): kpx leaves it alone`);
        }
      } else if (results.some((r) => r.kind !== 'refused')) {
        problems.push('expected every probe to be refused by the node\'s own stack (nothing listens): kpx leaves it alone');
      }
      break;
  }
  return problems;
}

/**
 * What the outside network answers for an address nobody has (plan.ts: the external
 * namespace's unreachable route): ICMP host unreachable (IPv4), no route (IPv6).
 */
export const UNREACHABLE: readonly string[] = ['EHOSTUNREACH', 'ENETUNREACH'];

/**
 * Affinity: every client's probes on one endpoint; with several clients and several
 * eligible endpoints, not every client on the same endpoint (a fixed choice would pass
 * the first check). 16 clients, 2 endpoints: all on one by chance with p = 2^-15.
 */
function checkSticky(set: readonly string[], answers: readonly Extract<ProbeResult, { kind: 'answer' }>[]): string[] {
  const byClient = new Map<number, Set<string>>();
  for (const a of answers) {
    const k = a.client ?? 0;
    byClient.set(k, (byClient.get(k) ?? new Set()).add(a.endpoint));
  }
  const problems: string[] = [];
  const loose = [...byClient].filter(([, eps]) => eps.size > 1);
  if (loose.length > 0) {
    problems.push(`not sticky: ${loose.map(([k, eps]) => `client ${k} reached ${[...eps].sort().join(', ')}`).join('; ')}`);
  }
  const chosen = new Set(answers.map((a) => a.endpoint));
  if (byClient.size > 1 && set.length > 1 && chosen.size === 1) {
    problems.push(`all ${byClient.size} clients landed on ${[...chosen][0]}: a fixed choice, not per-client affinity`);
  }
  return problems;
}
