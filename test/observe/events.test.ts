/** Events: the object kpx posts, the rate limit, and failures that must never escape (pure, fake sink). */
import type { EventsV1Event } from '@kubernetes/client-node';
import { buildEvent, EventRecorder, EventThrottle, NOTE_LIMIT, type EventReport } from '../../src/watch/events.js';
import { silentLogger } from '../../src/observe/logger.js';

const REPORT: EventReport = {
  regarding: { kind: 'Service', apiVersion: 'v1', namespace: 'ns', name: 'web', uid: 'u-1' },
  type: 'Warning', reason: 'FailedToStartServiceHealthcheck', action: 'Listen', note: 'port in use',
};

test('the Event as client-go tools/events makes it: name <object>.<hex ns>, the object\'s namespace, micro time', () => {
  const ms = Date.UTC(2026, 11, 1, 4, 0, 0, 123);
  const e = buildEvent(REPORT, 'kpx', 'kpx-node-a', ms, 7);
  expect(e.metadata).toEqual({ name: `web.${(BigInt(ms) * 1_000_000n + 7n).toString(16)}`, namespace: 'ns' });
  expect(e).toMatchObject({
    reportingController: 'kpx', reportingInstance: 'kpx-node-a', action: 'Listen', reason: 'FailedToStartServiceHealthcheck',
    type: 'Warning', note: 'port in use', regarding: { kind: 'Service', apiVersion: 'v1', namespace: 'ns', name: 'web', uid: 'u-1' },
  });
  // The API server parses eventTime as RFC 3339 with exactly six fractional digits.
  expect(JSON.parse(JSON.stringify(e)).eventTime).toBe('2026-12-01T04:00:00.123000Z');
  const long = buildEvent({ ...REPORT, note: 'x'.repeat(5000), regarding: { kind: 'Node', apiVersion: 'v1', name: 'n' } }, 'kpx', 'i', ms, 0);
  expect(long.note).toHaveLength(NOTE_LIMIT);
  expect(long.metadata?.namespace).toBe('default');
});

test('throttle: once per key per window, bounded memory (oldest forgotten first)', () => {
  const t = new EventThrottle(60_000, 3);
  expect(t.admit('a', 0)).toBe(true);
  expect(t.admit('a', 59_999)).toBe(false);
  expect(t.admit('a', 60_000)).toBe(true);
  for (const k of ['b', 'c', 'd', 'e']) expect(t.admit(k, 60_001)).toBe(true);
  expect(t.size).toBe(3);
  // 'a' was forgotten (capacity), so it passes again inside its window.
  expect(t.admit('a', 60_002)).toBe(true);
  // Expired entries go as soon as anything is admitted.
  t.admit('z', 500_000);
  expect(t.size).toBe(1);
});

test('recorder: the same object and reason once per window; a failed post is counted and logged at debug, never thrown', async () => {
  let now = 1_000;
  const posted: { ns: string; body: EventsV1Event }[] = [];
  let fail = false;
  let failures = 0;
  const debug: string[] = [];
  const r = new EventRecorder({
    sink: async (ns, body) => { if (fail) throw Object.assign(new Error('forbidden'), { code: 403 }); posted.push({ ns, body }); },
    nodeName: 'node-a', now: () => now, windowMs: 10_000,
    logger: { ...silentLogger, debug: (_f, m) => debug.push(m) },
    failures: { inc: () => { failures++; } },
  });
  r.record(REPORT);
  r.record(REPORT);
  r.record({ ...REPORT, regarding: { ...REPORT.regarding, name: 'api' } });
  await r.flush();
  expect(posted.map((p) => `${p.ns}/${p.body.regarding?.name}`)).toEqual(['ns/web', 'ns/api']);
  expect(posted[0]?.body.reportingInstance).toBe('kpx-node-a');
  now += 10_000;
  fail = true;
  r.record(REPORT);
  await r.flush();
  expect(failures).toBe(1);
  expect(debug).toEqual(['could not post an Event']);
});
