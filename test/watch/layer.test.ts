/**
 * The watch layer against a real kube-apiserver (built from k8s.io/kubernetes, etcd from
 * Debian): objects created, changed and deleted through the API reach the snapshot, the
 * change sets and buildProxyState's output.
 */
import { readLiveSnapshot, WatchLayer, type SupervisionOptions } from '../../src/watch/index.js';
import { DEFAULT_BACKOFF } from '../../src/watch/backoff.js';
import { main } from '../../src/cli/main.js';
import type { CliIO } from '../../src/cli/output.js';
import type { TestCluster } from '../apiserver/cluster.js';
import { startWatchedCluster, type WatchedCluster } from './fixture.js';
import {
  endpoints, eventually, node, NODE, Observer, port, service, slice, type Clients,
} from './k8s.js';

const NS = 'watch';
const fast: Partial<SupervisionOptions> = {
  backoff: { ...DEFAULT_BACKOFF, initialMs: 100, maxMs: 1_000 },
  watchdogMs: 20_000,
  watchTimeoutSeconds: 5,
};

let w: WatchedCluster;
let cluster: TestCluster;
let c: Clients;
let layer: WatchLayer;
let obs: Observer;

beforeAll(async () => {
  w = await startWatchedCluster({
    namespace: NS, nodeIP: '192.168.50.10', nodeLabels: { 'topology.kubernetes.io/zone': 'z1' }, supervision: fast,
    // Present before the layer starts: must arrive through the first list.
    before: async (core, k) => {
      await core.createNode({ body: node('node-b', '192.168.50.11') });
      await core.createNamespacedService({ namespace: NS, body: service(NS, 'early', '10.96.1.1', [{ name: 'http', port: 80 }]) });
      await k.discovery.createNamespacedEndpointSlice({ namespace: NS, body: slice(NS, 'early-1', 'early', [{ ip: '10.1.0.1' }], [{ name: 'http', port: 8080 }]) });
    },
  });
  ({ cluster, c, layer, obs } = w);
}, 30 * 60_000);

afterAll(async () => {
  await w?.stop();
}, 60_000);

test('nothing is announced before every informer has listed; the first list is complete', async () => {
  expect(layer.synced).toBe(true);
  const r = await obs.until('the first notification', (m) => obs.notifications > 0 && m);
  expect(obs.notifiedBeforeSync).toBe(false);
  expect(endpoints(r, `${NS}/early:http`)).toEqual(['10.1.0.1:8080']);
  expect(r.state.ipv4.nodeIPs).toEqual(['192.168.50.10']);   // this node only, by name
  expect(layer.snapshot().node?.metadata?.name).toBe(NODE);
  expect(obs.take()).toEqual(expect.arrayContaining([`${NS}/early`]));
  expect(layer.status().map((s) => [s.name, s.phase, s.lists])).toEqual([
    ['services', 'watching', 1], ['endpointslices', 'watching', 1], ['node', 'watching', 1],
  ]);
});

test('create, update and delete of a Service and its EndpointSlice reach the model', async () => {
  obs.build();
  obs.take();
  await c.core.createNamespacedService({ namespace: NS, body: service(NS, 'web', '10.96.2.1', [{ name: 'http', port: 80 }]) });
  let r = await obs.until('web without endpoints', (m) => port(m, `${NS}/web:http`));
  expect(r.internalNoEndpoints).toBe('reject');
  expect(obs.take()).toEqual([`${NS}/web`]);

  await c.discovery.createNamespacedEndpointSlice({ namespace: NS, body: slice(NS, 'web-1', 'web', [{ ip: '10.1.1.1', node: NODE }, { ip: '10.1.1.2', node: 'node-b' }], [{ name: 'http', port: 8080 }]) });
  let m = await obs.until('web endpoints', (x) => endpoints(x, `${NS}/web:http`)?.length === 2 && x);
  expect(endpoints(m, `${NS}/web:http`)).toEqual(['10.1.1.1:8080', '10.1.1.2:8080']);
  expect(port(m, `${NS}/web:http`)?.allEndpoints.filter((e) => e.local).map((e) => e.ip)).toEqual(['10.1.1.1']);
  expect(obs.take()).toEqual([`${NS}/web`]);

  // Update: one endpoint stops being ready.
  await c.discovery.replaceNamespacedEndpointSlice({ name: 'web-1', namespace: NS, body: {
    ...slice(NS, 'web-1', 'web', [{ ip: '10.1.1.1', node: NODE, ready: false }, { ip: '10.1.1.2', node: 'node-b' }], [{ name: 'http', port: 8080 }]),
  } });
  m = await obs.until('10.1.1.1 not ready', (x) => endpoints(x, `${NS}/web:http`)?.includes('10.1.1.1:8080 (not ready)') && x);
  expect(port(m, `${NS}/web:http`)?.clusterEndpoints.map((e) => e.ip)).toEqual(['10.1.1.2']);

  // Update of the Service: a second port.
  const svc = await c.core.readNamespacedService({ name: 'web', namespace: NS });
  svc.spec!.ports!.push({ name: 'https', port: 443, protocol: 'TCP', targetPort: 8443 });
  await c.core.replaceNamespacedService({ name: 'web', namespace: NS, body: svc });
  await obs.until('web:https', (x) => port(x, `${NS}/web:https`));

  await c.discovery.deleteNamespacedEndpointSlice({ name: 'web-1', namespace: NS });
  m = await obs.until('web endpoints gone', (x) => endpoints(x, `${NS}/web:http`)?.length === 0 && x);
  expect(port(m, `${NS}/web:http`)?.internalNoEndpoints).toBe('reject');

  obs.take();
  await c.core.deleteNamespacedService({ name: 'web', namespace: NS });
  await obs.until('web gone', (x) => port(x, `${NS}/web:http`) === undefined);
  expect(obs.take()).toEqual([`${NS}/web`]);
});

