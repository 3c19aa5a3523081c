/**
 * Chaos under continuous traffic, against the proxy under test in a node namespace and a
 * real API server (./README.md):
 *  - SIGKILL the proxy and start it again: no failed request, the rules stay in the kernel;
 *  - the API server stopped for 20 s and started again: no failed request, and a change
 *    written after it is back reaches the kernel;
 *  - the apply tool (`nft`, or `iptables-restore`) failing for a while: the last good
 *    rules keep serving, retries happen, /healthz turns 503 after the health timeout,
 *    everything recovers;
 *  - drift, the rules of the mode flushed in the node namespace (`nft flush ruleset`, or
 *    every iptables rule and chain): repaired (time to repair reported).
 * Each test leaves the proxy running and serving for the next one.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { rmSync, writeFileSync } from 'node:fs';
import { failures, longestOutage, withoutLoneTimeouts, type Req } from './judge.js';
import { Figures, okFrom, sleep, summary, waitServing } from './steps.js';
import { podIP } from './topology.js';
import type { Traffic } from './traffic.js';
import type { ProxyMode } from './proxy.js';
import { World } from './world.js';

/** Never changes: its traffic must never fail. */
const STABLE = { name: 'stable', clusterIP: '10.96.101.10' };
/** Moved from one endpoint to the next by each test, to prove changes still get through. */
const MOVING = { name: 'moving', clusterIP: '10.96.101.20' };
/** Sync period for the apply-failure test: upstream's health timeout is 2 × syncPeriod. */
const SHORT_SYNC = '--iptables-sync-period=5s';

