/**
 * The controller against a real kube-apiserver + etcd, with a recording Proxier in place
 * of the kernel (the controller's contract is the Proxier interface; the kernel is
 * tested by the proxier's own suites and by run-netns.test.ts).
 */
import { Registry } from 'prom-client';
import { ProxyHealth } from '../../src/observe/health.js';
import { silentLogger } from '../../src/observe/logger.js';
import { createMetrics, type Metrics } from '../../src/observe/metrics.js';
import { Controller } from '../../src/sync/controller.js';
import { ProgrammingLatency, TRIGGER_TIME_ANNOTATION } from '../../src/sync/latency.js';
import type { ModelReader, Proxier, SyncRequest, SyncResult } from '../../src/sync/types.js';
import { buildProxyState } from '../../src/model/index.js';
import { DEFAULT_BACKOFF } from '../../src/watch/backoff.js';
import { realClock, WatchLayer } from '../../src/watch/index.js';

const EMPTY_STATE = buildProxyState({ services: [], endpointSlices: [] }, { nodeName: 'n' }).state;
const EMPTY_MODEL: ModelReader = { keys: () => [], ports: () => [], family: (f) => EMPTY_STATE[f] };
import { startCluster, type TestCluster } from '../apiserver/cluster.js';
import { clients, createNamespace, eventually, node, NODE, service, slice, type Clients } from '../watch/k8s.js';

const NS = 'ctl';

interface Call {
  readonly changes: 'all' | string[];
  readonly node: boolean;
  readonly full: boolean;
  readonly slicesOfWeb: number;
  readonly hasNode: boolean;
}

/** Records every sync; can be made slow or failing. Never touches a kernel. */
class RecordingProxier implements Proxier {
  readonly backend = 'nftables' as const;
  calls: Call[] = [];
  failNext = 0;
  delayMs = 0;
  invalidations = 0;
  applied: string | undefined;

  inFlight = false;

  async sync(r: SyncRequest): Promise<SyncResult> {
    this.inFlight = true;
    try {
      return await this.record(r);
    } finally {
      this.inFlight = false;
    }
  }

  private async record(r: SyncRequest): Promise<SyncResult> {
    this.calls.push({
      changes: r.changes === 'all' ? 'all' : [...r.changes.services].sort(),
      node: r.changes !== 'all' && r.changes.node,
      full: r.full === true,
      slicesOfWeb: r.view.service(`${NS}/web`).slices.length,
      hasNode: r.view.node() !== undefined,
    });
    if (this.delayMs > 0) await new Promise((res) => setTimeout(res, this.delayMs));
    if (this.failNext > 0) {
      this.failNext--;
      this.applied = undefined;
      throw new Error('injected apply failure');
    }
    this.applied = r.view.snapshot().services.map((x) => `${x.metadata?.namespace}/${x.metadata?.name}`).sort().join(',');
    return { kind: 'partial', kernelOps: 1, problems: [], timings: { model: 0, render: 0, diff: 0, apply: 0 }, model: EMPTY_MODEL, affected: 'all' };
  }

  invalidate(): void {
    this.invalidations++;
  }
}

let cluster: TestCluster;
let c: Clients;
let layer: WatchLayer;
let proxier: RecordingProxier;
let controller: Controller;
let metrics: Metrics;
let health: ProxyHealth;
const started = Date.now();

beforeAll(async () => {
  cluster = await startCluster();
  c = clients(cluster.kubeConfig());
  await createNamespace(c, NS);
  layer = new WatchLayer(cluster.kubeConfig(), {
    nodeName: NODE, requireNode: true,
    supervision: { backoff: { ...DEFAULT_BACKOFF, initialMs: 100, maxMs: 1_000 }, watchdogMs: 20_000, watchTimeoutSeconds: 5 },
  });
  proxier = new RecordingProxier();
  metrics = createMetrics(new Registry());
  health = new ProxyHealth(1_500);
  controller = new Controller({
    source: layer, proxier, clock: realClock, logger: silentLogger, metrics, health,
    latency: new ProgrammingLatency(metrics.networkProgrammingDuration, started - 1_000),
  }, {
    proxyOptions: { nodeName: NODE },
    syncPeriodMs: 30_000,
    minSyncPeriodMs: 100,
    retryInitialMs: 200,
  });
  controller.start();
}, 30 * 60_000);

afterAll(async () => {
  await controller?.stop();
  await cluster?.stop();
}, 60_000);

