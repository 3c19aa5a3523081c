/**
 * The e2e judges on hand-made traffic records (no kernel, no API server): each verdict
 * the chaos and churn tests rely on must also come out "bad" on records of a broken
 * proxy.
 */
import { describe, expect, test } from '@jest/globals';
import { failures, firstAfter, longestOutage, percentile, settledAfter, tally, withoutLoneTimeouts, type Outcome, type Req } from './judge.js';

/** A stream every 20 ms from t=0: `spec` is one letter per request: a/b/c = ok from that endpoint, x = timeout, r = refused. */
function stream(spec: string): Req[] {
  return [...spec].map((ch, i): Req => {
    const kind: Outcome = ch === 'x' ? 'timeout' : ch === 'r' ? 'refused' : 'ok';
    return { id: 's', seq: i, t0: i * 20, t1: i * 20 + 5, kind, ...(kind === 'ok' ? { endpoint: `10.244.1.${ch}:8080`, peer: '10.244.1.100' } : {}) };
  });
}

const okFrom = (ep: string) => (r: Req): boolean => r.kind === 'ok' && r.endpoint === `10.244.1.${ep}:8080`;

describe('settledAfter: "the removed endpoint no longer answers"', () => {
  test('finds the first request of the final run that satisfies the predicate', () => {
    // t=0..80ms: a and b alternate; the change (write at t=50) lands by t=100; from then on only b.
    const reqs = stream('ababa' + 'b'.repeat(12));
    const settled = settledAfter(reqs, 50, okFrom('b'));
    expect(settled?.t0).toBe(100);
  });

  test('a removed endpoint that keeps answering is never settled (proxy did not apply the change)', () => {
    const reqs = stream('ab'.repeat(20));
    expect(settledAfter(reqs, 50, okFrom('b'))).toBeUndefined();
  });

  test('a run shorter than minFollowing is not proof yet', () => {
    const reqs = stream('abab' + 'bbbb');
    expect(settledAfter(reqs, 0, okFrom('b'), 10)).toBeUndefined();
    expect(settledAfter(reqs, 0, okFrom('b'), 4)?.t0).toBe(60);
  });

  test('requests at or after the horizon do not count (a live caller: those may still be in flight)', () => {
    // Recorded so far: 12 answers before a flush at t=240; the requests after it are still
    // waiting for their timeout, so only the answers are recorded yet.
    const recorded = stream('b'.repeat(12));
    expect(settledAfter(recorded, 0, okFrom('b'), 10)?.t0).toBe(0);
    // With the horizon at t=100 the run has only 5 requests behind it: no verdict yet.
    expect(settledAfter(recorded, 0, okFrom('b'), 10, 100)).toBeUndefined();
  });

  test('a failure after the change breaks the run: a flush is not "settled" on ok answers', () => {
    const reqs = stream('bbbbbbbbbbbb' + 'x' + 'bbb');
    expect(settledAfter(reqs, 0, okFrom('b'), 10)).toBeUndefined();
  });
});

describe('firstAfter: "the new endpoint answers"', () => {
  test('only requests started at or after the write count', () => {
    const reqs = stream('cab' + 'aaaa' + 'c');
    expect(firstAfter(reqs, 40, okFrom('c'))?.t0).toBe(140);
    expect(firstAfter(reqs, 0, okFrom('c'))?.t0).toBe(0);
    expect(firstAfter(stream('aaaa'), 0, okFrom('c'))).toBeUndefined();
  });
});

describe('failures and tallies', () => {
  test('every request without an answer is a failure; windows select by start time', () => {
    const reqs = stream('aaxarbx');
    expect(failures(reqs).map((r) => r.seq)).toEqual([2, 4, 6]);
    expect(failures(reqs, [{ from: 0, to: 60 }]).map((r) => r.seq)).toEqual([2]);
    expect(failures(stream('abab'))).toEqual([]);
    const t = tally(reqs);
    expect(t).toMatchObject({ total: 7, ok: 4, refused: 1, timeout: 2, error: 0 });
    expect(t.endpoints).toEqual({ '10.244.1.a:8080': 3, '10.244.1.b:8080': 1 });
  });

  test('longestOutage is the longest run of consecutive failures', () => {
    expect(longestOutage(stream('aaxxxaxxa'))).toMatchObject({ count: 3, from: 40 });
    expect(longestOutage(stream('aaa')).count).toBe(0);
  });

  test('percentile: nearest rank', () => {
    expect(percentile([5, 1, 3, 2, 4], 50)).toBe(3);
    expect(percentile([5, 1, 3, 2, 4], 100)).toBe(5);
    expect(percentile([10, 20], 50)).toBe(10);
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('withoutLoneTimeouts (iptables modes)', () => {
  const req = (seq: number, kind: Req['kind'], id = 's'): Req => ({ id, seq, t0: seq * 20, t1: seq * 20 + 5, kind });
  const stream = (n: number, bad: Record<number, Req['kind']>, id = 's'): Req[] =>
    Array.from({ length: n }, (_, i) => req(i, bad[i] ?? 'ok', id));

  test('one timeout between two answers is set aside; the rest counts', () => {
    const all = stream(500, { 100: 'timeout' });
    expect(withoutLoneTimeouts(all, failures(all))).toEqual({ left: [], lone: [all[100]] });
  });

  test('two failures in a row (an outage), a refusal, a second lone timeout in 1000: counted', () => {
    const outage = stream(500, { 10: 'timeout', 11: 'timeout' });
    expect(withoutLoneTimeouts(outage, failures(outage)).left).toHaveLength(2);
    const refused = stream(500, { 10: 'refused' });
    expect(withoutLoneTimeouts(refused, failures(refused)).left).toHaveLength(1);
    const twice = stream(900, { 10: 'timeout', 500: 'timeout' });
    expect(withoutLoneTimeouts(twice, failures(twice))).toEqual({ left: [twice[500]], lone: [twice[10]] });
    const long = stream(1500, { 10: 'timeout', 1200: 'timeout' });
    expect(withoutLoneTimeouts(long, failures(long)).left).toEqual([]);
    const three = stream(1500, { 10: 'timeout', 600: 'timeout', 1200: 'timeout' });
    expect(withoutLoneTimeouts(three, failures(three)).left).toEqual([three[1200]]);
  });

  test('the budget is per stream; the last request (no answer after it) is not lone', () => {
    const a = stream(100, { 5: 'timeout' }, 'a');
    const b = stream(100, { 99: 'timeout' }, 'b');
    const all = [...a, ...b];
    expect(withoutLoneTimeouts(all, failures(all))).toEqual({ left: [b[99]], lone: [a[5]] });
  });
});
