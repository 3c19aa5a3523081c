/**
 * `kpx run` for real, self-contained: a private network namespace holds the control
 * plane (etcd + kube-apiserver on its own loopback, started by cluster.sh inside it) and
 * kpx, started exactly as users do (`ip netns exec NS npx --no-install kpx run …`). The
 * machine's own namespace is never touched; the namespace is deleted at the end, also
 * on failure. Needs root, nft, a built dist/ (npm run build) and kube-apiserver.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunNode, clusterIPService, root } from './run-node.js';

const node = new RunNode('kpxrun');
const { inNs, api, until, metric } = node;
const NS = node.ns;
const dir = node.dir;
const NODE = 'node-a';
let kpx: ChildProcess | undefined;
let kpxExit: Promise<number | string> | undefined;
const serviceIPs = (): Promise<string> => inNs('nft', ['list', 'set', 'ip', 'kube-proxy', 'cluster-ips']);


beforeAll(async () => {
  await node.setUp('run-netns.test.ts');
  // Rules a previous kpx or kube-proxy left behind: they must keep working until the
  // first sync replaces them (never a flush at start).
  await inNs('nft', ['-f', '-'], 'add table ip kube-proxy\nadd chain ip kube-proxy left-by-previous-proxy\n');
}, 30 * 60_000);

afterAll(async () => {
  // kpx runs in its own process group (npx → node → nft monitor): end all of it.
  if (kpx?.pid !== undefined && kpx.exitCode === null) { try { process.kill(-kpx.pid, 'SIGKILL'); } catch { /* gone */ } }
  await node.tearDown();
}, 60_000);

test('kpx run: waits for its Node, replaces old rules atomically, repairs drift, SIGTERM leaves the rules', async () => {
  await api('POST', '/api/v1/namespaces/default/services', clusterIPService('web', '10.96.7.1'));
  kpx = spawn('ip', ['netns', 'exec', NS, 'npx', '--no-install', 'kpx', 'run', '--kubeconfig', join(dir, 'kubeconfig'),
    '--hostname-override', NODE, '--proxy-mode', 'nftables', '--cluster-cidr', '10.244.0.0/16',
    '--min-sync-period', '100ms', '--conntrack-max-per-core=0'], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  kpx.stderr!.setEncoding('utf8').on('data', (d: string) => { node.logs += d; });
  kpxExit = new Promise((resolve) => kpx!.on('exit', (code, signal) => resolve(code ?? `signal ${signal}`)));

  // Listed, but no Node yet: nothing is programmed, the old rules stay.
  await until('the wait for the Node to be logged', async () => node.logs.includes(`Node \\"${NODE}\\" does not exist yet`) || node.logs.includes(`Node "${NODE}" does not exist yet`));
  await new Promise((r) => setTimeout(r, 500));
  expect(await inNs('nft', ['list', 'table', 'ip', 'kube-proxy'])).toContain('left-by-previous-proxy');

  await api('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: NODE }, status: { addresses: [{ type: 'InternalIP', address: '192.168.77.10' }] } });
  await until('the first sync', async () => (await serviceIPs()).includes('10.96.7.1'));
  expect(await inNs('nft', ['list', 'table', 'ip', 'kube-proxy'])).not.toContain('left-by-previous-proxy');

  // Health and metrics, from inside the namespace.
  const health = JSON.parse(await inNs('curl', ['-sS', 'http://127.0.0.1:10256/healthz'])) as Record<string, unknown>;
  expect(health).toMatchObject({ healthy: true, nodeEligible: true });
  expect(await metric('kubeproxy_sync_proxy_rules_last_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 60);

  // A change arrives; kpx's own applies are never taken for drift.
  await api('POST', '/api/v1/namespaces/default/services', clusterIPService('api', '10.96.7.2'));
  await until('the second Service', async () => (await serviceIPs()).includes('10.96.7.2'));
  await new Promise((r) => setTimeout(r, 500));
  expect(await metric('kpx_drift_repairs_total')).toBe(0);

  // Drift: someone flushes the ruleset; kpx notices and repairs within 2 s.
  const flushedAt = Date.now();
  await inNs('nft', ['flush', 'ruleset']);
  await until('the repair', async () => (await serviceIPs()).includes('10.96.7.2'), 2_000);
  const repairMs = Date.now() - flushedAt;
  process.stderr.write(`run-netns: nft flush ruleset repaired after ${repairMs} ms\n`);
  expect(await metric('kpx_drift_repairs_total')).toBe(1);

  // One element deleted behind kpx's back.
  await inNs('nft', ['delete', 'element', 'ip', 'kube-proxy', 'cluster-ips', '{ 10.96.7.1 }']);
  await until('the element back', async () => (await serviceIPs()).includes('10.96.7.1'), 2_000);
  expect(await metric('kpx_drift_repairs_total')).toBe(2);

  // The API server goes away for 5 s; the rules keep working, and the first change after
  // it is back reaches the kernel quickly (informers retry every ~1 s).
  const apiPid = Number(readFileSync(join(dir, 'apiserver.pid'), 'utf8').trim());
  process.kill(apiPid, 'SIGKILL');
  const gone = (): boolean => { try { return /State:\s+Z/.test(readFileSync(`/proc/${apiPid}/status`, 'utf8')); } catch { return true; } };
  await until('the API server gone', async () => gone(), 10_000);
  await new Promise((r) => setTimeout(r, 5_000));
  expect(await serviceIPs()).toContain('10.96.7.2');
  await inNs('bash', [join(root, 'test', 'apiserver', 'cluster.sh'), 'up', dir]);
  const backAt = Date.now();
  await api('POST', '/api/v1/namespaces/default/services', clusterIPService('after-outage', '10.96.7.3'));
  await until('the change after the outage', async () => (await serviceIPs()).includes('10.96.7.3'), 5_000);
  process.stderr.write(`run-netns: first change after the API server returned in the kernel after ${Date.now() - backAt} ms\n`);
  expect(Date.now() - backAt).toBeLessThan(2_500);

  // SIGTERM: exit 0, rules untouched.
  const before = await inNs('nft', ['list', 'table', 'ip', 'kube-proxy']);
  kpx.kill('SIGTERM');
  const code = await kpxExit;
  // kpx exits 0; npm (npx) itself re-raises a SIGTERM it received, so accept that too.
  expect([0, 'signal SIGTERM']).toContain(code);
  await until('kpx to have stopped', async () => node.logs.includes('"msg":"stopped"'), 10_000);
  expect(await inNs('nft', ['list', 'table', 'ip', 'kube-proxy'])).toBe(before);
  expect(node.logs).toContain('kernel rules are left in place');
}, 120_000);
