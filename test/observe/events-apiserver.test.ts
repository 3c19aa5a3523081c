/**
 * FailedToStartServiceHealthcheck against a real kube-apiserver + etcd: a Local
 * LoadBalancer Service gets its healthCheckNodePort from the API server, someone else
 * holds that port, the health check servers post the Warning Event, and the test reads
 * it back — as events.k8s.io/v1 and as the core/v1 view `kubectl describe service`
 * queries (involvedObject.uid = the Service's UID).
 */
import { createServer, type Server } from 'node:net';
import { CoreV1Api, EventsV1Api } from '@kubernetes/client-node';
import { IncrementalModel } from '../../src/model/incremental.js';
import { apiEventSink, EventRecorder } from '../../src/watch/events.js';
import { silentLogger } from '../../src/observe/logger.js';
import { FAILED_TO_START_REASON, ServiceHealthServers } from '../../src/sync/service-health.js';
import { startCluster, type TestCluster } from '../apiserver/cluster.js';

const NS = 'hc-events';
const NODE = 'node-a';
let cluster: TestCluster | undefined;
let squatter: Server | undefined;
let servers: ServiceHealthServers | undefined;

beforeAll(async () => { cluster = await startCluster(); }, 30 * 60_000);
afterAll(async () => {
  await servers?.stop();
  squatter?.close();
  await cluster?.stop();
}, 60_000);

test('a healthCheckNodePort someone else holds: a Warning Event about the Service, read back from the API server', async () => {
  const kc = cluster!.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: NS } } });
  const svc = await core.createNamespacedService({
    namespace: NS,
    body: {
      metadata: { name: 'web' },
      spec: { type: 'LoadBalancer', externalTrafficPolicy: 'Local', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] },
    },
  });
  const port = svc.spec!.healthCheckNodePort!;
  expect(port).toBeGreaterThan(0);
  squatter = createServer();
  await new Promise<void>((r) => squatter!.listen(port, '127.0.0.2', r));

  let failures = 0;
  const events = new EventRecorder({ sink: apiEventSink(kc), nodeName: NODE, logger: silentLogger, failures: { inc: () => { failures++; } } });
  servers = new ServiceHealthServers({
    health: { isHealthy: () => true }, logger: silentLogger, nodeName: NODE, events,
    uidOf: (key) => (key === `${NS}/web` ? svc.metadata?.uid : undefined),
  });
  const model = new IncrementalModel({ services: [svc], endpointSlices: [] }, { nodeName: NODE, nodePortAddresses: ['127.0.0.2/32'], localAddresses: ['127.0.0.1', '127.0.0.2'] });
  const result = { kind: 'full' as const, kernelOps: 0, problems: [], timings: { model: 0, render: 0, diff: 0, apply: 0 }, model, affected: 'all' as const };
  await servers.afterSync(result);
  await servers.afterSync({ ...result, affected: new Set<string>() }); // retried: rate-limited, not posted twice
  await events.flush();
  expect(failures).toBe(0);
  expect(servers.servers()).toEqual([]);

  const list = await kc.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: NS });
  expect(list.items).toHaveLength(1);
  const e = list.items[0]!;
  expect(e).toMatchObject({
    reason: FAILED_TO_START_REASON, type: 'Warning', action: 'Listen',
    reportingController: 'kpx', reportingInstance: `kpx-${NODE}`,
    regarding: { kind: 'Service', apiVersion: 'v1', namespace: NS, name: 'web', uid: svc.metadata!.uid },
  });
  expect(e.note).toMatch(new RegExp(`^node ${NODE} failed to start healthcheck "${NS}/web" on port ${port}: .*EADDRINUSE`));
  expect(String(e.eventTime as unknown)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);

  const described = await core.listNamespacedEvent({ namespace: NS, fieldSelector: `involvedObject.uid=${svc.metadata!.uid},involvedObject.kind=Service` });
  expect(described.items.map((x) => x.reason)).toEqual([FAILED_TO_START_REASON]);
}, 120_000);

test('an Event the API server refuses (namespace gone) is counted, never thrown', async () => {
  let failures = 0;
  const events = new EventRecorder({ sink: apiEventSink(cluster!.kubeConfig()), nodeName: NODE, logger: silentLogger, failures: { inc: () => { failures++; } } });
  events.record({ regarding: { kind: 'Service', apiVersion: 'v1', namespace: 'no-such-namespace', name: 'x' }, type: 'Warning', reason: FAILED_TO_START_REASON, action: 'Listen', note: 'n' });
  await events.flush();
  expect(failures).toBe(1);
});
