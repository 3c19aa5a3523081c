/**
 * UDP conntrack cleanup end to end (issue 11 item 7): a long-lived UDP flow (one
 * socket, one source port, a datagram every 50 ms: one conntrack entry) from the client
 * pod to a ClusterIP moves to the new endpoint when its endpoint is removed, is refused
 * while the Service has no endpoint (kubernetes#139628), and reaches the new endpoint
 * after a scale 1→0→1. The removed endpoints' servers keep running, so a flow stuck on
 * the old DNAT shows as answers from them (test/sync/conntrack-netns.test.ts is the
 * negative control: the same judge fails without the cleanup).
 * Figures: time from the EndpointSlice write to the first answer from the new endpoint,
 * and kubeproxy_conntrack_reconciler_deleted_entries_total from /metrics.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { run } from '../kernel/harness.js';
import { answer, sleep, UdpFlowProcess } from '../sync/udp-flow.js';
import { ep, Figures, waitServing } from './steps.js';
import { E2E, podIP } from './topology.js';
import { World } from './world.js';
import type { ProxyMode } from './proxy.js';

/** The checks above against the proxy in `mode`. */
export function conntrackSuite(mode: ProxyMode): void {
  let w: World | undefined;
  let flow: UdpFlowProcess | undefined;
  /** What the flow did while the Service had no endpoint (filled by the first test). */
  let atZero: { refusedAfterMs: number | undefined; stuckAnswers: number } | undefined;
  const fig = new Figures('UDP conntrack cleanup', () => w);
  const CLUSTER_IP = '10.96.102.1';
  const local = (...hosts: number[]) => hosts.map((h) => ({ ip: podIP(h) }));

  beforeAll(async () => {
    w = await World.create(mode);
    await w.writer.createService({ name: 'udp-flow', clusterIP: CLUSTER_IP, udp: true });
    await w.writer.setEndpoints('udp-flow', local(2), true);
    w.startProxy();
    fig.add(`proxy start → first answer from the Service: ${await waitServing(w, CLUSTER_IP)} ms`);
  }, 300_000);

  afterAll(async () => {
    await flow?.stop();
    fig.print();
    await w?.dispose();
  }, 60_000);

  /** kubeproxy_conntrack_reconciler_deleted_entries_total summed over families (0 when absent). */
  async function deletedEntries(world: World): Promise<number> {
    const r = await run('ip', ['netns', 'exec', world.names.node, 'curl', '-s', '--max-time', '2', `http://${E2E.metricsAddress}/metrics`]);
    return r.stdout.split('\n').filter((l) => l.startsWith('kubeproxy_conntrack_reconciler_deleted_entries_total'))
      .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  }

  test('a long-lived UDP flow follows endpoint removal and a scale 1 → 0 → 1', async () => {
    const world = w!;
    flow = new UdpFlowProcess(world.names.client, { dst: CLUSTER_IP, dport: 80, sport: 41080, src: E2E.clientPod });
    await flow.waitFor(answer(ep(2)), 0, 10_000, 'the flow answered by pod 2');
    await sleep(500);

    // Endpoint removed (pod 2 → pod 3): the flow's entry was DNATed to pod 2.
    const before = await deletedEntries(world);
    const tRemove = Date.now();
    await world.writer.setEndpoints('udp-flow', local(3), true);
    const moved = await flow.waitFor(answer(ep(3)), tRemove, 5_000, 'the flow answered by pod 3 after pod 2 was removed');
    await sleep(1_000);
    expect(flow.answers(moved.t + 200).filter((e) => e !== ep(3))).toEqual([]);
    const afterRemove = await deletedEntries(world);
    fig.add(`endpoint removed: first answer from the new endpoint ${moved.t - tRemove} ms after the EndpointSlice write; deleted entries +${afterRemove - before}`);

    // Scale to zero: judged by the next test (upstream v1.36.3 keeps the flow on pod 3 here).
    const tZero = Date.now();
    await world.writer.setEndpoints('udp-flow', [], true);
    const refused = await flow.waitFor((e) => e.kind === 'error' && e.code === 'ECONNREFUSED', tZero, 3_000, 'refused').catch(() => undefined);
    await sleep(1_000);
    atZero = { refusedAfterMs: refused === undefined ? undefined : refused.t - tZero, stuckAnswers: flow.answers((refused?.t ?? tZero + 3_000) + 200).length };
    const afterZero = await deletedEntries(world);
    fig.add(`scaled to 0: ${refused === undefined ? `NOT refused within 3 s, ${atZero.stuckAnswers} answers from the removed endpoint` : `refused ${atZero.refusedAfterMs} ms after the write`}; deleted entries +${afterZero - afterRemove}`);

    // Back to one endpoint (pod 4).
    const tOne = Date.now();
    await world.writer.setEndpoints('udp-flow', local(4), true);
    const back = await flow.waitFor(answer(ep(4)), tOne, 5_000, 'the flow answered by pod 4 after scale 0 → 1');
    await sleep(1_000);
    expect(flow.answers(back.t + 200).filter((e) => e !== ep(4))).toEqual([]);
    const afterOne = await deletedEntries(world);
    fig.add(`scaled 0 → 1: first answer from the new endpoint ${back.t - tOne} ms after the write; deleted entries +${afterOne - afterZero}`);
    expect(afterOne).toBeGreaterThanOrEqual(1);
  }, 120_000);

  test('at zero endpoints the flow is refused, not stuck on the removed endpoint (kubernetes#139628; upstream v1.36.3 fails this)', () => {
    expect(atZero).toBeDefined();
    expect(atZero?.refusedAfterMs).toBeDefined();
    expect(atZero?.stuckAnswers).toBe(0);
  });
}