test('the slices of one Service merge; deleting one slice keeps the other', async () => {
  await c.core.createNamespacedService({ namespace: NS, body: service(NS, 'big', '10.96.3.1', [{ name: 'p', port: 80 }]) });
  for (let i = 1; i <= 3; i++) {
    await c.discovery.createNamespacedEndpointSlice({ namespace: NS, body: slice(NS, `big-${i}`, 'big', [{ ip: `10.2.${i}.1` }, { ip: `10.2.${i}.2` }], [{ name: 'p', port: 9000 }]) });
  }
  const m = await obs.until('6 endpoints', (x) => endpoints(x, `${NS}/big:p`)?.length === 6 && x);
  expect(endpoints(m, `${NS}/big:p`)).toEqual(['10.2.1.1:9000', '10.2.1.2:9000', '10.2.2.1:9000', '10.2.2.2:9000', '10.2.3.1:9000', '10.2.3.2:9000']);
  await c.discovery.deleteNamespacedEndpointSlice({ name: 'big-2', namespace: NS });
  const after = await obs.until('4 endpoints', (x) => endpoints(x, `${NS}/big:p`)?.length === 4 && x);
  expect(endpoints(after, `${NS}/big:p`)).not.toContain('10.2.2.1:9000');
});

test("kube-proxy's label selectors: other proxies' Services and headless slices are never seen; a Service labelled headless is", async () => {
  await c.core.createNamespacedService({ namespace: NS, body: service(NS, 'other', '10.96.4.1', [{ name: 'p', port: 80 }], { 'service.kubernetes.io/service-proxy-name': 'someone-else' }) });
  await c.core.createNamespacedService({ namespace: NS, body: service(NS, 'mine', '10.96.4.2', [{ name: 'p', port: 80 }]) });
  // The headless label filters slices only: a Service with a cluster IP and that label is
  // proxied by kube-proxy v1.36 (its Service informer selects !service-proxy-name only).
  await c.core.createNamespacedService({ namespace: NS, body: service(NS, 'tagged', '10.96.4.3', [{ name: 'p', port: 80 }], { 'service.kubernetes.io/headless': '' }) });
  await c.discovery.createNamespacedEndpointSlice({ namespace: NS, body: slice(NS, 'mine-h', 'mine', [{ ip: '10.3.0.1' }], [{ name: 'p', port: 80 }], { labels: { 'service.kubernetes.io/headless': '' } }) });
  // The slice of another proxy's Service carries its label (the slice controller copies it): filtered too.
  await c.discovery.createNamespacedEndpointSlice({ namespace: NS, body: slice(NS, 'other-1', 'other', [{ ip: '10.3.0.9' }], [{ name: 'p', port: 80 }], { labels: { 'service.kubernetes.io/service-proxy-name': 'someone-else' } }) });
  await c.discovery.createNamespacedEndpointSlice({ namespace: NS, body: slice(NS, 'mine-1', 'mine', [{ ip: '10.3.0.2' }], [{ name: 'p', port: 80 }]) });
  await obs.until('mine with one endpoint', (x) => endpoints(x, `${NS}/mine:p`)?.length === 1);
  const names = (): string[] => [...layer.snapshot().services, ...layer.snapshot().endpointSlices].map((o) => o.metadata?.name ?? '');
  expect(names()).not.toContain('other');
  expect(names()).not.toContain('mine-h');
  expect(names()).not.toContain('other-1');
  await obs.until('the Service labelled headless', () => names().includes('tagged'));

  // Labelling a watched Service for another proxy makes it leave the selection.
  const mine = await c.core.readNamespacedService({ name: 'mine', namespace: NS });
  mine.metadata!.labels = { 'service.kubernetes.io/service-proxy-name': 'someone-else' };
  await c.core.replaceNamespacedService({ name: 'mine', namespace: NS, body: mine });
  await obs.until('mine dropped', (x) => port(x, `${NS}/mine:p`) === undefined);
});

