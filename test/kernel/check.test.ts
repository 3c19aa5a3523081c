/** The flow judge itself (no kernel needed): every expectation can fail, and says why. */
import { describe, expect, test } from '@jest/globals';
import { checkFlow } from './check.js';
import { FLOWS, probeCount, type FlowCase } from './flows.js';
import type { ProbeResult } from './harness.js';

const a = (endpoint: string, peerSeen: string): ProbeResult => ({ kind: 'answer', endpoint, peerSeen });
const base = { scenario: 's', name: 'n', proto: 'tcp', dport: 80 } as const;

describe('checkFlow', () => {
  const spread: FlowCase = { ...base, from: 'pod', dst: '10.96.1.10', expect: { kind: 'endpoints', set: ['10.244.1.2:8080', '10.244.2.2:8080'], clientIPPreserved: true } };

  test('endpoints: passes when all eligible answer with the client IP', () => {
    expect(checkFlow(spread, [a('10.244.1.2:8080', '10.244.1.100'), a('10.244.2.2:8080', '10.244.1.100')])).toEqual([]);
  });

  test('endpoints: an ineligible endpoint, a missing one, a lost probe and a wrong peer all fail', () => {
    expect(checkFlow(spread, [a('10.244.1.2:8080', '10.244.1.100'), a('10.244.1.3:8080', '10.244.1.100')])).toEqual([
      'answered by ineligible endpoints: 10.244.1.3:8080',
      'eligible endpoints never answered: 10.244.2.2:8080',
    ]);
    expect(checkFlow(spread, [a('10.244.1.2:8080', '10.244.1.100'), a('10.244.2.2:8080', '10.244.1.100'), { kind: 'timeout' }]))
      .toEqual(['1 of 3 probes were not answered']);
    expect(checkFlow(spread, [a('10.244.1.2:8080', '10.100.0.10'), a('10.244.2.2:8080', '10.244.1.100')]))
      .toEqual(['10.244.1.2:8080 saw 10.100.0.10, expected 10.244.1.100 (client IP preserved)']);
  });

  test('masqueraded wants the node IP of the family; hairpin only for the client itself', () => {
    const m: FlowCase = { ...base, from: 'external', dst: 'fd00:10:96::1', expect: { kind: 'endpoints', set: ['[fd00:10:244:1::2]:8080'], masqueraded: true } };
    expect(checkFlow(m, [a('[fd00:10:244:1::2]:8080', 'fd00:10:100::10')])).toEqual([]);
    expect(checkFlow(m, [a('[fd00:10:244:1::2]:8080', 'fd00:10:200::2')])).toHaveLength(1);
    const hp: FlowCase = { ...base, from: 'pod:10.244.1.2', dst: '10.96.1.10', expect: { kind: 'endpoints', set: ['10.244.1.2:8080', '10.244.2.2:8080'], hairpin: true } };
    expect(checkFlow(hp, [a('10.244.1.2:8080', '10.100.0.10'), a('10.244.2.2:8080', '10.244.1.2')])).toEqual([]);
    expect(checkFlow(hp, [a('10.244.1.2:8080', '10.244.1.2'), a('10.244.2.2:8080', '10.244.1.2')])).toHaveLength(1);
  });

  test('sticky: per client one endpoint, and not every client on the same one', () => {
    const st: FlowCase = { ...base, from: 'pod', dst: '10.96.7.10', expect: { kind: 'sticky', set: ['10.244.1.2:8080', '10.244.1.3:8080'] } };
    const c = (client: number, endpoint: string): ProbeResult => ({ ...a(endpoint, 'x'), client });
    expect(checkFlow(st, [c(0, '10.244.1.3:8080'), c(0, '10.244.1.3:8080'), c(1, '10.244.1.2:8080'), c(1, '10.244.1.2:8080')])).toEqual([]);
    expect(checkFlow(st, [c(0, '10.244.1.3:8080'), c(0, '10.244.1.2:8080'), c(1, '10.244.1.2:8080')]))
      .toEqual(['not sticky: client 0 reached 10.244.1.2:8080, 10.244.1.3:8080']);
    expect(checkFlow(st, [c(0, '10.244.1.3:8080'), c(1, '10.244.1.3:8080'), c(2, '10.244.1.3:8080')]))
      .toEqual(['all 3 clients landed on 10.244.1.3:8080: a fixed choice, not per-client affinity']);
    // One client (a pod:<ip> source): stickiness only.
    expect(checkFlow(st, [a('10.244.1.3:8080', 'x'), a('10.244.1.3:8080', 'x')])).toEqual([]);
    expect(checkFlow(st, [c(0, '10.244.1.3:8080'), { kind: 'timeout', client: 1 }])).toEqual(['1 of 2 probes were not answered']);
  });

  test('refused and dropped', () => {
    const rf: FlowCase = { ...base, from: 'pod', dst: '10.96.5.10', expect: { kind: 'refused' } };
    expect(checkFlow(rf, [{ kind: 'refused' }])).toEqual([]);
    expect(checkFlow(rf, [{ kind: 'refused' }, { kind: 'timeout' }])).toHaveLength(1);
    const dr: FlowCase = { ...base, from: 'external', dst: '10.250.0.6', expect: { kind: 'dropped' } };
    expect(checkFlow(dr, [{ kind: 'timeout' }])).toEqual([]);
    expect(checkFlow(dr, [{ kind: 'refused' }])).toHaveLength(1);
    // What an unprogrammed address gets from the topology is not a drop.
    expect(checkFlow(dr, [{ kind: 'error', code: 'EHOSTUNREACH' }])).toHaveLength(1);
  });

  test('unanswered: the network\'s unreachable (default) or the node\'s own refusal, never a timeout', () => {
    const un: FlowCase = { ...base, from: 'pod', dst: '10.96.13.50', expect: { kind: 'unanswered' } };
    expect(checkFlow(un, [{ kind: 'error', code: 'EHOSTUNREACH' }, { kind: 'error', code: 'ENETUNREACH' }])).toEqual([]);
    expect(checkFlow(un, [{ kind: 'error', code: 'EHOSTUNREACH' }, { kind: 'timeout' }])).toHaveLength(1);
    expect(checkFlow(un, [{ kind: 'refused' }])).toHaveLength(1);
    expect(checkFlow(un, [a('10.244.1.7:8080', 'x')])).toHaveLength(2);
    const byNode: FlowCase = { ...un, expect: { kind: 'unanswered', by: 'node' } };
    expect(checkFlow(byNode, [{ kind: 'refused' }])).toEqual([]);
    expect(checkFlow(byNode, [{ kind: 'timeout' }])).toHaveLength(1);
    expect(checkFlow(byNode, [{ kind: 'error', code: 'EHOSTUNREACH' }])).toHaveLength(1);
  });
});

describe('the flow table', () => {
  test('case names are unique per scenario and every endpoint case has enough probes', () => {
    const keys = FLOWS.map((f) => `${f.scenario}/${f.name}`);
    expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
    for (const f of FLOWS) {
      if (f.expect.kind === 'endpoints') expect(probeCount(f)).toBeGreaterThanOrEqual(10 * f.expect.set.length);
    }
  });
});