test('nothing is synced before this Node exists, even with every informer listed', async () => {
  await eventually('every informer listed', () => layer.listed);
  await c.core.createNamespacedService({ namespace: NS, body: service(NS, 'early', '10.96.5.1', [{ name: 'http', port: 80 }]) });
  await new Promise((r) => setTimeout(r, 1_500));
  expect(layer.nodeSeen).toBe(false);
  expect(proxier.calls).toEqual([]);

  await c.core.createNode({ body: node(NODE, '192.168.60.10') });
  await eventually('the first sync', () => proxier.calls.length > 0);
  expect(proxier.calls[0]).toMatchObject({ changes: 'all', full: true, hasNode: true });
  expect(proxier.applied).toBe(`${NS}/early,default/kubernetes`);
});

test('changes since the last sync reach the proxier as one merged set, with the slice index current', async () => {
  await eventually('idle', () => proxier.calls.length >= 1);
  proxier.delayMs = 600;
  const n = proxier.calls.length;
  await c.core.createNamespacedService({ namespace: NS, body: service(NS, 'web', '10.96.5.2', [{ name: 'http', port: 80 }]) });
  // While that sync is slow, three more changes arrive: one run takes them all.
  await eventually('the slow sync started', () => proxier.calls.length > n);
  await c.discovery.createNamespacedEndpointSlice({ namespace: NS, body: slice(NS, 'web-1', 'web', [{ ip: '10.1.5.1' }], [{ name: 'http', port: 8080 }]) });
  await c.discovery.createNamespacedEndpointSlice({ namespace: NS, body: slice(NS, 'web-2', 'web', [{ ip: '10.1.5.2' }], [{ name: 'http', port: 8080 }]) });
  await c.core.createNamespacedService({ namespace: NS, body: service(NS, 'api', '10.96.5.3', [{ name: 'http', port: 80 }]) });
  await c.core.createNamespacedService({ namespace: NS, body: service(NS, 'db', '10.96.5.4', [{ name: 'http', port: 80 }]) });
  const merged = await eventually('a sync with api, db and web', () =>
    proxier.calls.slice(n + 1).find((call) => call.changes !== 'all' && call.changes.includes(`${NS}/db`)));
  proxier.delayMs = 0;
  expect(merged.changes).toEqual(expect.arrayContaining([`${NS}/api`, `${NS}/db`]));
  // Each change reaches the proxier once; unchanged Services never.
  const seen = proxier.calls.slice(n).flatMap((x) => (x.changes === 'all' ? [] : x.changes));
  expect(seen.filter((k) => k === `${NS}/api`)).toHaveLength(1);
  expect(seen.filter((k) => k === `${NS}/db`)).toHaveLength(1);
  expect(seen).not.toContain(`${NS}/early`);
  // The view's slice index (ClusterView.service) is current at sync time.
  await eventually('both web slices indexed', () => proxier.calls.some((x) => x.slicesOfWeb === 2));
});

test("after a failed sync the next one gets 'all', is retried without a new change, and then partial syncs resume", async () => {
  await eventually('no sync in flight', () => !proxier.inFlight);
  await new Promise((r) => setTimeout(r, 300));
  const n = proxier.calls.length;
  proxier.failNext = 1;
  await c.core.createNamespacedService({ namespace: NS, body: service(NS, 'fails', '10.96.5.5', [{ name: 'http', port: 80 }]) });
  await eventually('the failed sync and its retry', () => proxier.calls.length >= n + 2).catch((err: Error) => {
    throw new Error(`${err.message}: ${JSON.stringify(proxier.calls.slice(n - 1))}`);
  });
  expect(proxier.calls[n]?.changes).toEqual([`${NS}/fails`]);
  expect(proxier.calls[n + 1]?.changes).toBe('all');
  expect((await metrics.registry.getSingleMetricAsString('kpx_sync_failures_total'))).toContain('kpx_sync_failures_total 1');
  await c.core.createNamespacedService({ namespace: NS, body: service(NS, 'after', '10.96.5.6', [{ name: 'http', port: 80 }]) });
  await eventually('a partial sync again', () => proxier.calls.slice(n + 2).some((x) => x.changes !== 'all' && x.changes.includes(`${NS}/after`)));
  expect(health.isHealthy()).toBe(true);
});

test('health: a change that cannot be applied for longer than the health timeout makes the proxy unhealthy until a sync succeeds', async () => {
  await eventually('no sync in flight', () => !proxier.inFlight);
  expect(health.isHealthy()).toBe(true);
  proxier.failNext = 1_000;
  await c.core.createNamespacedService({ namespace: NS, body: service(NS, 'stuck', '10.96.5.8', [{ name: 'http', port: 80 }]) });
  await eventually('unhealthy', () => !health.isHealthy(), 5_000);
  expect(health.report(true).status).toBe(503);
  proxier.failNext = 0;
  // The retry (backoff 200 ms doubling) brings it back.
  await eventually('healthy again', () => health.isHealthy(), 10_000);
});

