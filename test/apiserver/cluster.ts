/**
 * A real Kubernetes API server for tests: etcd + kube-apiserver on 127.0.0.1, started by
 * cluster.sh (the same script `npm run cluster:up` uses), stopped by `stop()`.
 *
 *   const cluster = await startCluster();
 *   afterAll(() => cluster.stop());
 *
 * kube-apiserver is built from test/apiserver/go.mod on first use (minutes, once; then
 * cached in .cache/bin). Clusters live in .cache/clusters/<id>/ (logs, kubeconfig); a
 * cluster left behind by a test process that died is stopped by the next startCluster().
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';

const run = promisify(execFile);
const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '..', '..');
const script = join(here, 'cluster.sh');
const clustersDir = join(root, '.cache', 'clusters');

export interface StartOptions {
  /** kube-apiserver's --watch-cache (default true). false: every watch is served by etcd. */
  readonly watchCache?: boolean;
}

export interface TestCluster {
  /** The cluster's folder: kubeconfig, logs, pki. */
  readonly dir: string;
  readonly kubeconfigPath: string;
  /** https://127.0.0.1:PORT */
  readonly server: string;
  /** A fresh client-node KubeConfig for this cluster (optionally with another server URL). */
  kubeConfig(server?: string): KubeConfig;
  /** Stops kube-apiserver and etcd; safe to call twice. */
  stop(): Promise<void>;
  /** SIGSTOP kube-apiserver: connections stay open, nothing answers. */
  freeze(): void;
  /** SIGCONT kube-apiserver. */
  thaw(): void;
  /** Stops kube-apiserver and starts it again (same port, flags, etcd); resolves when ready. */
  restartApiServer(): Promise<void>;
  /** Compacts etcd's history up to its current revision; returns that revision. */
  compact(): Promise<number>;
}

const live = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test run that ends without stop() (a crash, a timeout) must not leave servers behind.
  process.on('exit', () => {
    for (const dir of live) spawnSync('bash', [script, 'down', dir], { stdio: 'ignore' });
  });
}

function isAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/** Stops clusters whose owning test process has died (by their pid files only). */
async function reapOrphans(): Promise<void> {
  if (!existsSync(clustersDir)) return;
  for (const name of readdirSync(clustersDir)) {
    const dir = join(clustersDir, name);
    const ownerFile = join(dir, 'owner.pid');
    if (!existsSync(ownerFile)) continue;
    const owner = Number(readFileSync(ownerFile, 'utf8').trim());
    if (owner === process.pid || (owner > 0 && isAlive(owner))) continue;
    await run('bash', [script, 'down', dir]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

function readEnv(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(join(dir, 'env'), 'utf8').split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

function pidOf(dir: string, name: string): number {
  return Number(readFileSync(join(dir, `${name}.pid`), 'utf8').trim());
}

async function clusterSh(args: string[]): Promise<string> {
  try {
    const { stdout } = await run('bash', [script, ...args], { maxBuffer: 1 << 24, timeout: 30 * 60_000 });
    return stdout.trim();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`cluster.sh ${args.join(' ')} failed:\n${e.stderr ?? e.message}\n` +
      'The API server is built with: bash test/apiserver/build.sh (needs Go; etcd from apt-get install etcd-server)');
  }
}

export async function startCluster(options: StartOptions = {}): Promise<TestCluster> {
  installExitHook();
  await reapOrphans();
  mkdirSync(clustersDir, { recursive: true });
  const dir = mkdtempSync(join(clustersDir, 'c-'));
  writeFileSync(join(dir, 'owner.pid'), `${process.pid}\n`);
  live.add(dir);
  let kubeconfigPath: string;
  try {
    kubeconfigPath = await clusterSh(['up', dir, ...(options.watchCache === false ? ['--no-watch-cache'] : [])]);
  } catch (err) {
    await clusterSh(['down', dir]).catch(() => undefined);
    live.delete(dir);
    throw err;
  }
  const env = readEnv(dir);
  const server = `https://127.0.0.1:${env['api_port']}`;
  const etcd = `http://127.0.0.1:${env['etcd_port']}`;
  let stopped = false;

  const etcdCall = async (path: string, body: unknown): Promise<Record<string, unknown>> => {
    const res = await fetch(`${etcd}${path}`, { method: 'POST', body: JSON.stringify(body) });
    const json = await res.json() as Record<string, unknown>;
    if (!res.ok) throw new Error(`etcd ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };

  return {
    dir,
    kubeconfigPath,
    server,
    kubeConfig(override?: string): KubeConfig {
      const kc = new KubeConfig();
      kc.loadFromFile(kubeconfigPath);
      if (override === undefined) return kc;
      const cluster = kc.getCurrentCluster()!;
      const user = kc.getCurrentUser()!;
      const out = new KubeConfig();
      out.loadFromOptions({
        clusters: [{ ...cluster, server: override }],
        users: [user],
        contexts: [{ name: 'ctx', cluster: cluster.name, user: user.name }],
        currentContext: 'ctx',
      });
      return out;
    },
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      await clusterSh(['down', dir]);
      live.delete(dir);
      if (!process.env['KPX_KEEP_CLUSTER']) rmSync(dir, { recursive: true, force: true });
    },
    freeze(): void {
      process.kill(pidOf(dir, 'apiserver'), 'SIGSTOP');
    },
    thaw(): void {
      process.kill(pidOf(dir, 'apiserver'), 'SIGCONT');
    },
    async restartApiServer(): Promise<void> {
      await clusterSh(['restart-apiserver', dir]);
    },
    async compact(): Promise<number> {
      // etcd's JSON gateway: any range answers with the current revision in its header.
      const range = await etcdCall('/v3/kv/range', { key: Buffer.from('/registry/').toString('base64'), limit: 1 });
      const revision = Number((range['header'] as { revision?: string } | undefined)?.revision);
      if (!Number.isFinite(revision) || revision <= 0) throw new Error(`etcd: no revision in ${JSON.stringify(range)}`);
      await etcdCall('/v3/kv/compaction', { revision: String(revision), physical: true });
      return revision;
    },
  };
}
