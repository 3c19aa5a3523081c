/**
 * Static semantics beyond services.test.ts, each checked with real traffic in one world
 * (one API server, one proxy start, every stream at once): multi-port, hairpin, a
 * NodePort and a UDP port without endpoints, a Service another proxy owns, one labelled
 * headless (proxied, as upstream does), internalTrafficPolicy Local, ClientIP affinity, terminating endpoints,
 * loadBalancerSourceRanges, Local policy without a local endpoint.
 * Every expectation was first checked against upstream kube-proxy v1.36.3
 * (KPX_E2E_PROXY=upstream), which passes them all. Topology: ./README.md.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { describe as describeReqs, tally, type Req } from './judge.js';
import { ep, Figures, waitServing } from './steps.js';
import { E2E, OTHER_NODE_NAME, podIP } from './topology.js';
import type { Stream } from './traffic.js';
import type { ProxyMode } from './proxy.js';
import { World } from './world.js';

/** The suite on one backend; a `parity*.test.ts` file per backend runs it (one world each). */
export function paritySuite(mode: ProxyMode): void {
  let w: World | undefined;
  const fig = new Figures('parity: static semantics', () => w);
  const local = (...hosts: number[]) => hosts.map((h) => ({ ip: podIP(h) }));
  const remote = (h: number) => ({ ip: podIP(h), node: OTHER_NODE_NAME });

  beforeAll(async () => {
    w = await World.create(mode);
    const wr = w.writer;
    await wr.createService({ name: 'multi', clusterIP: '10.96.101.1', alt: true });
    await wr.setEndpoints('multi', local(2, 3), false, true);
    await wr.createService({ name: 'hairpin', clusterIP: '10.96.101.2' });
    await wr.setEndpoints('hairpin', local(5));
    await wr.createService({ name: 'np-empty', clusterIP: '10.96.101.3', type: 'NodePort', nodePort: 30091 });
    await wr.setEndpoints('np-empty', []);
    await wr.createService({ name: 'other-proxy', clusterIP: '10.96.101.4', labels: { 'service.kubernetes.io/service-proxy-name': 'someone-else' } });
    await wr.setEndpoints('other-proxy', local(2));
    await wr.createService({ name: 'headless-label', clusterIP: '10.96.101.5', labels: { 'service.kubernetes.io/headless': '' } });
    await wr.setEndpoints('headless-label', local(2));
    await wr.createService({ name: 'itp-local', clusterIP: '10.96.101.6', internalTrafficPolicy: 'Local' });
    await wr.setEndpoints('itp-local', [...local(6), remote(7)]);
    await wr.createService({ name: 'itp-none', clusterIP: '10.96.101.7', internalTrafficPolicy: 'Local' });
    await wr.setEndpoints('itp-none', [remote(7)]);
    await wr.createService({ name: 'sticky', clusterIP: '10.96.101.8', affinity: true });
    await wr.setEndpoints('sticky', local(2, 3, 4));
    await wr.createService({ name: 'terminating', clusterIP: '10.96.101.9' });
    await wr.setEndpoints('terminating', [
      { ip: podIP(8), ready: false, serving: true, terminating: true },
      { ip: podIP(9), ready: false, serving: false, terminating: true },
    ]);
    await wr.createService({ name: 'mixed', clusterIP: '10.96.101.10' });
    await wr.setEndpoints('mixed', [{ ip: podIP(2) }, { ip: podIP(3), ready: false, serving: true, terminating: true }]);
    await wr.createService({ name: 'lbsr-ok', clusterIP: '10.96.101.11', type: 'LoadBalancer', nodePort: 30092, loadBalancerSourceRanges: [`${E2E.externalHost}/32`] });
    await wr.setLoadBalancerIPs('lbsr-ok', ['10.250.0.61']);
    await wr.setEndpoints('lbsr-ok', local(4));
    await wr.createService({ name: 'lbsr-no', clusterIP: '10.96.101.12', type: 'LoadBalancer', nodePort: 30093, loadBalancerSourceRanges: ['10.1.0.0/16'] });
    await wr.setLoadBalancerIPs('lbsr-no', ['10.250.0.62']);
    await wr.setEndpoints('lbsr-no', local(4));
    await wr.createService({ name: 'local-none', clusterIP: '10.96.101.13', type: 'NodePort', nodePort: 30094, externalTrafficPolicy: 'Local' });
    await wr.setEndpoints('local-none', [remote(7)]);
    await wr.createService({ name: 'udp-empty', clusterIP: '10.96.101.14', udp: true });
    await wr.setEndpoints('udp-empty', [], true);
    w.startProxy();
    fig.add(`proxy start → first answer from a Service: ${await waitServing(w, '10.96.101.1')} ms`);
  }, 300_000);

  afterAll(async () => {
    fig.print();
    await w?.dispose();
  }, 60_000);

  interface Want {
    /** Exactly these endpoints answer, every request. */
    readonly endpoints?: readonly number[];
    /** Every answer comes from one endpoint of these. */
    readonly sticky?: readonly number[];
    /** The client address the endpoint must see. */
    readonly peer?: string;
    /** Every request fails this way instead. */
    readonly fails?: 'refused' | 'timeout';
  }

  function judge(all: readonly Req[], id: string, want: Want): string[] {
    const reqs = all.filter((r) => r.id === id);
    const tl = tally(reqs);
    const problems: string[] = [];
    if (reqs.length < 30) problems.push(`${id}: only ${reqs.length} requests`);
    if (want.fails !== undefined) {
      if (tl[want.fails] !== tl.total) problems.push(`${id}: want every request ${want.fails}, got ${JSON.stringify(tl)}`);
      return problems;
    }
    if (tl.ok !== tl.total) problems.push(`${id}: ${tl.total - tl.ok} of ${tl.total} requests failed`);
    const seen = Object.keys(tl.endpoints).sort();
    if (want.endpoints !== undefined) {
      const expected = want.endpoints.map(ep).sort();
      if (JSON.stringify(seen) !== JSON.stringify(expected)) problems.push(`${id}: answered by ${seen.join(' ')}, want ${expected.join(' ')}`);
    }
    if (want.sticky !== undefined && (seen.length !== 1 || !want.sticky.map(ep).includes(seen[0]!))) {
      problems.push(`${id}: answered by ${seen.join(' ')}, want one of ${want.sticky.map(ep).join(' ')} for every request`);
    }
    const peers = [...new Set(reqs.filter((r) => r.kind === 'ok').map((r) => r.peer))];
    if (want.peer !== undefined && (peers.length !== 1 || peers[0] !== want.peer)) problems.push(`${id}: endpoints saw ${peers.join(' ')}, want ${want.peer}`);
    return problems;
  }

  const tcp = (id: string, dst: string, dport = 80): Stream => ({ id, proto: 'tcp', dst, dport });

  describe(`static semantics (parity with upstream kube-proxy) [${mode}]`, () => {
    test('multi-port, hairpin, no endpoints, ignored Services, internalTrafficPolicy, affinity, terminating, source ranges', async () => {
      const inside = w!.traffic([
        tcp('multi-80', '10.96.101.1', 80),
        tcp('multi-81', '10.96.101.1', 81),
        tcp('other-proxy', '10.96.101.4'),
        tcp('headless-label', '10.96.101.5'),
        tcp('itp-local', '10.96.101.6'),
        tcp('itp-none', '10.96.101.7'),
        tcp('sticky', '10.96.101.8'),
        tcp('terminating', '10.96.101.9'),
        tcp('mixed', '10.96.101.10'),
        { id: 'udp-empty', proto: 'udp', dst: '10.96.101.14', dport: 80 },
      ]);
      const hairpin = w!.traffic([tcp('hairpin', '10.96.101.2')], 5);
      const outside = w!.traffic([
        tcp('np-empty', E2E.nodeIP, 30091),
        tcp('lbsr-ok', '10.250.0.61'),
        tcp('lbsr-no', '10.250.0.62'),
        tcp('local-none', E2E.nodeIP, 30094),
      ], 'ext');
      await inside.collect(['multi-80', 'multi-81', 'other-proxy', 'headless-label', 'itp-local', 'itp-none', 'sticky', 'terminating', 'mixed', 'udp-empty'], 30);
      await hairpin.collect(['hairpin'], 30);
      await outside.collect(['np-empty', 'lbsr-ok', 'lbsr-no', 'local-none'], 30);
      const reqs = [...await inside.stop(), ...await hairpin.stop(), ...await outside.stop()];
      const cases: [string, Want][] = [
        ['multi-80', { endpoints: [2, 3], peer: E2E.clientPod }],
        ['multi-81', { endpoints: [2, 3], peer: E2E.clientPod }],
        // A pod reaching itself through its Service: masqueraded (else it would answer itself directly).
        ['hairpin', { endpoints: [5], peer: E2E.nodeIP }],
        ['np-empty', { fails: 'refused' }],
        ['udp-empty', { fails: 'refused' }],
        // Not this proxy's: no rules at all (the node routes it on to a host that drops it).
        ['other-proxy', { fails: 'timeout' }],
        // The headless label filters EndpointSlices only, never Services (kube-proxy v1.36
        // cmd/kube-proxy/app/server.go: the Service informer selects !service-proxy-name and
        // spec.clusterIP!=None): a Service with a cluster IP and that label is proxied.
        ['headless-label', { endpoints: [2], peer: E2E.clientPod }],
        ['itp-local', { endpoints: [6], peer: E2E.clientPod }],
        // internalTrafficPolicy Local with only remote endpoints: dropped, not rejected.
        ['itp-none', { fails: 'timeout' }],
        ['sticky', { sticky: [2, 3, 4], peer: E2E.clientPod }],
        // No ready endpoint: serving+terminating ones are used; not-serving ones never.
        ['terminating', { endpoints: [8] }],
        ['mixed', { endpoints: [2] }],
        ['lbsr-ok', { endpoints: [4], peer: E2E.nodeIP }],
        ['lbsr-no', { fails: 'timeout' }],
        // externalTrafficPolicy Local, no endpoint on this node: dropped.
        ['local-none', { fails: 'timeout' }],
      ];
      for (const [id] of cases) fig.add(`${id}: ${describeReqs(reqs.filter((r) => r.id === id))}`);
      expect(cases.flatMap(([id, want]) => judge(reqs, id, want))).toEqual([]);
    }, 90_000);
  });
}
