/**
 * Judges a tracer's outcomes against a flow case's expectation, in the tracer's terms:
 * - endpoints: only dnat outcomes, exactly to the expected set (a subset when
 *   allMustAnswer is false), probabilities summing to 1 and uniform over the endpoints;
 *   masqueraded → every outcome masquerades; clientIPPreserved → none does; hairpin →
 *   exactly the outcomes back to the client itself masquerade;
 * - sticky: the same, and every outcome records the client (affinity);
 * - refused → reject with probability 1; dropped → drop; unanswered → kpx leaves it alone.
 * Returns the problems found (empty: the case holds).
 */
import type { Outcome, TraceInput } from '../../src/trace/index.js';
import type { FlowExpect } from '../kernel/flows.js';

const EPS = 1e-9;

function endpointIP(ep: string): string {
  return ep.slice(0, ep.lastIndexOf(':')).replace(/^\[|\]$/g, '');
}

export function judge(expect: FlowExpect, outcomes: readonly Outcome[], input: TraceInput): string[] {
  const problems: string[] = [];
  const total = outcomes.reduce((s, o) => s + o.probability, 0);
  if (Math.abs(total - 1) > EPS) problems.push(`probabilities sum to ${total}, not 1`);
  const only = (verdict: Outcome['verdict'] | readonly Outcome['verdict'][]): void => {
    const allowed = typeof verdict === 'string' ? [verdict] : verdict;
    const other = outcomes.filter((o) => !allowed.includes(o.verdict));
    if (other.length > 0) problems.push(`expected only ${allowed.join('/')}, got ${describe(other)}`);
  };
  switch (expect.kind) {
    case 'refused': only('reject'); break;
    case 'dropped': only('drop'); break;
    case 'unanswered': only('none'); break;
    case 'endpoints':
    case 'sticky': {
      only('dnat');
      const byEndpoint = new Map<string, number>();
      for (const o of outcomes) {
        if (o.endpoint !== undefined) byEndpoint.set(o.endpoint, (byEndpoint.get(o.endpoint) ?? 0) + o.probability);
      }
      const got = [...byEndpoint.keys()].sort();
      const want = [...expect.set].sort();
      const all = expect.kind === 'sticky' || expect.allMustAnswer !== false;
      const extra = got.filter((e) => !want.includes(e));
      const missing = all ? want.filter((e) => !got.includes(e)) : [];
      if (extra.length > 0) problems.push(`ineligible endpoints: ${extra.join(', ')}`);
      if (missing.length > 0) problems.push(`endpoints never chosen: ${missing.join(', ')}`);
      if (got.length > 0) {
        const uniform = 1 / got.length;
        const skewed = [...byEndpoint].filter(([, p]) => Math.abs(p - uniform) > 1e-6);
        if (skewed.length > 0) problems.push(`not uniform (want ${uniform} each): ${skewed.map(([e, p]) => `${e}=${p}`).join(', ')}`);
      }
      if (expect.kind === 'sticky') {
        const loose = outcomes.filter((o) => !o.sticky);
        if (loose.length > 0) problems.push(`not sticky: ${describe(loose)}`);
      } else {
        if (expect.masqueraded === true) {
          const bad = outcomes.filter((o) => !o.masquerade);
          if (bad.length > 0) problems.push(`not masqueraded: ${describe(bad)}`);
        }
        if (expect.clientIPPreserved === true) {
          const bad = outcomes.filter((o) => o.masquerade);
          if (bad.length > 0) problems.push(`masqueraded, client IP lost: ${describe(bad)}`);
        }
        if (expect.hairpin === true) {
          const bad = outcomes.filter((o) => o.endpoint !== undefined && o.masquerade !== (endpointIP(o.endpoint) === input.src));
          if (bad.length > 0) problems.push(`hairpin masquerade wrong (only the way back to ${input.src} masquerades): ${describe(bad)}`);
        }
      }
      break;
    }
  }
  return problems;
}

export function describe(outcomes: readonly Outcome[]): string {
  return outcomes.map((o) => `${o.verdict}${o.endpoint !== undefined ? ` ${o.endpoint}` : ''} p=${o.probability.toFixed(4)}${o.masquerade ? ' masq' : ''}${o.sticky ? ' sticky' : ''}`).join(', ');
}
