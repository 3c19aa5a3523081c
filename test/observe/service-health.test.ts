/**
 * The healthCheckNodePort servers with real HTTP on loopback addresses of this process
 * (127.0.0.2, 127.0.0.3: inside 127.0.0.0/8, no namespace needed), driven by the real
 * incremental model the way the controller drives them: afterSync(result) with the
 * model and the affected Service keys.
 */
import { createServer, type Server } from 'node:net';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { IncrementalModel } from '../../src/model/incremental.js';
import type { EventReport } from '../../src/watch/events.js';
import { silentLogger, type Logger } from '../../src/observe/logger.js';
import { FAILED_TO_START_REASON, ServiceHealthServers } from '../../src/sync/service-health.js';
import type { SyncResult } from '../../src/sync/types.js';

const NODE = 'node-a';
const ADDRS = ['127.0.0.2', '127.0.0.3'];
const OPTIONS = { nodeName: NODE, nodePortAddresses: ADDRS.map((a) => `${a}/32`), localAddresses: ['127.0.0.1', ...ADDRS] };

/** Free TCP ports on 127.0.0.2 and .3 (asked of the kernel, then released). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.2', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

let serial = 0;
/** A LoadBalancer Service with externalTrafficPolicy Local (its own cluster IP and node ports). */
function lbLocal(name: string, hcPort: number): V1Service {
  const n = ++serial;
  return {
    apiVersion: 'v1', kind: 'Service',
    metadata: { namespace: 'ns', name, uid: `uid-${name}` },
    spec: {
      type: 'LoadBalancer', clusterIP: `10.96.0.${n}`, externalTrafficPolicy: 'Local', healthCheckNodePort: hcPort,
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 30000 + 2 * n }, { name: 'alt', port: 81, protocol: 'TCP', targetPort: 8081, nodePort: 30001 + 2 * n }],
    },
  };
}

function slice(svc: string, eps: { ip: string; node: string; ready?: boolean }[]): V1EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { namespace: 'ns', name: `${svc}-1`, labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    endpoints: eps.map((e) => ({ addresses: [e.ip], nodeName: e.node, conditions: { ready: e.ready ?? true, serving: true, terminating: e.ready === false } })),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'alt', port: 8081, protocol: 'TCP' }],
  };
}

/** The cluster as the test has it, and the model/afterSync pair a controller would run. */
class Harness {
  readonly services = new Map<string, V1Service>();
  readonly slices = new Map<string, V1EndpointSlice[]>();
  model: IncrementalModel | undefined;
  options: typeof OPTIONS = OPTIONS;
  healthy = true;
  readonly events: EventReport[] = [];
  readonly logs: { level: string; msg: string }[] = [];
  readonly servers: ServiceHealthServers;

  constructor() {
    const log = (level: string) => (_f: Record<string, unknown>, msg: string) => { this.logs.push({ level, msg }); };
    const logger: Logger = { ...silentLogger, error: log('error'), info: log('info'), debug: log('debug') };
    this.servers = new ServiceHealthServers({
      health: { isHealthy: () => this.healthy }, logger, nodeName: NODE,
      events: { record: (r) => this.events.push(r) },
      uidOf: (key) => this.services.get(key)?.metadata?.uid,
    });
  }

  /** Sync: 'all' the first time, then only the named keys (as the controller hands them on). */
  async sync(changed?: string[]): Promise<void> {
    const source = (key: string) => ({ service: this.services.get(key), slices: this.slices.get(key) ?? [] });
    let affected: SyncResult['affected'];
    if (this.model === undefined || changed === undefined) {
      this.model = new IncrementalModel({ services: [...this.services.values()], endpointSlices: [...this.slices.values()].flat() }, this.options);
      affected = 'all';
    } else {
      affected = this.model.update(changed, source);
    }
    const m = this.model;
    await this.servers.afterSync({ kind: 'partial', kernelOps: 0, problems: [], timings: { model: 0, render: 0, diff: 0, apply: 0 }, model: m, affected });
  }
}

async function get(addr: string, port: number, path = '/healthz'): Promise<{ status: number; headers: Headers; text: string } | 'refused'> {
  try {
    const r = await fetch(`http://${addr}:${port}${path}`);
    return { status: r.status, headers: r.headers, text: await r.text() };
  } catch (err) {
    const code = ((err as { cause?: { code?: string } }).cause?.code) ?? String(err);
    if (code === 'ECONNREFUSED') return 'refused';
    throw err;
  }
}

