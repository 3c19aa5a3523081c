/** kube-proxy's health rule and the two HTTP servers, on loopback with ephemeral ports. */
import { Registry } from 'prom-client';
import { ProxyHealth, ZERO_TIME } from '../../src/observe/health.js';
import { serveHealth, serveMetrics } from '../../src/observe/http.js';
import { createMetrics } from '../../src/observe/metrics.js';

const NODE = { metadata: { name: 'n' } };
const at = (ms: number) => new Date(ms).toISOString();

test('healthy while starting (no family updated yet), unhealthy once a queued update is older than the timeout', () => {
  let now = 1_000_000;
  const h = new ProxyHealth(60_000, () => now);
  h.syncNode(NODE);
  h.queuedUpdate();
  now += 120_000;
  // t=120s, nothing ever updated: upstream judges only families in lastUpdatedMap.
  expect(h.isHealthy()).toBe(true);
  expect(h.report(false)).toEqual({ status: 200, body: { lastUpdated: at(now), currentTime: at(now), healthy: true } });
  h.updated(['ipv4']);
  const first = now;
  h.queuedUpdate();
  now += 59_999;
  // t=59.999s after the queued change: not late yet
  expect(h.isHealthy()).toBe(true);
  h.queuedUpdate(); // a later change does not reset the oldest
  now += 1;
  // t=60s
  expect(h.isHealthy()).toBe(false);
  expect(h.report(false)).toEqual({
    status: 503,
    body: { lastUpdated: at(first), currentTime: at(now), healthy: false, status: { IPv4: { lastUpdated: at(first), healthy: false } } },
  });
  h.updated(['ipv4', 'ipv6']);
  expect(h.report(true)).toEqual({
    status: 200,
    body: {
      lastUpdated: at(now), currentTime: at(now), nodeEligible: true, healthy: true,
      status: { IPv4: { lastUpdated: at(now), healthy: true }, IPv6: { lastUpdated: at(now), healthy: true } },
    },
  });
  // A family the proxier no longer programs leaves the status.
  h.updated(['ipv4']);
  expect(Object.keys(h.report(true).body.status ?? {})).toEqual(['IPv4']);
});

test('/healthz needs an eligible Node (known, not deleting, no autoscaler taint); /livez does not', () => {
  const h = new ProxyHealth(60_000, () => 5);
  // No Node seen: upstream's NodeEligible is false for a nil Node.
  expect(h.report(true)).toEqual({ status: 503, body: { lastUpdated: ZERO_TIME, currentTime: at(5), nodeEligible: false, healthy: true } });
  h.syncNode({ metadata: { name: 'n' }, spec: { taints: [{ key: 'ToBeDeletedByClusterAutoscaler', effect: 'NoSchedule' }] } });
  // The proxy itself is healthy: `healthy` stays true, the code says the node is not eligible.
  expect(h.report(true)).toMatchObject({ status: 503, body: { nodeEligible: false, healthy: true } });
  expect(h.report(false).status).toBe(200);
  h.syncNode({ metadata: { name: 'n' }, spec: { taints: [{ key: 'other', effect: 'NoSchedule' }] } });
  expect(h.report(true).status).toBe(200);
  h.syncNode({ metadata: { name: 'n', deletionTimestamp: new Date() } });
  expect(h.report(true).status).toBe(503);
  h.syncNode(undefined);
  expect(h.report(true).body.nodeEligible).toBe(false);
});

test('servers: JSON health with upstream headers and counters, Prometheus text on /metrics', async () => {
  let now = 0;
  const h = new ProxyHealth(1_000, () => now);
  h.syncNode(NODE);
  h.updated(['ipv4']);
  const m = createMetrics(new Registry());
  m.syncDuration.observe(0.003);
  const hs = await serveHealth({ host: '127.0.0.1', port: 0 }, h, m);
  const ms = await serveMetrics({ host: '127.0.0.1', port: 0 }, m.registry);
  try {
    let r = await fetch(`http://127.0.0.1:${hs.port}/healthz?verbose`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    const text0 = await r.text();
    // Upstream's key order (encoding/json of ProxyHealth).
    expect(Object.keys(JSON.parse(text0) as object)).toEqual(['lastUpdated', 'currentTime', 'nodeEligible', 'healthy', 'status']);
    h.queuedUpdate();
    now = 5_000;
    r = await fetch(`http://127.0.0.1:${hs.port}/livez`);
    expect(r.status).toBe(503);
    expect(await r.json()).toEqual({ lastUpdated: at(0), currentTime: at(5_000), healthy: false, status: { IPv4: { lastUpdated: at(0), healthy: false } } });
    r = await fetch(`http://127.0.0.1:${hs.port}/healthz`);
    expect(r.status).toBe(503);
    expect((await fetch(`http://127.0.0.1:${hs.port}/other`)).status).toBe(404);
    const text = await (await fetch(`http://127.0.0.1:${ms.port}/metrics`)).text();
    expect(text).toContain('kubeproxy_proxy_healthz_total{code="200"} 1');
    expect(text).toContain('kubeproxy_proxy_healthz_total{code="503"} 1');
    expect(text).toContain('kubeproxy_proxy_livez_total{code="503"} 1');
    expect(text).not.toContain('kubeproxy_proxy_livez_total{code="200"}');
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