/** The suite on one backend; a `chaos*.test.ts` file per backend runs it (one world each). */
export function chaosSuite(mode: ProxyMode): void {
  let w: World | undefined;
  const APPLY = mode === 'nftables' ? 'nft' : 'iptables-restore';
  const DRIFT = mode === 'nftables' ? 'nft flush ruleset' : `iptables-${mode === 'iptables-nft' ? 'nft' : 'legacy'} -F and -X of every table`;
  /**
   * nftables: kpx watches `nft monitor` and repairs at once (upstream never does). iptables:
   * the drift runs under SHORT_SYNC (after the apply-failure test), and kube-proxy's canary
   * monitor checks KUBE-PROXY-CANARY in the mangle table every syncPeriod, then resyncs
   * (pkg/util/iptables/iptables.go Monitor, pkg/proxy/iptables/proxier.go NewProxier):
   * one sync period plus the time of the full sync.
   */
  const DRIFT_REPAIR_MS = mode === 'nftables' ? 2000 : 5000 + 3000;
  const fig = new Figures('chaos', () => w);

  beforeAll(async () => {
    w = await World.create(mode);
    await w.writer.createService(STABLE);
    await w.writer.setEndpoints(STABLE.name, [2, 3, 4].map((h) => ({ ip: podIP(h) })));
    await w.writer.createService(MOVING);
    await w.writer.setEndpoints(MOVING.name, [{ ip: podIP(5) }]);
    w.startProxy();
    fig.add(`proxy start → first answer: ${await waitServing(w, STABLE.clusterIP)} ms`);
    await waitServing(w, MOVING.clusterIP);
  }, 300_000);

  afterAll(async () => {
    // iptables mode drops conntrack-INVALID packets (KUBE-FORWARD, unless
    // --conntrack-tcp-be-liberal) and counts them: a lone timeout can be one of those.
    if (w?.proxy?.running === true && mode !== 'nftables') fig.add(`proxy's INVALID drops: ${(await w.metrics('kubeproxy_iptables_ct_state_invalid')).join('; ') || 'no metric'}`);
    fig.print();
    await w?.dispose();
  }, 60_000);

  function startTraffic(): Traffic {
    return w!.traffic([
      { id: 'stable', proto: 'tcp', dst: STABLE.clusterIP, dport: 80 },
      { id: 'moving', proto: 'tcp', dst: MOVING.clusterIP, dport: 80 },
    ]);
  }

  /** Moves MOVING to pod `h` and waits until only it answers; returns the write time and the first request that saw it. */
  async function move(t: Traffic, h: number, timeoutMs = 30_000): Promise<{ since: number; seen: Req }> {
    const since = Date.now();
    await w!.writer.setEndpoints(MOVING.name, [{ ip: podIP(h) }]);
    const seen = await t.settled('moving', since, okFrom(h), `moving answers from ${podIP(h)} only`, timeoutMs);
    return { since, seen };
  }

  /** The failures a test counts: all on nftables; on iptables all but lone timeouts (judge.ts withoutLoneTimeouts), reported. */
  function counted(reqs: readonly Req[], fails: Req[] = failures(reqs)): Req[] {
    if (mode === 'nftables') return fails;
    const { left, lone } = withoutLoneTimeouts(reqs, fails);
    if (lone.length > 0) fig.add(`lone timeouts set aside (iptables): ${lone.map((r) => `${r.id} #${r.seq}`).join(', ')}`);
    return left;
  }

  function report(name: string, t: Traffic, reqs: Req[]): void {
    fig.add(`${name}: stable ${summary(t, 'stable')}; moving ${summary(t, 'moving')}; failed requests: ${failures(reqs).length}`);
  }

  describe(`chaos under continuous traffic [${mode}]`, () => {
    test('SIGKILL the proxy and start it again: no failed request, rules stay', async () => {
      const t = startTraffic();
      await sleep(1000);
      const before = await w!.ruleset();
      await w!.proxy!.signal('SIGKILL');
      const killedAt = Date.now();
      await sleep(3000);
      // Nothing flushed the rules while no proxy was running.
      expect(await w!.ruleset()).toBe(before);
      w!.startProxy();
      const moved = await move(t, 6, 60_000);
      await sleep(1000);
      const reqs = await t.stop();
      report('SIGKILL + restart', t, reqs);
      fig.add(`SIGKILL + restart: proxy down 3 s; first change after the restart in the kernel ${Math.round(moved.seen.t0 - killedAt - 3000)} ms after the new proxy started`);
      expect(counted(reqs)).toEqual([]);
    }, 120_000);

    test('API server stopped for 20 s, then started: no failed request; changes after it returns are applied', async () => {
      const t = startTraffic();
      await sleep(1000);
      await w!.cp.stopApiServer();
      await sleep(20_000);
      await w!.cp.startApiServer();
      const readyAt = Date.now();
      const moved = await move(t, 7, 90_000);
      await sleep(1000);
      const reqs = await t.stop();
      const afterReady = moved.seen.t0 - readyAt;
      report('API server down 20 s', t, reqs);
      fig.add(`API server down 20 s: first change after it is ready in the kernel ${Math.round(afterReady)} ms after ready (kpx target ≤ 2000 ms)`);
      expect(counted(reqs)).toEqual([]);
      if (w!.kind === 'kpx') expect(afterReady).toBeLessThanOrEqual(2000);
    }, 180_000);

    test('apply failure: last good rules keep serving, retries, /healthz 503, then recovery', async () => {
      // Restart with a short sync period so that the health timeout (2 × syncPeriod upstream) is 10 s.
      // (A proxy without drift repair may have left the kernel empty in the previous test:
      // traffic starts once the restarted proxy serves.)
      await w!.proxy!.signal('SIGTERM');
      w!.startProxy([SHORT_SYNC]);
      await waitServing(w!, STABLE.clusterIP);
      const t = startTraffic();
      await move(t, 8, 60_000);
      await w!.waitHealthz(200, 30_000);
      const callsBefore = w!.applyCalls().length;
      writeFileSync(w!.applyFailFlag, '');
      const failingFrom = Date.now();
      let unhealthyAt = 0;
      try {
        await w!.writer.setEndpoints(MOVING.name, [{ ip: podIP(9) }]);
        unhealthyAt = await w!.waitHealthz(503, 60_000);
        await sleep(2000);
      } finally {
        rmSync(w!.applyFailFlag, { force: true });
      }
      const restoredAt = Date.now();
      const failedCalls = w!.applyCalls().length - callsBefore;
      // While the apply tool failed, the old rules served: nobody reached the new endpoint.
      const during = t.reqs('moving').filter((r) => r.t0 >= failingFrom + 200 && r.t1 < restoredAt);
      expect(during.filter(okFrom(9))).toEqual([]);
      expect(during.filter(okFrom(8)).length).toBeGreaterThan(100);
      const recovered = await t.settled('moving', restoredAt, okFrom(9), 'the change made during the failure reaches the kernel', 60_000);
      const healthyAt = await w!.waitHealthz(200, 60_000);
      await sleep(500);
      const reqs = await t.stop();
      report(`${APPLY} failing`, t, reqs);
      fig.add(`${APPLY} failing for ${Math.round((restoredAt - failingFrom) / 1000)} s: ${failedCalls} ${APPLY} calls refused (retries); /healthz 503 ${Math.round(unhealthyAt - failingFrom)} ms after the change; ` +
        `after ${APPLY} works again: change in the kernel in ${Math.round(recovered.t0 - restoredAt)} ms, /healthz 200 in ${Math.round(healthyAt - restoredAt)} ms`);
      expect(failedCalls).toBeGreaterThanOrEqual(2);
      expect(counted(reqs)).toEqual([]);
    }, 240_000);
    test(`drift: ${DRIFT} in the node namespace is repaired (kpx: ${mode === 'nftables' ? 'within 2 s' : 'within the sync period'})`, async () => {
      const t = startTraffic();
      // Quiet first (longer than the minimum sync interval after the previous test's
      // changes): a sync that was merely queued must not pass for a repair.
      await sleep(3000);
      const flushedAt = Date.now();
      await w!.flushRules();
      let repaired: Req | undefined;
      try {
        // Requests started after the flush only (connections already in flight when the
        // rules vanish fail as well — their NAT hooks are gone — and count as failed below).
        repaired = await t.settled('stable', flushedAt, (r) => r.kind === 'ok', 'stable answers again', 45_000, 25);
      } finally {
        const reqs = await t.stop();
        const out = longestOutage(reqs.filter((r) => r.id === 'stable'));
        report(DRIFT, t, reqs);
        fig.add(`${DRIFT}: ${repaired === undefined ? 'NOT repaired within 45 s' : `repaired ${Math.max(0, Math.round(repaired.t0 - flushedAt))} ms after the flush`}` +
          ` (longest outage ${out.count} requests, ${Math.round(out.to - out.from)} ms)`);
      }
      expect(repaired).toBeDefined();
      expect(repaired!.t0 - flushedAt).toBeLessThanOrEqual(DRIFT_REPAIR_MS);
    }, 120_000);
  });
}