let h: Harness;
afterEach(async () => { await h.servers.stop(); });

test('a server per Local LoadBalancer Service on every NodePort address: upstream body and headers, counts follow the local ready endpoints', async () => {
  h = new Harness();
  const port = await freePort();
  h.services.set('ns/web', lbLocal('web', port));
  h.slices.set('ns/web', [slice('web', [{ ip: '10.1.0.1', node: NODE }, { ip: '10.1.0.2', node: 'node-b' }])]);
  // A Cluster-policy LoadBalancer has no health check server.
  const cluster = lbLocal('cluster', port + 1);
  h.services.set('ns/cluster', { ...cluster, spec: { ...cluster.spec, externalTrafficPolicy: 'Cluster' } });
  await h.sync();
  expect(h.servers.servers()).toEqual([{ key: 'ns/web', family: 'ipv4', port, addresses: ADDRS, localEndpoints: 1 }]);

  for (const a of ADDRS) {
    const r = await get(a, port, '/any/path?x=1');
    if (r === 'refused') throw new Error(`nothing on ${a}:${port}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('x-load-balancing-endpoint-weight')).toBe('1');
    // Byte for byte what upstream's dedented template prints.
    expect(r.text).toBe('{\n\t"service": {\n\t\t"namespace": "ns",\n\t\t"name": "web"\n\t},\n\t"localEndpoints": 1,\n\t"serviceProxyHealthy": true\n}');
  }
  // Not on an address outside --nodeport-addresses.
  expect(await get('127.0.0.1', port)).toBe('refused');

  // Two local endpoints (one IP serving two ports counts once) and a local terminating one (not counted).
  h.slices.set('ns/web', [slice('web', [{ ip: '10.1.0.1', node: NODE }, { ip: '10.1.0.3', node: NODE }, { ip: '10.1.0.4', node: NODE, ready: false }])]);
  await h.sync(['ns/web']);
  let r = await get(ADDRS[0]!, port);
  expect(r).toMatchObject({ status: 200 });
  if (r !== 'refused') {
    expect(r.headers.get('x-load-balancing-endpoint-weight')).toBe('2');
    expect(JSON.parse(r.text)).toEqual({ service: { namespace: 'ns', name: 'web' }, localEndpoints: 2, serviceProxyHealthy: true });
  }

  // Only a remote endpoint left: 503 with 0.
  h.slices.set('ns/web', [slice('web', [{ ip: '10.1.0.2', node: 'node-b' }])]);
  await h.sync(['ns/web']);
  r = await get(ADDRS[1]!, port);
  expect(r).toMatchObject({ status: 503 });
  if (r !== 'refused') expect(r.headers.get('x-load-balancing-endpoint-weight')).toBe('0');

  // Local endpoint back, but the proxy unhealthy: 503, serviceProxyHealthy false.
  h.slices.set('ns/web', [slice('web', [{ ip: '10.1.0.1', node: NODE }])]);
  await h.sync(['ns/web']);
  h.healthy = false;
  r = await get(ADDRS[0]!, port);
  expect(r).toMatchObject({ status: 503 });
  if (r !== 'refused') expect(JSON.parse(r.text)).toMatchObject({ localEndpoints: 1, serviceProxyHealthy: false });
  h.healthy = true;

  // Service deleted: server closed.
  h.services.delete('ns/web');
  h.slices.delete('ns/web');
  await h.sync(['ns/web']);
  expect(h.servers.servers()).toEqual([]);
  expect(await get(ADDRS[0]!, port)).toBe('refused');
  expect(h.events).toEqual([]);
});

test('servers are diffed, not recreated: an unrelated or full sync keeps the same listener; a new healthCheckNodePort moves it', async () => {
  h = new Harness();
  const port = await freePort();
  h.services.set('ns/web', lbLocal('web', port));
  await h.sync();
  expect(await get(ADDRS[0]!, port)).toMatchObject({ status: 503 });
  const before = h.servers.servers();
  const logsBefore = h.logs.length;
  const other = lbLocal('other', 0);
  h.services.set('ns/other', { ...other, spec: { type: 'ClusterIP', clusterIP: other.spec!.clusterIP!, ports: [{ port: 80, protocol: 'TCP' }] } });
  await h.sync(['ns/other']);
  await h.sync();
  expect(h.servers.servers()).toEqual(before);
  // Neither closed nor opened again (each logs one line at info).
  expect(h.logs.slice(logsBefore)).toEqual([]);

  const moved = await freePort();
  h.services.set('ns/web', lbLocal('web', moved));
  await h.sync(['ns/web']);
  expect(await get(ADDRS[0]!, port)).toBe('refused');
  expect(await get(ADDRS[0]!, moved)).toMatchObject({ status: 503 });
});

test('a port that cannot be bound: one error log, a Warning Event, the other Services keep working, retried on later syncs', async () => {
  h = new Harness();
  const busy = await freePort();
  const fine = await freePort();
  // Someone else holds the port on the second address only: the first one must be released too.
  const squatter: Server = createServer();
  await new Promise<void>((r) => squatter.listen(busy, ADDRS[1], r));
  try {
    h.services.set('ns/blocked', lbLocal('blocked', busy));
    h.services.set('ns/web', lbLocal('web', fine));
    h.slices.set('ns/web', [slice('web', [{ ip: '10.1.0.1', node: NODE }])]);
    await h.sync();
    expect(h.servers.servers().map((s) => s.key)).toEqual(['ns/web']);
    expect(await get(ADDRS[0]!, fine)).toMatchObject({ status: 200 });
    expect(await get(ADDRS[0]!, busy)).toBe('refused');
    expect(h.logs.filter((l) => l.level === 'error')).toHaveLength(1);
    expect(h.events).toEqual([{
      regarding: { kind: 'Service', apiVersion: 'v1', namespace: 'ns', name: 'blocked', uid: 'uid-blocked' },
      type: 'Warning', reason: FAILED_TO_START_REASON, action: 'Listen',
      note: expect.stringMatching(new RegExp(`^node ${NODE} failed to start healthcheck "ns/blocked" on port ${busy}: .*EADDRINUSE`)) as unknown as string,
    }]);

    // The next sync (nothing changed) tries again: same failure, logged at debug only.
    await h.sync([]);
    expect(h.logs.filter((l) => l.level === 'error')).toHaveLength(1);
    expect(h.logs.filter((l) => l.level === 'debug')).toHaveLength(1);
    expect(h.logs.filter((l) => l.level === 'info')).toHaveLength(1); // web listening, once
    expect(h.events).toHaveLength(2); // the recorder rate-limits, not the server

    // The port is free again: the next sync opens it.
    await new Promise((r) => squatter.close(r));
    await h.sync([]);
    expect(h.servers.servers().map((s) => s.key).sort()).toEqual(['ns/blocked', 'ns/web']);
    expect(await get(ADDRS[1]!, busy)).toMatchObject({ status: 503 });
  } finally {
    if (squatter.listening) squatter.close();
  }
});

test('dual-stack: one server per family, each on its own family\'s addresses and counting its own family\'s endpoints', async () => {
  h = new Harness();
  const port = await freePort();
  const base = lbLocal('dual', port);
  h.services.set('ns/dual', { ...base, spec: { ...base.spec, clusterIPs: [base.spec!.clusterIP!, 'fd00:96::10'], ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'RequireDualStack' } });
  const v6: V1EndpointSlice = { ...slice('dual', [{ ip: 'fd00:1::1', node: NODE }, { ip: 'fd00:1::2', node: NODE }]), addressType: 'IPv6' };
  h.slices.set('ns/dual', [slice('dual', [{ ip: '10.1.0.1', node: NODE }]), { ...v6, metadata: { ...v6.metadata, name: 'dual-v6' } }]);
  h.options = { ...OPTIONS, nodePortAddresses: ['127.0.0.2/32', '::1/128'], localAddresses: [...OPTIONS.localAddresses, '::1'] };
  await h.sync();
  expect(h.servers.servers().sort((a, b) => a.family.localeCompare(b.family))).toEqual([
    { key: 'ns/dual', family: 'ipv4', port, addresses: ['127.0.0.2'], localEndpoints: 1 },
    { key: 'ns/dual', family: 'ipv6', port, addresses: ['::1'], localEndpoints: 2 },
  ]);
  const r4 = await get('127.0.0.2', port);
  const r6 = await get('[::1]', port);
  expect(r4 !== 'refused' && r4.headers.get('x-load-balancing-endpoint-weight')).toBe('1');
  expect(r6 !== 'refused' && r6.headers.get('x-load-balancing-endpoint-weight')).toBe('2');
  expect(h.events).toEqual([]);
});
