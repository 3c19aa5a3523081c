/**
 * Judges over the traffic generator's records (pure: no I/O, no clock). Every figure the
 * e2e tests report and every verdict they assert comes from here, so the judges are unit
 * tested on hand-made records (judge.test.ts) as well as broken live (see README).
 */

export type Outcome = 'ok' | 'refused' | 'timeout' | 'error';

/** One request of the traffic generator (test/e2e/generator.mjs). */
export interface Req {
  readonly id: string;
  readonly seq: number;
  /** Epoch ms when the request started / finished. */
  readonly t0: number;
  readonly t1: number;
  readonly kind: Outcome;
  /** ip:port the echo server says was reached (ok only). */
  readonly endpoint?: string;
  /** The client address the echo server saw (ok only). */
  readonly peer?: string;
  readonly code?: string;
}

export interface Window {
  readonly from: number;
  readonly to: number;
}

const inWindow = (r: Req, w?: Window): boolean => w === undefined || (r.t0 >= w.from && r.t0 < w.to);

export function byStart(reqs: readonly Req[]): Req[] {
  return [...reqs].sort((a, b) => a.t0 - b.t0 || a.seq - b.seq);
}

export interface Tally {
  readonly total: number;
  readonly ok: number;
  readonly refused: number;
  readonly timeout: number;
  readonly error: number;
  /** ok answers per endpoint. */
  readonly endpoints: Readonly<Record<string, number>>;
}

export function tally(reqs: readonly Req[], w?: Window): Tally {
  const t = { total: 0, ok: 0, refused: 0, timeout: 0, error: 0 };
  const endpoints: Record<string, number> = {};
  for (const r of reqs) {
    if (!inWindow(r, w)) continue;
    t.total++;
    t[r.kind]++;
    if (r.kind === 'ok' && r.endpoint !== undefined) endpoints[r.endpoint] = (endpoints[r.endpoint] ?? 0) + 1;
  }
  return { ...t, endpoints };
}

/** Requests (started inside the windows, when given) that did not get an answer. */
export function failures(reqs: readonly Req[], windows?: readonly Window[]): Req[] {
  return reqs.filter((r) => r.kind !== 'ok' && (windows === undefined || windows.some((w) => inWindow(r, w))));
}

/** The first request started at or after `since` that satisfies `pred`. */
export function firstAfter(reqs: readonly Req[], since: number, pred: (r: Req) => boolean): Req | undefined {
  return byStart(reqs).find((r) => r.t0 >= since && pred(r));
}

/**
 * The request from which on every request started at or after `since` satisfies `pred`,
 * provided at least `minFollowing` requests (itself included) back it up; otherwise
 * undefined (not settled yet, or never); requests started at or after `horizon` are
 * ignored. "The removed endpoint no longer answers" is
 * `settledAfter(reqs, writeTime, (r) => r.kind === 'ok' && !removed.has(r.endpoint))`.
 */
export function settledAfter(reqs: readonly Req[], since: number, pred: (r: Req) => boolean, minFollowing = 10, horizon = Infinity): Req | undefined {
  // Only requests started before `horizon` count: a live caller passes "now − request
  // timeout", before which every request has finished and is recorded. Without it, a run
  // of answers recorded so far can hide requests still waiting for their timeout.
  const after = byStart(reqs).filter((r) => r.t0 >= since && r.t0 < horizon);
  let start = -1;
  for (let i = after.length - 1; i >= 0; i--) {
    if (!pred(after[i]!)) break;
    start = i;
  }
  if (start < 0 || after.length - start < minFollowing) return undefined;
  return after[start];
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** Longest run of consecutive failed requests (by start time): how long traffic was down. */
export function longestOutage(reqs: readonly Req[]): { readonly count: number; readonly from: number; readonly to: number } {
  let best = { count: 0, from: 0, to: 0 };
  let cur = { count: 0, from: 0, to: 0 };
  for (const r of byStart(reqs)) {
    if (r.kind === 'ok') { cur = { count: 0, from: 0, to: 0 }; continue; }
    cur = cur.count === 0 ? { count: 1, from: r.t0, to: r.t1 } : { count: cur.count + 1, from: cur.from, to: r.t1 };
    if (cur.count > best.count) best = cur;
  }
  return best;
}

/** One line for logs: `120 requests: 118 ok (10.244.1.2:8080 60, ...), 2 timeout`. */
export function describe(reqs: readonly Req[], w?: Window): string {
  const t = tally(reqs, w);
  const eps = Object.entries(t.endpoints).sort(([a], [b]) => a.localeCompare(b)).map(([e, n]) => `${e} ${n}`).join(', ');
  const bad = (['refused', 'timeout', 'error'] as const).filter((k) => t[k] > 0).map((k) => `${t[k]} ${k}`);
  return [`${t.total} requests: ${t.ok} ok${eps === '' ? '' : ` (${eps})`}`, ...bad].join(', ');
}

/**
 * The failures left after setting aside "lone timeouts": a timeout whose neighbours in
 * the same stream (seq − 1 and seq + 1) both answered, at most one per started 1000
 * requests of that stream. Only the iptables modes use it: there, upstream kube-proxy
 * and kpx alike lose a lone request now and then on a Service with several endpoints
 * while nothing changes (README: lone timeouts). An outage (two failures in a row), a
 * refusal or a second lone timeout within the first 1000 still counts.
 */
export function withoutLoneTimeouts(all: readonly Req[], fails: readonly Req[]): { readonly left: Req[]; readonly lone: Req[] } {
  const streams = new Map<string, Map<number, Req>>();
  for (const r of all) {
    let s = streams.get(r.id);
    if (s === undefined) streams.set(r.id, (s = new Map()));
    s.set(r.seq, r);
  }
  const used = new Map<string, number>();
  const left: Req[] = [];
  const lone: Req[] = [];
  for (const f of fails) {
    const s = streams.get(f.id);
    const budget = Math.max(1, Math.ceil((s?.size ?? 0) / 1000));
    const isolated = f.kind === 'timeout' && s?.get(f.seq - 1)?.kind === 'ok' && s?.get(f.seq + 1)?.kind === 'ok';
    if (isolated && (used.get(f.id) ?? 0) < budget) {
      used.set(f.id, (used.get(f.id) ?? 0) + 1);
      lone.push(f);
    } else {
      left.push(f);
    }
  }
  return { left, lone };
}
