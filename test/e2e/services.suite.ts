/**
 * The proxy under test (kpx run, or upstream kube-proxy with KPX_E2E_PROXY=upstream) in a
 * node namespace, a real API server, real pods and clients:
 *  - static checks: ClusterIP (TCP, UDP) from a pod, NodePort / externalIP / LoadBalancer
 *    IP from an external host, a Service without endpoints rejects, Local policy;
 *  - churn under continuous traffic: every change reaches the kernel (seen by the traffic),
 *    no request fails to a Service that kept ready endpoints, programming latency;
 *  - a negative control: with the proxy frozen the same judges see nothing change.
 * Topology and figures: ./README.md.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { describe as describeReqs, failures, longestOutage, settledAfter, tally, withoutLoneTimeouts, type Req, type Window } from './judge.js';
import { ep, failed, Figures, okFrom, sleep, step, summary, waitServing } from './steps.js';
import { E2E, OTHER_NODE_NAME, podIP } from './topology.js';
import type { Traffic } from './traffic.js';
import type { ProxyMode } from './proxy.js';
import { World } from './world.js';

const WEB = { name: 'web', clusterIP: '10.96.100.10', type: 'LoadBalancer', nodePort: 30080 } as const;
const WEB_LB = '10.250.0.50';
const eps = (...hosts: number[]) => hosts.map((h) => ({ ip: podIP(h) }));

/** The suite on one backend; a `services*.test.ts` file per backend runs it (one world each). */
export function servicesSuite(mode: ProxyMode): void {
  let w: World | undefined;
  const fig = new Figures('services: static checks and churn', () => w);

  beforeAll(async () => {
    w = await World.create(mode);
    const wr = w.writer;
    await wr.createService({ name: 'clusterip', clusterIP: '10.96.100.1', udp: true });
    await wr.setEndpoints('clusterip', eps(2, 3), true);
    await wr.createService({ name: 'nodeport', clusterIP: '10.96.100.2', type: 'NodePort', nodePort: 30081 });
    await wr.setEndpoints('nodeport', [{ ip: podIP(4) }, { ip: podIP(5), node: OTHER_NODE_NAME }]);
    await wr.createService({ name: 'local', clusterIP: '10.96.100.3', type: 'LoadBalancer', nodePort: 30082, externalTrafficPolicy: 'Local' });
    await wr.setLoadBalancerIPs('local', ['10.250.0.21']);
    await wr.setEndpoints('local', [{ ip: podIP(6) }, { ip: podIP(7), node: OTHER_NODE_NAME }]);
    await wr.createService({ name: 'extip', clusterIP: '10.96.100.4', externalIPs: ['10.250.0.30'] });
    await wr.setEndpoints('extip', eps(8));
    await wr.createService({ name: 'lb', clusterIP: '10.96.100.5', type: 'LoadBalancer', nodePort: 30083 });
    await wr.setLoadBalancerIPs('lb', ['10.250.0.31']);
    await wr.setEndpoints('lb', eps(9));
    await wr.createService({ name: 'empty', clusterIP: '10.96.100.6' });
    await wr.setEndpoints('empty', []);
    await wr.createService(WEB);
    await wr.setEndpoints('web', eps(2, 3, 4));
    w.startProxy();
    fig.add(`proxy start → first answer from a Service: ${await waitServing(w, WEB.clusterIP)} ms`);
  }, 300_000);

  afterAll(async () => {
    // iptables mode drops conntrack-INVALID packets (KUBE-FORWARD, unless
    // --conntrack-tcp-be-liberal) and counts them: a lone timeout can be one of those.
    if (w?.proxy?.running === true && mode !== 'nftables') fig.add(`proxy's INVALID drops: ${(await w.metrics('kubeproxy_iptables_ct_state_invalid')).join('; ') || 'no metric'}`);
    fig.print();
    await w?.dispose();
  }, 60_000);

  interface Expect {
    readonly endpoints: readonly number[];
    /** The client address the endpoint must see. */
    readonly peer?: string;
    /** Every request refused instead. */
    readonly refused?: boolean;
  }

  /** The failures a test counts: all on nftables; on iptables all but lone timeouts (judge.ts withoutLoneTimeouts), reported. */
  function counted(reqs: readonly Req[], fails: Req[] = failures(reqs)): Req[] {
    if (mode === 'nftables') return fails;
    const { left, lone } = withoutLoneTimeouts(reqs, fails);
    if (lone.length > 0) fig.add(`lone timeouts set aside (iptables): ${lone.map((r) => `${r.id} #${r.seq}`).join(', ')}`);
    return left;
  }

  function judgeStatic(t: Req[], id: string, want: Expect): string[] {
    const reqs = t.filter((r) => r.id === id);
    const tl = tally(reqs);
    const problems: string[] = [];
    if (reqs.length < 40) problems.push(`${id}: only ${reqs.length} requests`);
    if (want.refused === true) {
      if (tl.refused !== tl.total) problems.push(`${id}: want every request refused, got ${JSON.stringify(tl)}`);
      return problems;
    }
    if (tl.ok !== tl.total) problems.push(`${id}: ${tl.total - tl.ok} of ${tl.total} requests failed`);
    const seen = Object.keys(tl.endpoints).sort();
    const expected = want.endpoints.map(ep).sort();
    if (JSON.stringify(seen) !== JSON.stringify(expected)) problems.push(`${id}: answered by ${seen.join(' ')}, want ${expected.join(' ')}`);
    const peers = [...new Set(reqs.filter((r) => r.kind === 'ok').map((r) => r.peer))];
    if (want.peer !== undefined && (peers.length !== 1 || peers[0] !== want.peer)) problems.push(`${id}: endpoints saw ${peers.join(' ')}, want ${want.peer}`);
    return problems;
  }

  describe(`static traffic [${mode}]`, () => {
    test('ClusterIP, NodePort, externalIP, LoadBalancer IP, no endpoints, Local policy', async () => {
      const inside = w!.traffic([
        { id: 'clusterip-tcp', proto: 'tcp', dst: '10.96.100.1', dport: 80 },
        { id: 'clusterip-udp', proto: 'udp', dst: '10.96.100.1', dport: 80 },
        { id: 'no-endpoints', proto: 'tcp', dst: '10.96.100.6', dport: 80 },
      ]);
      const outside = w!.traffic([
        { id: 'nodeport', proto: 'tcp', dst: E2E.nodeIP, dport: 30081 },
        { id: 'local-nodeport', proto: 'tcp', dst: E2E.nodeIP, dport: 30082 },
        { id: 'local-lb', proto: 'tcp', dst: '10.250.0.21', dport: 80 },
        { id: 'externalip', proto: 'tcp', dst: '10.250.0.30', dport: 80 },
        { id: 'lb', proto: 'tcp', dst: '10.250.0.31', dport: 80 },
      ], 'ext');
      await inside.collect(['clusterip-tcp', 'clusterip-udp', 'no-endpoints'], 40);
      await outside.collect(['nodeport', 'local-nodeport', 'local-lb', 'externalip', 'lb'], 40);
      const reqs = [...await inside.stop(), ...await outside.stop()];
      const cases: [string, Expect][] = [
        ['clusterip-tcp', { endpoints: [2, 3], peer: E2E.clientPod }],
        ['clusterip-udp', { endpoints: [2, 3], peer: E2E.clientPod }],
        ['no-endpoints', { endpoints: [], refused: true }],
        // Cluster policy from outside: masqueraded to the node's address.
        ['nodeport', { endpoints: [4, 5], peer: E2E.nodeIP }],
        // Local policy: only this node's endpoint, client address kept.
        ['local-nodeport', { endpoints: [6], peer: E2E.externalHost }],
        ['local-lb', { endpoints: [6], peer: E2E.externalHost }],
        ['externalip', { endpoints: [8], peer: E2E.nodeIP }],
        ['lb', { endpoints: [9], peer: E2E.nodeIP }],
      ];
      for (const [id] of cases) fig.add(`static ${id}: ${describeReqs(reqs.filter((r) => r.id === id))}`);
      expect(cases.flatMap(([id, want]) => judgeStatic(reqs, id, want))).toEqual([]);
    }, 60_000);
  });

  describe(`churn under continuous traffic [${mode}]`, () => {
    test('every change reaches the kernel; no request fails to a Service that kept ready endpoints', async () => {
      const wr = w!.writer;
      const inside = w!.traffic([{ id: 'cip', proto: 'tcp', dst: WEB.clusterIP, dport: 80 }]);
      const outside = w!.traffic([{ id: 'np', proto: 'tcp', dst: E2E.nodeIP, dport: WEB.nodePort }], 'ext');
      const pause = (): Promise<void> => sleep(1200); // > upstream's default minSyncPeriod (1 s): each change is its own sync
      const settledOn = (t: Traffic, id: string, what: string, pred: (r: Req) => boolean) => (since: number) => t.settled(id, since, pred, what);
      await sleep(1000);
      const applyCallsBefore = w!.applyCalls().length;

      const down = await step(fig, 'scale 3→1', () => wr.setEndpoints('web', eps(2)), settledOn(inside, 'cip', 'only 10.244.1.2 answers', okFrom(2)));
      await outside.settled('np', down.since, okFrom(2), 'NodePort: only 10.244.1.2 answers');
      await pause();
      const up = await step(fig, 'scale 1→5', () => wr.setEndpoints('web', eps(2, 3, 4, 5, 6)), (since) => inside.first('cip', since, okFrom(3, 4, 5, 6), 'a new endpoint answers'));
      for (const h of [3, 4, 5, 6]) await inside.first('cip', up.since, okFrom(h), `new endpoint ${ep(h)} answers`);
      await pause();
      await step(fig, 'roll: new endpoints ready', () => wr.setEndpoints('web', eps(2, 3, 4, 5, 6, 7, 8, 9)), (since) => inside.first('cip', since, okFrom(7, 8, 9), 'a rolled-in endpoint answers'));
      await pause();
      await step(fig, 'roll: old endpoints removed', () => wr.setEndpoints('web', eps(7, 8, 9)), settledOn(inside, 'cip', 'only the new endpoints answer', okFrom(7, 8, 9)));
      await pause();

      await step(fig, 'externalTrafficPolicy Cluster→Local', () => wr.updateService({ ...WEB, externalTrafficPolicy: 'Local' }),
        settledOn(outside, 'np', 'endpoints see the external client', (r) => r.kind === 'ok' && r.peer === E2E.externalHost));
      await pause();
      await step(fig, 'externalTrafficPolicy Local→Cluster', () => wr.updateService({ ...WEB, externalTrafficPolicy: 'Cluster' }),
        settledOn(outside, 'np', 'endpoints see the node (masquerade)', (r) => r.kind === 'ok' && r.peer === E2E.nodeIP));
      await pause();

      // Its own generator, started just before the IP is added (no pile of requests to an
      // IP nobody serves yet, each waiting for its timeout).
      const toLB = w!.traffic([{ id: 'lb', proto: 'tcp', dst: WEB_LB, dport: 80 }], 'ext');
      await toLB.started;
      const lbAdded = await step(fig, 'LoadBalancer IP added', () => wr.setLoadBalancerIPs('web', [WEB_LB]),
        settledOn(toLB, 'lb', 'the LoadBalancer IP answers', okFrom(7, 8, 9)));
      await pause();
      const lbRemoved = await step(fig, 'LoadBalancer IP removed', () => wr.setLoadBalancerIPs('web', []),
        settledOn(toLB, 'lb', 'the LoadBalancer IP no longer answers', failed));
      const lb = await toLB.stop();
      await pause();

      let sticky = '';
      // Sticky: 15 answers in a row from one endpoint (by chance, with 3 endpoints: 3^-14).
      const affinityOn = await step(fig, 'ClientIP affinity on', () => wr.updateService({ ...WEB, affinity: true }), (since) =>
        inside.until('cip', 'every answer from one endpoint', 10_000, () => {
          const last = inside.reqs('cip').at(-1);
          if (last?.kind !== 'ok') return undefined;
          sticky = last.endpoint!;
          return settledAfter(inside.reqs('cip'), since, (r) => r.kind === 'ok' && r.endpoint === sticky, 15, inside.horizon('cip'));
        }));
      await pause();
      // Affinity must hold until it is switched off (a sync that drops the affinity state breaks it).
      const stuck = tally(inside.reqs('cip'), { from: affinityOn.seen.t0, to: Date.now() });
      const affinityOff = await step(fig, 'ClientIP affinity off', () => wr.updateService({ ...WEB, affinity: false }),
        (since) => inside.first('cip', since, (r) => r.kind === 'ok' && r.endpoint !== sticky, 'another endpoint answers again'));
      await pause();

      const deleted = await step(fig, 'Service deleted', () => wr.deleteService('web'), settledOn(inside, 'cip', 'the ClusterIP no longer answers', failed));
      await pause();
      const recreated = await step(fig, 'Service re-created', () => wr.createService(WEB), settledOn(inside, 'cip', 'the ClusterIP answers again', okFrom(7, 8, 9)));
      await outside.settled('np', recreated.since, okFrom(7, 8, 9), 'the NodePort answers again');
      await pause();

      const cip = await inside.stop();
      const ext = await outside.stop();
      const end = Date.now() + 1;
      // Allowed to fail: the deleted Service (until the re-created one is in the kernel), and
      // the LoadBalancer IP outside the time it was configured and programmed.
      const webUp: Window[] = [{ from: 0, to: deleted.since }, { from: recreated.seen.t0 + 1000, to: end }];
      const lbUp: Window[] = [{ from: lbAdded.seen.t0, to: lbRemoved.since }];
      const np = ext.filter((r) => r.id === 'np');
      fig.add(`churn, ClusterIP from a pod: ${summary(inside, 'cip')}; failed while it had ready endpoints: ${failures(cip, webUp).length}`);
      fig.add(`churn, NodePort from outside: ${summary(outside, 'np')}; failed while it had ready endpoints: ${failures(np, webUp).length}`);
      const lbFailed = failures(lb, lbUp).map((r) => `+${Math.round(r.t0 - lbAdded.since)} ms ${r.kind}`);
      fig.add(`churn, LoadBalancer IP from outside: ${summary(toLB, 'lb')}; failed while configured: ${lbFailed.length}` +
        `${lbFailed.length > 0 ? ` (after the add was written: ${lbFailed.join(', ')}; removal written at +${Math.round(lbRemoved.since - lbAdded.since)} ms)` : ''}`);
      fig.add(`churn, ClientIP affinity: ${stuck.total} requests while it was on (${Math.round((affinityOff.since - affinityOn.seen.t0) / 1000)} s), answered by ${JSON.stringify(stuck.endpoints)}`);
      fig.add(`churn: ${w!.applyCalls().length - applyCallsBefore} ${w!.mode === 'nftables' ? 'nft' : 'iptables-restore'} invocations for ${fig.latencies.length} changes (periodic syncs and monitors included)`);
      const { p50, max } = fig.latencySummary();
      fig.add(`churn programming latency: p50 ${Math.round(p50)} ms, max ${Math.round(max)} ms (kpx target: max ≤ 500 ms)`);

      expect(counted(cip, failures(cip, webUp))).toEqual([]);
      expect(counted(np, failures(np, webUp))).toEqual([]);
      expect(counted(lb, failures(lb, lbUp))).toEqual([]);
      expect(Object.keys(stuck.endpoints)).toEqual([sticky]);
      if (w!.kind === 'kpx') expect(max).toBeLessThanOrEqual(500);
    }, 240_000);

    test('negative control: with the proxy frozen, the judges see the change not applied; after, they see it', async () => {
      const t = w!.traffic([{ id: 'cip', proto: 'tcp', dst: WEB.clusterIP, dport: 80 }]);
      await t.settled('cip', Date.now(), okFrom(7, 8, 9), 'web answers from 7, 8, 9');
      w!.proxy!.freeze();
      const since = Date.now();
      try {
        await w!.writer.setEndpoints('web', eps(2));
        await expect(t.settled('cip', since, okFrom(2), 'only 10.244.1.2 answers', 4000)).rejects.toThrow(/not seen within/);
        expect(tally(t.reqs('cip'), { from: since + 1000, to: Date.now() }).endpoints[ep(2)] ?? 0).toBe(0);
      } finally {
        w!.proxy!.thaw();
      }
      const seen = await t.settled('cip', since, okFrom(2), 'only 10.244.1.2 answers after the proxy resumes', 30_000);
      fig.add(`negative control: change written while the proxy was frozen (4 s) seen ${Math.round(seen.t0 - since)} ms after the write`);
      await t.stop();
    }, 60_000);

    test('negative control: the failure judge of the chaos tests counts an outage (rules flushed under a frozen proxy)', async () => {
      const t = w!.traffic([{ id: 'cip', proto: 'tcp', dst: WEB.clusterIP, dport: 80 }]);
      await t.settled('cip', Date.now(), okFrom(2), 'web answers');
      w!.proxy!.freeze();
      try {
        await w!.flushRules();
        await sleep(1500);
      } finally {
        w!.proxy!.thaw();
      }
      const reqs = await t.stop();
      const out = longestOutage(reqs);
      fig.add(`negative control: rules flushed for 1.5 s under a frozen proxy: ${failures(reqs).length} failed requests counted (longest run ${out.count})`);
      expect(failures(reqs).length).toBeGreaterThan(20);
      // Leave a serving proxy behind: a restart is a full sync, whatever the proxy's drift handling.
      await w!.proxy!.signal('SIGTERM');
      w!.startProxy();
      await waitServing(w!, WEB.clusterIP);
    }, 120_000);
  });
}