test('this Node: label and address changes are reported as a node change', async () => {
  obs.build();
  obs.nodeChanged = false;
  const n = await c.core.readNode({ name: NODE });
  n.metadata!.labels = { ...n.metadata!.labels, 'topology.kubernetes.io/zone': 'z2' };
  await c.core.replaceNode({ name: NODE, body: n });
  await obs.until('zone z2', () => obs.nodeChanged && layer.snapshot().node?.metadata?.labels?.['topology.kubernetes.io/zone'] === 'z2');
  // Another node's change is not ours.
  obs.nodeChanged = false;
  const b = await c.core.readNode({ name: 'node-b' });
  b.metadata!.labels = { changed: 'yes' };
  await c.core.replaceNode({ name: 'node-b', body: b });
  await new Promise((r) => setTimeout(r, 500));
  obs.build();
  expect(obs.nodeChanged).toBe(false);
});

test('a change that is undone before the next apply disappears', async () => {
  await c.core.createNamespacedService({ namespace: NS, body: service(NS, 'flip', '10.96.5.1', [{ name: 'p', port: 80 }]) });
  await obs.until('flip', (x) => port(x, `${NS}/flip:p`));
  obs.take();
  const orig = await c.core.readNamespacedService({ name: 'flip', namespace: NS });
  const changed = structuredClone(orig);
  changed.spec!.ports![0]!.port = 81;
  const updated = await c.core.replaceNamespacedService({ name: 'flip', namespace: NS, body: changed });
  await eventually('the change pending', () => layer.pendingCount() > 0);
  updated.spec!.ports![0]!.port = 80;
  await c.core.replaceNamespacedService({ name: 'flip', namespace: NS, body: updated });
  await eventually('the undo cancelling it', () => layer.pendingCount() === 0);
  expect([...layer.apply().services]).toEqual([]);
});

test('malformed but API-valid objects are reported by the model, and nothing else suffers', async () => {
  await c.core.createNamespacedService({ namespace: NS, body: service(NS, 'odd', '10.96.6.1', [{ name: 'p', port: 80 }]) });
  // An FQDN slice (the API accepts it; kube-proxy cannot proxy to names).
  await c.discovery.createNamespacedEndpointSlice({ namespace: NS, body: slice(NS, 'odd-fqdn', 'odd', [{ ip: 'backend.example.com' }], [{ name: 'p', port: 80 }], { addressType: 'FQDN' }) });
  // A slice whose port name matches no Service port.
  await c.discovery.createNamespacedEndpointSlice({ namespace: NS, body: slice(NS, 'odd-port', 'odd', [{ ip: '10.4.0.1' }], [{ name: 'nope', port: 80 }]) });
  // A slice of a Service that does not exist.
  await c.discovery.createNamespacedEndpointSlice({ namespace: NS, body: slice(NS, 'ghost-1', 'ghost', [{ ip: '10.4.0.2' }], [{ name: 'p', port: 80 }]) });
  await c.core.createNamespacedService({ namespace: NS, body: service(NS, 'fine', '10.96.6.2', [{ name: 'p', port: 80 }]) });
  await c.discovery.createNamespacedEndpointSlice({ namespace: NS, body: slice(NS, 'fine-1', 'fine', [{ ip: '10.4.0.3' }], [{ name: 'p', port: 80 }]) });

  const m = await obs.until('all of them', (x) => endpoints(x, `${NS}/fine:p`)?.length === 1
    && layer.snapshot().endpointSlices.some((s) => s.metadata?.name === 'ghost-1') && x);
  const problems = m.problems.filter((p) => p.object.startsWith(`${NS}/`));
  expect(problems).toEqual(expect.arrayContaining([
    // kube-proxy ignores FQDN slices (not an error): reported as not proxied.
    expect.objectContaining({ kind: 'EndpointSlice', object: `${NS}/odd-fqdn`, effect: 'not-proxied' }),
    expect.objectContaining({ kind: 'EndpointSlice', object: `${NS}/ghost-1`, effect: 'skipped' }),
  ]));
  // The unknown port name: the Service gets no endpoints from that slice (kube-proxy too).
  expect(endpoints(m, `${NS}/odd:p`)).toEqual([]);
  expect(port(m, `${NS}/odd:p`)?.internalNoEndpoints).toBe('reject');
  expect(endpoints(m, `${NS}/fine:p`)).toEqual(['10.4.0.3:80']);
  expect(layer.status().every((s) => s.phase === 'watching' && s.restarts.error === 0)).toBe(true);
});