test('drift: the proxier forgets its state and the next sync is full', async () => {
  const n = proxier.calls.length;
  const inv = proxier.invalidations;
  controller.drift('test');
  await eventually('the repair sync', () => proxier.calls.length > n);
  expect(proxier.invalidations).toBe(inv + 1);
  expect(proxier.calls[n]).toMatchObject({ full: true });
  expect(await metrics.registry.getSingleMetricAsString('kpx_drift_repairs_total')).toContain(`kpx_drift_repairs_total ${inv + 1}`);
});

test('drift seen while a sync is applying is repaired by another full sync after it', async () => {
  await eventually('no sync in flight', () => !proxier.inFlight);
  proxier.delayMs = 400;
  const n = proxier.calls.length;
  controller.drift('test, first');
  await eventually('the slow full sync', () => proxier.inFlight);
  expect(proxier.calls[n]?.full).toBe(true);
  controller.drift('test, during that sync');
  proxier.delayMs = 0;
  await eventually('another full sync after the slow one', () => proxier.calls.slice(n + 1).some((x) => x.full));
});

test('network programming latency from the EndpointSlice trigger-time annotation, each trigger time once', async () => {
  const trigger = new Date(Date.now() - 2_000).toISOString().replace(/\.\d+Z$/, 'Z');
  const body = slice(NS, 'lat-1', 'web', [{ ip: '10.1.5.9' }], [{ name: 'http', port: 8080 }]);
  await c.discovery.createNamespacedEndpointSlice({ namespace: NS, body: { ...body, metadata: { ...body.metadata, annotations: { [TRIGGER_TIME_ANNOTATION]: trigger } } } });
  const count = async (): Promise<number> => {
    const m = await metrics.networkProgrammingDuration.get();
    return m.values.find((v) => v.metricName === 'kubeproxy_network_programming_duration_seconds_count')?.value ?? 0;
  };
  await eventually('the slice synced', () => proxier.calls.at(-1)?.slicesOfWeb === 3);
  for (let i = 0; i < 100 && (await count()) === 0; i++) await new Promise((r) => setTimeout(r, 50));
  expect(await count()).toBe(1);
  const n = proxier.calls.length;
  // Another change to the same Service: the old trigger time is not observed again.
  await c.discovery.createNamespacedEndpointSlice({ namespace: NS, body: slice(NS, 'web-3', 'web', [{ ip: '10.1.5.3' }], [{ name: 'http', port: 8080 }]) });
  await eventually('that sync', () => proxier.calls.length > n);
  expect(await count()).toBe(1);
  const m = await metrics.networkProgrammingDuration.get();
  const sum = m.values.find((v) => v.metricName === 'kubeproxy_network_programming_duration_seconds_sum')?.value ?? 0;
  expect(sum).toBeGreaterThanOrEqual(1);
  expect(sum).toBeLessThan(30);
});

test("the view's slice index follows deletions and a slice relabelled to another Service", async () => {
  const before = layer.service(`${NS}/web`).slices.length;
  await c.discovery.deleteNamespacedEndpointSlice({ name: 'web-3', namespace: NS });
  await eventually('web-3 gone from the index', () => proxier.calls.at(-1)?.slicesOfWeb === before - 1);
  const moved = slice(NS, 'web-2', 'api', [{ ip: '10.1.5.2' }], [{ name: 'http', port: 8080 }]);
  await c.discovery.replaceNamespacedEndpointSlice({ name: 'web-2', namespace: NS, body: moved });
  await eventually('web-2 moved to api', () => proxier.calls.at(-1)?.slicesOfWeb === before - 2);
  expect(layer.service(`${NS}/api`).slices.map((x) => x.metadata?.name)).toEqual(['web-2']);
  expect(layer.service(`${NS}/nothing`)).toEqual({ service: undefined, slices: [] });
});

test('stop() ends syncing and touches nothing: what was applied stays', async () => {
  const applied = proxier.applied;
  const inv = proxier.invalidations;
  await controller.stop();
  const n = proxier.calls.length;
  await c.core.createNamespacedService({ namespace: NS, body: service(NS, 'late', '10.96.5.7', [{ name: 'http', port: 80 }]) });
  await new Promise((r) => setTimeout(r, 1_000));
  expect(proxier.calls.length).toBe(n);
  expect(proxier.applied).toBe(applied);
  expect(proxier.invalidations).toBe(inv);
});
