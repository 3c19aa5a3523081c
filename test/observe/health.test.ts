/** kube-proxy's health rule and the two HTTP servers, on loopback with ephemeral ports. */
import { Registry } from 'prom-client';
import { ProxyHealth } from '../../src/observe/health.js';
import { serveHealth, serveMetrics } from '../../src/observe/http.js';
import { createMetrics } from '../../src/observe/metrics.js';

test('healthy while starting and while nothing waits; unhealthy once a queued update is older than the timeout', () => {
  let now = 1_000_000;
  const h = new ProxyHealth(60_000, () => now);
  expect(h.isHealthy()).toBe(true);
  h.queuedUpdate();
  now += 59_999;
  // t=59.999s: not late yet
  expect(h.isHealthy()).toBe(true);
  h.queuedUpdate(); // a later change does not reset the oldest
  now += 1;
  // t=60s
  expect(h.isHealthy()).toBe(false);
  expect(h.report(false)).toMatchObject({ status: 503, body: { healthy: false, lastUpdated: new Date(0).toISOString() } });
  h.updated();
  expect(h.report(true)).toEqual({ status: 200, body: { lastUpdated: new Date(now).toISOString(), currentTime: new Date(now).toISOString(), nodeEligible: true, healthy: true } });
});

test('/healthz needs an eligible Node (not deleting, no autoscaler taint); /livez does not', () => {
  const h = new ProxyHealth(60_000);
  h.syncNode({ metadata: { name: 'n' }, spec: { taints: [{ key: 'ToBeDeletedByClusterAutoscaler', effect: 'NoSchedule' }] } });
  expect(h.report(true)).toMatchObject({ status: 503, body: { nodeEligible: false, healthy: false } });
  expect(h.report(false).status).toBe(200);
  h.syncNode({ metadata: { name: 'n' } });
  expect(h.report(true).status).toBe(200);
  h.syncNode({ metadata: { name: 'n', deletionTimestamp: new Date() } });
  expect(h.report(true).status).toBe(503);
});

test('servers: JSON health with upstream headers, Prometheus text on /metrics', async () => {
  let now = 0;
  const h = new ProxyHealth(1_000, () => now);
  const m = createMetrics(new Registry());
  m.syncDuration.observe(0.003);
  const hs = await serveHealth({ host: '127.0.0.1', port: 0 }, h);
  const ms = await serveMetrics({ host: '127.0.0.1', port: 0 }, m.registry);
  try {
    let r = await fetch(`http://127.0.0.1:${hs.port}/healthz`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await r.json()).toMatchObject({ healthy: true, nodeEligible: true });
    h.queuedUpdate();
    now = 5_000;
    r = await fetch(`http://127.0.0.1:${hs.port}/livez`);
    expect(r.status).toBe(503);
    expect(await r.json()).not.toHaveProperty('nodeEligible');
    expect((await fetch(`http://127.0.0.1:${hs.port}/other`)).status).toBe(404);
    const text = await (await fetch(`http://127.0.0.1:${ms.port}/metrics`)).text();
    expect(text).toContain('kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="0.004"} 1');
    expect(text).toContain('kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="16.384"} 1');
    expect(text).toContain('kubeproxy_network_programming_duration_seconds_bucket{le="0.25"} 0');
    expect(text).toContain('kubeproxy_network_programming_duration_seconds_bucket{le="115"} 0');
    expect(text).toContain('kubeproxy_network_programming_duration_seconds_bucket{le="300"} 0');
    expect(text).toContain('# TYPE kubeproxy_sync_proxy_rules_last_timestamp_seconds gauge');
  } finally {
    await hs.close();
    await ms.close();
  }
});
