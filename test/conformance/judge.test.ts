/** The conformance judge must catch what it is there to catch. */
import { describe, expect, it } from '@jest/globals';
import type { Outcome, TraceInput } from '../../src/trace/index.js';
import { judge } from './judge.js';

const input: TraceInput = { src: '10.244.1.2', dst: '10.96.0.1', dport: 80, proto: 'tcp', origin: 'pod', localAddresses: [] };
const dnat = (endpoint: string, probability: number, masquerade = false, sticky = false): Outcome => ({ verdict: 'dnat', endpoint, probability, masquerade, sticky });
const set = ['10.244.1.2:80', '10.244.2.2:80'];

describe('judge', () => {
  it('accepts a uniform spread over exactly the set', () => {
    expect(judge({ kind: 'endpoints', set, clientIPPreserved: true }, [dnat(set[0]!, 0.5), dnat(set[1]!, 0.5)], input)).toEqual([]);
  });
  it.each([
    ['a missing endpoint', [dnat(set[0]!, 1)]],
    ['an ineligible endpoint', [dnat(set[0]!, 0.5), dnat('10.244.9.9:80', 0.5)]],
    ['a skewed spread', [dnat(set[0]!, 0.75), dnat(set[1]!, 0.25)]],
    ['probabilities not summing to 1', [dnat(set[0]!, 0.5), dnat(set[1]!, 0.4)]],
    ['a lost client IP', [dnat(set[0]!, 0.5), dnat(set[1]!, 0.5, true)]],
    ['a reject among dnats', [dnat(set[0]!, 0.5), { verdict: 'reject', probability: 0.5, masquerade: false, sticky: false }]],
  ] as const)('rejects %s', (_n, outcomes) => {
    expect(judge({ kind: 'endpoints', set, clientIPPreserved: true }, outcomes, input)).not.toEqual([]);
  });
  it('checks masquerade, hairpin, stickiness and the non-dnat verdicts', () => {
    expect(judge({ kind: 'endpoints', set, masqueraded: true }, [dnat(set[0]!, 0.5, true), dnat(set[1]!, 0.5)], input)).not.toEqual([]);
    expect(judge({ kind: 'endpoints', set, hairpin: true }, [dnat(set[0]!, 0.5, true), dnat(set[1]!, 0.5)], input)).toEqual([]);
    expect(judge({ kind: 'endpoints', set, hairpin: true }, [dnat(set[0]!, 0.5), dnat(set[1]!, 0.5, true)], input)).not.toEqual([]);
    expect(judge({ kind: 'sticky', set }, [dnat(set[0]!, 0.5, false, true), dnat(set[1]!, 0.5)], input)).not.toEqual([]);
    const drop: Outcome = { verdict: 'drop', probability: 1, masquerade: false, sticky: false };
    expect(judge({ kind: 'dropped' }, [drop], input)).toEqual([]);
    expect(judge({ kind: 'refused' }, [drop], input)).not.toEqual([]);
    expect(judge({ kind: 'unanswered' }, [drop], input)).not.toEqual([]);
  });
});
