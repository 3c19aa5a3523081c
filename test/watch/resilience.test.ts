/**
 * The watch layer through failures of a real kube-apiserver: restart, SIGSTOP past the
 * watchdog, a partition during which etcd is compacted (410 Gone → relist).
 */
import type { SupervisionOptions, WatchLayer } from '../../src/watch/index.js';
import { DEFAULT_BACKOFF } from '../../src/watch/backoff.js';
import type { TestCluster } from '../apiserver/cluster.js';
import type { Relay } from '../apiserver/proxy.js';
import { startWatchedCluster, type WatchedCluster } from './fixture.js';
import { endpoints, eventually, NODE, port, service, slice, type Clients, type Observer } from './k8s.js';

const supervision: Partial<SupervisionOptions> = {
  backoff: { ...DEFAULT_BACKOFF, initialMs: 100, maxMs: 1_000 },
  watchdogMs: 4_000,
  listTimeoutMs: 5_000,
  // Healthy watches end after 1-2 s and reconnect: quiet is never mistaken for stalled.
  watchTimeoutSeconds: 1,
};

const sum = (layer: WatchLayer, f: (s: ReturnType<WatchLayer['status']>[number]) => number): number =>
  layer.status().reduce((n, s) => n + f(s), 0);

describe('with the watch cache (as in every real cluster)', () => {
  const NS = 'resilience';
  let cluster: TestCluster;
  let c: Clients;
  let layer: WatchLayer;
  let obs: Observer;
  let relay: Relay;   // only to count the layer's connections
  let w: WatchedCluster;

  beforeAll(async () => {
    w = await startWatchedCluster({ namespace: NS, nodeIP: '192.168.60.10', supervision, relay: true });
    ({ cluster, c, layer, obs } = w);
    relay = w.relay!;
  }, 30 * 60_000);

  afterAll(async () => {
    await w?.stop();
  }, 60_000);

  test('API server stopped and started again: the layer reconnects and converges', async () => {
    await c.core.createNamespacedService({ namespace: NS, body: service(NS, 'before', '10.96.10.1', [{ name: 'p', port: 80 }]) });
    await obs.until('before', (m) => port(m, `${NS}/before:p`));
    // Noticed either as failures (retried with backoff) or as a 410 from the new server's
    // empty watch cache (relist), usually both.
    const noticed = (): number => sum(layer, (s) => s.restarts.error + s.restarts['short-watch'] + s.lists);
    const noticedBefore = noticed();

    await cluster.restartApiServer();

    await c.core.createNamespacedService({ namespace: NS, body: service(NS, 'after', '10.96.10.2', [{ name: 'p', port: 80 }]) });
    await c.discovery.createNamespacedEndpointSlice({ namespace: NS, body: slice(NS, 'after-1', 'after', [{ ip: '10.9.0.1' }], [{ name: 'p', port: 80 }]) });
    await c.core.deleteNamespacedService({ name: 'before', namespace: NS });
    const m = await obs.until('converged', (x) => endpoints(x, `${NS}/after:p`)?.length === 1 && port(x, `${NS}/before:p`) === undefined && x, 30_000);
    expect(endpoints(m, `${NS}/after:p`)).toEqual(['10.9.0.1:80']);
    expect(noticed()).toBeGreaterThan(noticedBefore);
    await obs.until('all watching', () => layer.status().every((s) => s.phase === 'watching'));
  }, 120_000);

  test('API server frozen (SIGSTOP) past the watchdog: restarted, and it recovers after SIGCONT', async () => {
    const watchdogBefore = sum(layer, (s) => s.restarts.watchdog);
    const watchesBefore = sum(layer, (s) => s.watches);
    cluster.freeze();
    try {
      // The open watches go silent without an error: only the watchdog can tell.
      await new Promise((r) => setTimeout(r, 9_000));
    } finally {
      cluster.thaw();
    }
    const restarts = sum(layer, (s) => s.restarts.watchdog) - watchdogBefore;
    expect(restarts).toBeGreaterThanOrEqual(3);   // each informer at least once
    // No reconnect loop while frozen: one attempt per informer per restart (backoff-spaced).
    expect(sum(layer, (s) => s.watches) - watchesBefore).toBeLessThanOrEqual(restarts + 3);

    await c.core.createNamespacedService({ namespace: NS, body: service(NS, 'thawed', '10.96.11.1', [{ name: 'p', port: 80 }]) });
    await obs.until('thawed', (m) => port(m, `${NS}/thawed:p`), 30_000);
    await obs.until('all watching', () => layer.status().every((s) => s.phase === 'watching'));
    // The connects left pending on the frozen server completed after SIGCONT and were
    // dropped: one watch connection per informer remains.
    await obs.until('3 connections', () => relay.connections() === 3);
    let most = 0;
    for (let i = 0; i < 30; i++) {
      most = Math.max(most, relay.connections());
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(most).toBeLessThanOrEqual(4);   // 3, or 4 for an instant while one reconnects
    await c.core.deleteNamespacedService({ name: 'thawed', namespace: NS });
    await obs.until('thawed gone', (m) => port(m, `${NS}/thawed:p`) === undefined);
  }, 120_000);
});

describe('without the watch cache: etcd compaction during a partition gives 410 Gone', () => {
  const NS = 'compaction';
  let cluster: TestCluster;
  let c: Clients;
  let relay: Relay;
  let layer: WatchLayer;
  let obs: Observer;
  let w: WatchedCluster;

  beforeAll(async () => {
    // --watch-cache=false: watches are served by etcd itself, so a compacted
    // resourceVersion is answered with 410 Gone (with the cache, the API server's
    // in-memory window could still serve it).
    w = await startWatchedCluster({
      namespace: NS, nodeIP: '192.168.70.10', watchCache: false, relay: true,
      supervision: { ...supervision, watchTimeoutSeconds: 30, watchdogMs: 90_000 },
    });
    ({ cluster, c, layer, obs } = w);
    relay = w.relay!;
  }, 30 * 60_000);

  afterAll(async () => {
    await w?.stop();
  }, 60_000);

  test('after the relist, deleted objects are gone and changed ones are current', async () => {
    await c.core.createNamespacedService({ namespace: NS, body: service(NS, 'gone', '10.96.20.1', [{ name: 'p', port: 80 }]) });
    await c.core.createNamespacedService({ namespace: NS, body: service(NS, 'kept', '10.96.20.2', [{ name: 'p', port: 80 }]) });
    await c.discovery.createNamespacedEndpointSlice({ namespace: NS, body: slice(NS, 'kept-1', 'kept', [{ ip: '10.8.0.1' }], [{ name: 'p', port: 80 }]) });
    await c.discovery.createNamespacedEndpointSlice({ namespace: NS, body: slice(NS, 'gone-1', 'gone', [{ ip: '10.8.1.1' }], [{ name: 'p', port: 80 }]) });
    await obs.until('both', (m) => endpoints(m, `${NS}/kept:p`)?.length === 1 && endpoints(m, `${NS}/gone:p`)?.length === 1);
    const listsBefore = layer.status().map((s) => s.lists);
    obs.take();

    relay.cut();   // the layer can no longer reach the API server; the test still can
    await c.core.deleteNamespacedService({ name: 'gone', namespace: NS });
    await c.discovery.deleteNamespacedEndpointSlice({ name: 'gone-1', namespace: NS });
    await c.discovery.replaceNamespacedEndpointSlice({ name: 'kept-1', namespace: NS, body: slice(NS, 'kept-1', 'kept', [{ ip: '10.8.0.1' }, { ip: '10.8.0.2' }], [{ name: 'p', port: 80 }]) });
    await c.core.createNamespacedService({ namespace: NS, body: service(NS, 'new', '10.96.20.3', [{ name: 'p', port: 80 }]) });
    // Also touch the Node, so its informer's resourceVersion is compacted away too.
    const n = await c.core.readNode({ name: NODE });
    n.metadata!.labels = { touched: 'yes' };
    await c.core.replaceNode({ name: NODE, body: n });
    const revision = await cluster.compact();
    expect(revision).toBeGreaterThan(0);
    relay.restore();

    const m = await obs.until('converged after relist', (x) =>
      port(x, `${NS}/gone:p`) === undefined && endpoints(x, `${NS}/kept:p`)?.length === 2 && port(x, `${NS}/new:p`) && x, 30_000);
    expect(endpoints(m, `${NS}/kept:p`)).toEqual(['10.8.0.1:80', '10.8.0.2:80']);
    expect(obs.take()).toEqual([`${NS}/gone`, `${NS}/kept`, `${NS}/new`]);
    // The Node informer relists on its own schedule: wait for it too (under load it can
    // come after the Service and EndpointSlice informers, up to a watch timeout — 30 s
    // here — later).
    await eventually('node relisted', () => layer.snapshot().node?.metadata?.labels?.['touched'] === 'yes', 60_000);
    // Each informer relisted (410 Gone), rather than being rebuilt or resuming.
    const listsAfter = layer.status().map((s) => s.lists);
    listsAfter.forEach((n, i) => expect(n).toBeGreaterThan(listsBefore[i]!));
    expect(layer.snapshot().endpointSlices.map((s) => s.metadata?.name)).not.toContain('gone-1');
  }, 150_000);
});
