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
        if (seen.size > 1) problems.push(`not sticky: ${seen.size} different endpoints answered`);
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
      break;
  }
  return problems;
}