test('readLiveSnapshot lists the same objects once, through the same layer', async () => {
  const snap = await readLiveSnapshot({ kubeconfig: cluster.kubeconfigPath, nodeName: NODE, timeoutMs: 20_000 });
  obs.build();
  const names = (xs: readonly { metadata?: { namespace?: string; name?: string } }[]): string[] =>
    xs.map((o) => `${o.metadata?.namespace}/${o.metadata?.name}`).sort();
  expect(names(snap.services)).toEqual(names(layer.snapshot().services));
  expect(names(snap.endpointSlices)).toEqual(names(layer.snapshot().endpointSlices));
  expect(snap.node?.metadata?.name).toBe(NODE);
  expect(names(snap.services)).toContain('default/kubernetes');
});

test('readLiveSnapshot fails fast with the reason when it cannot read', async () => {
  const kc = cluster.kubeConfig();
  const bad = `${cluster.dir}/bad-kubeconfig`;
  const { writeFileSync, readFileSync } = await import('node:fs');
  writeFileSync(bad, readFileSync(cluster.kubeconfigPath, 'utf8').replace(/token: .*/, 'token: wrong'));
  const started = Date.now();
  await expect(readLiveSnapshot({ kubeconfig: bad, nodeName: NODE, timeoutMs: 20_000 })).rejects.toThrow(/401|Unauthorized/);
  expect(Date.now() - started).toBeLessThan(10_000);
  expect(kc.getCurrentCluster()?.server).toBe(cluster.server);
});

test('stop() is a shutdown, not a failure: no restart, no failure reported', async () => {
  const other = new WatchLayer(cluster.kubeConfig(), { nodeName: NODE, supervision: fast });
  const failures: string[] = [];
  other.onFailure((f) => failures.push(`${f.informer}: ${f.message}`));
  other.start();
  await other.waitForSync(20_000);
  await other.stop();
  await new Promise((r) => setTimeout(r, 1_500));   // past the first backoff delay
  expect(failures).toEqual([]);
  expect(other.status().map((s) => [s.phase, s.watches])).toEqual([['stopped', 1], ['stopped', 1], ['stopped', 1]]);
});

test('`kpx render` without -f reads the live cluster through the same sources', async () => {
  let stdout = '';
  let stderr = '';
  const io: CliIO = { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, readStdin: async () => '' };
  const code = await main(['render', '--backend', 'nftables', '--kubeconfig', cluster.kubeconfigPath, '--node-name', NODE], io);
  expect(code).toBe(0);
  // Earlier tests left bad objects behind: they are reported, one line each, and skipped.
  expect(stderr).toContain('kpx: skipped EndpointSlice watch/ghost-1: metadata.labels["kubernetes.io/service-name"]: Service watch/ghost does not exist');
  expect(stderr).not.toContain('odd-fqdn');
  expect(stderr.trim().split('\n').every((l) => l.startsWith('kpx: skipped '))).toBe(true);
  expect(stdout).toContain(`10.96.1.1 . tcp . 80 comment "${NS}/early:http" : goto internal`);
  expect(stdout).toMatch(/10\.96\.1\.1 \. tcp \. 80 \. 0 comment "[^"]*" : 10\.1\.0\.1 \. 8080/);
  expect(stdout).toMatch(/set nodeport-ips \{[^}]*elements = \{ 192\.168\.50\.10 \}/);

  const bad = await main(['render', '--backend', 'nftables', '--kubeconfig', '/nonexistent/kubeconfig', '--node-name', NODE], io);
  expect(bad).toBe(1);
});
