/**
 * `kpx run --proxy-mode iptables` for real, self-contained, in both flavours: a private
 * network namespace holds the control plane (etcd + kube-apiserver on its loopback) and
 * kpx, started as users do (`ip netns exec NS npx --no-install kpx run …`). Checks the
 * first sync, a change, drift repair after `iptables -t nat -F; -X` (the canary check
 * every sync period), foreign rules kept, and SIGTERM leaving the rules. The machine's
 * own namespace is never touched. Needs root, iptables, a built dist/ and kube-apiserver.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { RunNode, clusterIPService, root } from './run-node.js';

const node = new RunNode('kpxipt', 100);
const { inNs, api, until, metric } = node;
const NS = node.ns;
const dir = node.dir;
const NODE = 'node-a';
let kpx: ChildProcess | undefined;
/** Every kpx started (each in its own process group), ended in afterAll whatever happened. */
const started: ChildProcess[] = [];


beforeAll(async () => {
  await node.setUp('run-iptables-netns.test.ts');
  await api('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: NODE }, status: { addresses: [{ type: 'InternalIP', address: '192.168.77.10' }] } });
  await api('POST', '/api/v1/namespaces/default/services', clusterIPService('web', '10.96.7.1'));
}, 30 * 60_000);

afterAll(async () => {
  for (const p of started) if (p.pid !== undefined && p.exitCode === null) { try { process.kill(-p.pid, 'SIGKILL'); } catch { /* gone */ } }
  await node.tearDown();
}, 60_000);

// legacy first (by flag), then auto, which picks nft: nothing here made kubelet's chains.
test.each([['legacy', 'legacy'], ['auto', 'nft']] as const)('kpx run --iptables-flavour %s (%s): syncs, repairs a flushed nat table, SIGTERM leaves the rules', async (choice, flavour) => {
  const ipt = `iptables-${flavour}`;
  // Services here have no endpoints: their cluster IPs are REJECTed in filter KUBE-SERVICES.
  const nat = (): Promise<string> => inNs(`${ipt}-save`, []);
  // A foreign rule and chain that kpx must leave alone.
  await inNs(ipt, ['-w', '5', '-t', 'nat', '-N', 'CNI-HOSTPORT']);
  await inNs(ipt, ['-w', '5', '-t', 'nat', '-A', 'PREROUTING', '-j', 'CNI-HOSTPORT']);
  node.logs = '';
  kpx = spawn('ip', ['netns', 'exec', NS, 'npx', '--no-install', 'kpx', 'run', '--kubeconfig', join(dir, 'kubeconfig'),
    '--hostname-override', NODE, '--proxy-mode', 'iptables', '--iptables-flavour', choice, '--cluster-cidr', '10.244.0.0/16',
    '--min-sync-period', '100ms', '--sync-period', '1s', '--conntrack-max-per-core=0'], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  started.push(kpx);
  kpx.stderr!.setEncoding('utf8').on('data', (d: string) => { node.logs += d; });
  const exited = new Promise((resolve) => kpx!.on('exit', (code, signal) => resolve(code ?? `signal ${signal}`)));
  try {

  // The jumps from the built-in chains are ensured after the restore: wait for the last one.
  await until('the first sync', async () => { const t = await nat(); return t.includes('-d 10.96.7.1/32') && /^-A INPUT .*-j KUBE-PROXY-FIREWALL$/m.test(t); }, 60_000);
  expect(node.logs).toContain(`"flavour":"${flavour}"`);
  const first = await nat();
  expect(first).toMatch(/^-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES$/m);
  expect(first).toMatch(/^-A KUBE-SERVICES -d 10\.96\.7\.1\/32 -p tcp -m comment --comment "default\/web:http has no endpoints" -m tcp --dport 80 -j REJECT/m);
  expect(first).toMatch(/^-A PREROUTING -j CNI-HOSTPORT$/m);
  expect(first).toMatch(/^:KUBE-PROXY-CANARY /m);

  const name = `api-${choice}`;
  const ip = choice === 'legacy' ? '10.96.7.2' : '10.96.7.3';
  await api('POST', '/api/v1/namespaces/default/services', clusterIPService(name, ip));
  await until('the new Service', async () => (await nat()).includes(`-d ${ip}/32`), 5_000);
  const drifts = await metric('kpx_drift_repairs_total');

  // Drift: the nat table flushed and its chains deleted; the canary check (every sync
  // period, 1 s here) notices, and a full sync puts everything back.
  const flushedAt = Date.now();
  await inNs(ipt, ['-w', '5', '-t', 'nat', '-F']);
  await inNs(ipt, ['-w', '5', '-t', 'nat', '-X']);
  await until('the repair', async () => { const t = await nat(); return t.includes(`-d ${ip}/32`) && /^-A PREROUTING .* -j KUBE-SERVICES$/m.test(t); }, 5_000);
  process.stderr.write(`run-iptables-netns (${flavour}): nat flush repaired after ${Date.now() - flushedAt} ms\n`);
  expect(await metric('kpx_drift_repairs_total')).toBe(drifts + 1);

  const before = await nat();
  kpx.kill('SIGTERM');
  expect([0, 'signal SIGTERM']).toContain(await exited);
  await until('kpx to have stopped', async () => node.logs.includes('"msg":"stopped"'), 10_000);
  const comments = (t: string): string => t.replace(/^# .*$/gm, '').replace(/\[\d+:\d+\]/g, '[0:0]');
  expect(comments(await nat())).toBe(comments(before));
  } finally {
    if (kpx.pid !== undefined && kpx.exitCode === null) { try { process.kill(-kpx.pid, 'SIGKILL'); } catch { /* gone */ } }
  }
}, 120_000);
