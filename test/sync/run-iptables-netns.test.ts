/**
 * `kpx run --proxy-mode iptables` for real, self-contained, in both flavours: a private
 * network namespace holds the control plane (etcd + kube-apiserver on its loopback) and
 * kpx, started as users do (`ip netns exec NS npx --no-install kpx run …`). Checks the
 * first sync, a change, drift repair after `iptables -t nat -F; -X` (the canary check
 * every sync period), foreign rules kept, and SIGTERM leaving the rules. The machine's
 * own namespace is never touched. Needs root, iptables, a built dist/ and kube-apiserver.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const NS = `kpxipt-${process.pid}`;
const NODE = 'node-a';
const dir = mkdtempSync(join(root, '.cache', 'run-ipt-netns-'));
let env: Record<string, string> = {};
let kpx: ChildProcess | undefined;
/** Every kpx started (each in its own process group), ended in afterAll whatever happened. */
const started: ChildProcess[] = [];
let logs = '';

async function inNs(cmd: string, args: string[]): Promise<string> {
  return (await exec('ip', ['netns', 'exec', NS, cmd, ...args], { maxBuffer: 1 << 26 })).stdout;
}

async function api(method: string, path: string, body?: unknown): Promise<unknown> {
  const out = await inNs('curl', ['-sS', '--fail-with-body', '--cacert', join(dir, 'pki', 'ca.crt'), '-H', `Authorization: Bearer ${env['token']}`,
    '-H', 'Content-Type: application/json', '-X', method, `https://127.0.0.1:${env['api_port']}${path}`,
    ...(body !== undefined ? ['--data-binary', JSON.stringify(body)] : [])]);
  return JSON.parse(out);
}

async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}\n--- kpx log ---\n${logs.slice(-4_000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const metric = async (name: string): Promise<number> => {
  const text = await inNs('curl', ['-sS', 'http://127.0.0.1:10249/metrics']);
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? NaN : Number(line.split(' ')[1]);
};

function svc(name: string, ip: string): unknown {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { clusterIP: ip, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] } };
}

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('run-iptables-netns.test.ts needs root (network namespaces)');
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) throw new Error('dist/ missing: run npm run build first');
  await exec('ip', ['netns', 'add', NS]);
  await exec('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
  await exec('ip', ['-n', NS, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0-peer']);
  await exec('ip', ['-n', NS, 'link', 'set', 'eth0-peer', 'up']);
  await exec('ip', ['-n', NS, 'addr', 'add', '192.168.77.10/24', 'dev', 'eth0']);
  await exec('ip', ['-n', NS, 'link', 'set', 'eth0', 'up']);
  await inNs('bash', [join(root, 'test', 'apiserver', 'cluster.sh'), 'up', dir]);
  env = Object.fromEntries(readFileSync(join(dir, 'env'), 'utf8').split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  await api('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: NODE }, status: { addresses: [{ type: 'InternalIP', address: '192.168.77.10' }] } });
  await api('POST', '/api/v1/namespaces/default/services', svc('web', '10.96.7.1'));
}, 30 * 60_000);

afterAll(async () => {
  for (const p of started) if (p.pid !== undefined && p.exitCode === null) { try { process.kill(-p.pid, 'SIGKILL'); } catch { /* gone */ } }
  await exec('bash', [join(root, 'test', 'apiserver', 'cluster.sh'), 'down', dir]).catch(() => undefined);
  await exec('ip', ['netns', 'del', NS]).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

// legacy first (by flag), then auto, which picks nft: nothing here made kubelet's chains.
test.each([['legacy', 'legacy'], ['auto', 'nft']] as const)('kpx run --iptables-flavour %s (%s): syncs, repairs a flushed nat table, SIGTERM leaves the rules', async (choice, flavour) => {
  const ipt = `iptables-${flavour}`;
  // Services here have no endpoints: their cluster IPs are REJECTed in filter KUBE-SERVICES.
  const nat = (): Promise<string> => inNs(`${ipt}-save`, []);
  // A foreign rule and chain that kpx must leave alone.
  await inNs(ipt, ['-w', '5', '-t', 'nat', '-N', 'CNI-HOSTPORT']);
  await inNs(ipt, ['-w', '5', '-t', 'nat', '-A', 'PREROUTING', '-j', 'CNI-HOSTPORT']);
  logs = '';
  kpx = spawn('ip', ['netns', 'exec', NS, 'npx', '--no-install', 'kpx', 'run', '--kubeconfig', join(dir, 'kubeconfig'),
    '--hostname-override', NODE, '--proxy-mode', 'iptables', '--iptables-flavour', choice, '--cluster-cidr', '10.244.0.0/16',
    '--min-sync-period', '100ms', '--sync-period', '1s', '--conntrack-max-per-core=0'], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  started.push(kpx);
  kpx.stderr!.setEncoding('utf8').on('data', (d: string) => { logs += d; });
  const exited = new Promise((resolve) => kpx!.on('exit', (code, signal) => resolve(code ?? `signal ${signal}`)));
  try {

  // The jumps from the built-in chains are ensured after the restore: wait for the last one.
  await until('the first sync', async () => { const t = await nat(); return t.includes('-d 10.96.7.1/32') && /^-A INPUT .*-j KUBE-PROXY-FIREWALL$/m.test(t); }, 60_000);
  expect(logs).toContain(`"flavour":"${flavour}"`);
  const first = await nat();
  expect(first).toMatch(/^-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES$/m);
  expect(first).toMatch(/^-A KUBE-SERVICES -d 10\.96\.7\.1\/32 -p tcp -m comment --comment "default\/web:http has no endpoints" -m tcp --dport 80 -j REJECT/m);
  expect(first).toMatch(/^-A PREROUTING -j CNI-HOSTPORT$/m);
  expect(first).toMatch(/^:KUBE-PROXY-CANARY /m);

  const name = `api-${choice}`;
  const ip = choice === 'legacy' ? '10.96.7.2' : '10.96.7.3';
  await api('POST', '/api/v1/namespaces/default/services', svc(name, ip));
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
  await until('kpx to have stopped', async () => logs.includes('"msg":"stopped"'), 10_000);
  const comments = (t: string): string => t.replace(/^# .*$/gm, '').replace(/\[\d+:\d+\]/g, '[0:0]');
  expect(comments(await nat())).toBe(comments(before));
  } finally {
    if (kpx.pid !== undefined && kpx.exitCode === null) { try { process.kill(-kpx.pid, 'SIGKILL'); } catch { /* gone */ } }
  }
}, 120_000);
