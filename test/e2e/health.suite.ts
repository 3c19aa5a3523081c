/**
 * Health as load balancers and kubelet see it, end to end (every backend: ./README.md): the proxy's
 * `/healthz` and `/livez`, and the healthCheckNodePort of a LoadBalancer Service with
 * externalTrafficPolicy Local, probed from the external host on the node's IP (the
 * NodePort address a cloud load balancer probes). The API server allocates the port.
 * Topology and harness: ./README.md.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { run } from '../kernel/harness.js';
import { NAMESPACE } from './objects.js';
import { Figures, sleep } from './steps.js';
import { E2E, OTHER_NODE_NAME, podIP } from './topology.js';
import { World } from './world.js';
import type { ProxyMode } from './proxy.js';

/** The checks above against the proxy in `mode`. */
export function healthSuite(mode: ProxyMode): void {
  let w: World | undefined;
  let hcPort = 0;
  const fig = new Figures('health: /healthz, /livez, healthCheckNodePort', () => w);
  const SVC = 'lb-local';
  const LOCAL = { ip: podIP(2) };
  const REMOTE = { ip: podIP(3), node: OTHER_NODE_NAME };

  interface Answer {
    /** 0: nothing answered (refused or timed out). */
    readonly status: number;
    readonly headers: Readonly<Record<string, string>>;
    readonly body: string;
  }

  /** GET url with curl inside a namespace; headers lower-cased. */
  async function get(ns: string, url: string): Promise<Answer> {
    const r = await run('ip', ['netns', 'exec', ns, 'curl', '-s', '-i', '--max-time', '2', url]);
    if (r.code !== 0) return { status: 0, headers: {}, body: '' };
    const [head = '', ...rest] = r.stdout.split('\r\n\r\n');
    const lines = head.split('\r\n');
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      if (i > 0) headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
    }
    return { status: Number(lines[0]?.split(' ')[1] ?? 0), headers, body: rest.join('\r\n\r\n') };
  }

  /** The Service's health check, as the load balancer probes it: from the external host to the node IP. */
  const probe = (): Promise<Answer> => get(w!.names.ext, `http://${E2E.nodeIP}:${hcPort}/healthz`);

  /** Polls the health check until `want` holds; returns the answer and how long it took. */
  async function until(what: string, want: (a: Answer) => boolean, timeoutMs = 15_000): Promise<{ a: Answer; ms: number }> {
    const start = Date.now();
    let last: Answer = { status: -1, headers: {}, body: '' };
    while (Date.now() - start < timeoutMs) {
      last = await probe();
      if (want(last)) return { a: last, ms: Date.now() - start };
      await sleep(100);
    }
    throw new Error(`${what}: not seen within ${timeoutMs} ms; last answer ${JSON.stringify(last)}\n${w?.proxy?.tail() ?? ''}`);
  }

  const endpoints = (a: Answer): number | undefined => {
    try { return (JSON.parse(a.body) as { localEndpoints?: number }).localEndpoints; } catch { return undefined; }
  };

  beforeAll(async () => {
    w = await World.create(mode);
    await w.writer.createService({ name: SVC, clusterIP: '10.96.110.1', type: 'LoadBalancer', nodePort: 30110, externalTrafficPolicy: 'Local' });
    await w.writer.setLoadBalancerIPs(SVC, ['10.250.0.110']);
    await w.writer.setEndpoints(SVC, [LOCAL, REMOTE]);
    const svc = await w.cp.api.core.readNamespacedService({ name: SVC, namespace: NAMESPACE });
    hcPort = svc.spec?.healthCheckNodePort ?? 0;
    expect(hcPort).toBeGreaterThan(0);
    w.startProxy();
    await w.waitHealthz(200, 30_000);
    // /healthz can answer 200 during the first sync (upstream too: healthy while starting);
    // the health check server exists once that sync is done.
    const first = await until('the health check server after the first sync', (a) => a.status !== 0, 30_000);
    fig.add(`proxy start → health check port answering: ${first.ms} ms after /healthz 200`);
  }, 300_000);

  afterAll(async () => {
    fig.print();
    await w?.dispose();
  }, 60_000);

  test('/healthz and /livez: upstream JSON body and headers, 200', async () => {
    const hz = await get(w!.names.node, 'http://127.0.0.1:10256/healthz');
    expect(hz.status).toBe(200);
    expect(hz.headers['content-type']).toBe('application/json');
    expect(hz.headers['x-content-type-options']).toBe('nosniff');
    fig.add(`/healthz: ${hz.body}`);
    const body = JSON.parse(hz.body) as Record<string, unknown>;
    expect(body).toMatchObject({ healthy: true, nodeEligible: true, status: { IPv4: { healthy: true } } });
    for (const k of ['lastUpdated', 'currentTime']) expect(Number.isNaN(Date.parse(String(body[k])))).toBe(false);
    const lz = await get(w!.names.node, 'http://127.0.0.1:10256/livez');
    expect(lz.status).toBe(200);
    expect(lz.headers['content-type']).toBe('application/json');
    const live = JSON.parse(lz.body) as Record<string, unknown>;
    expect(live).toMatchObject({ healthy: true, status: { IPv4: { healthy: true } } });
    expect(live).not.toHaveProperty('nodeEligible');
  });

  test('healthCheckNodePort: 200 with one local endpoint, 503 with none (the remote one stays), 200 again, gone with the Service', async () => {
    let r = await until('200 with the local endpoint', (a) => a.status === 200);
    expect(r.a.headers['content-type']).toBe('application/json');
    expect(r.a.headers['x-content-type-options']).toBe('nosniff');
    expect(r.a.headers['x-load-balancing-endpoint-weight']).toBe('1');
    expect(JSON.parse(r.a.body)).toEqual({ service: { namespace: NAMESPACE, name: SVC }, localEndpoints: 1, serviceProxyHealthy: true });
    // Any path answers (upstream's handler is not a mux).
    expect((await get(w!.names.ext, `http://${E2E.nodeIP}:${hcPort}/`)).status).toBe(200);

    await w!.writer.setEndpoints(SVC, [REMOTE]);
    r = await until('503 once the local endpoint is gone', (a) => a.status === 503);
    fig.add(`local endpoint removed → health check 503 after ${r.ms} ms`);
    expect(endpoints(r.a)).toBe(0);
    expect(r.a.headers['x-load-balancing-endpoint-weight']).toBe('0');
    expect(JSON.parse(r.a.body)).toMatchObject({ serviceProxyHealthy: true });

    await w!.writer.setEndpoints(SVC, [LOCAL, REMOTE]);
    r = await until('200 again with the local endpoint back', (a) => a.status === 200);
    fig.add(`local endpoint back → health check 200 after ${r.ms} ms`);
    expect(endpoints(r.a)).toBe(1);

    await w!.writer.deleteService(SVC);
    r = await until('nothing listens once the Service is deleted', (a) => a.status === 0);
    fig.add(`Service deleted → health check port closed after ${r.ms} ms`);
    // The proxy itself stays healthy throughout.
    expect(await w!.healthz()).toBe(200);
  });
}
