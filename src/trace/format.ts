/** A trace for people (`kpx explain`) and as the CLI contract's JSON (`--output json`). */
import type { Outcome, PathStep, TraceInput, TraceResult } from './types.js';

/** Percent with at most two decimals: 100%, 50%, 33.33%. */
export function percent(p: number): string {
  return `${Number((p * 100).toFixed(2))}%`;
}

function outcomeText(o: Outcome): string {
  const sticky = o.sticky ? '; sticky (ClientIP affinity)' : '';
  switch (o.verdict) {
    case 'dnat':
      return `dnat to ${o.endpoint ?? '?'}, ${o.masquerade ? 'masqueraded (the endpoint sees a node address)' : 'client IP kept'}${sticky}`;
    case 'reject':
      return 'reject (ICMP unreachable / TCP reset: connection refused)';
    case 'drop':
      return 'drop (silently discarded)';
    case 'accept':
      return `accept (a kpx rule accepts it; not a Service packet)${o.masquerade ? ', masqueraded' : ''}`;
    case 'none':
      return `none (kpx's rules leave the packet alone: not a Service packet)${o.masquerade ? ', masqueraded' : ''}`;
  }
}

function stepLines(steps: readonly PathStep[], indent: string): string[] {
  const out: string[] = [];
  for (const s of steps) {
    switch (s.kind) {
      case 'hook':
        out.push(`${indent}${s.text}`);
        break;
      case 'branch':
        out.push(`${indent}  random choice: ${s.text}`);
        for (const b of s.branches) {
          out.push(`${indent}    ${b.label} (${percent(b.probability)}):`);
          out.push(...stepLines(b.path, `${indent}      `));
        }
        break;
      case 'route':
        out.push(`${indent}${s.text}`);
        break;
      case 'note':
        out.push(`${indent}    ${s.text}`);
        break;
      default:
        out.push(`${indent}  ${s.text}`);
    }
  }
  return out;
}

const ORIGIN: Record<TraceInput['origin'], string> = {
  local: 'generated on the node (output hooks)',
  external: 'arriving from outside (prerouting hooks)',
  pod: 'arriving from a pod (prerouting hooks)',
};

export function formatTrace(input: TraceInput, r: TraceResult): string {
  const dst = input.dst.includes(':') ? `[${input.dst}]` : input.dst;
  const lines = [
    `${input.proto} ${input.src} → ${dst}:${input.dport}, ${ORIGIN[input.origin]}; backend ${r.backend}`,
    '',
    'Outcomes:',
    ...r.outcomes.map((o) => `  ${percent(o.probability).padStart(7)}  ${outcomeText(o)}`),
    '',
    'Path:',
    ...stepLines(r.path, '  '),
  ];
  return `${lines.join('\n')}\n`;
}

/** `{"outcomes": [...], "path": [...]}` exactly as DESIGN.md's CLI contract describes. */
export function traceJson(r: TraceResult): { outcomes: unknown[]; path: readonly PathStep[] } {
  return {
    outcomes: r.outcomes.map((o) => ({
      verdict: o.verdict,
      ...(o.verdict === 'dnat' && o.endpoint !== undefined ? { endpoint: o.endpoint } : {}),
      // 12 significant digits: 1/3 prints as 0.333333333333, not 0.33333333333333337.
      probability: Number(o.probability.toPrecision(12)),
      masquerade: o.masquerade,
    })),
    path: r.path,
  };
}
