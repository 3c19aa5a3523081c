/**
 * etcd + kube-apiserver inside the control-plane namespace (test/apiserver/cluster.sh run
 * with `ip netns exec`, `--listen-address`), reachable
 *  - from the node namespace at https://10.102.0.2:PORT (a real socket: when the API
 *    server is stopped, the proxy sees connections refused, as on a real node);
 *  - from this test process through a Unix socket relay (relay.mjs in the namespace) and
 *    a local TCP listener on 127.0.0.1 in front of it (TLS passes through; the
 *    certificate names 127.0.0.1).
 * The cluster folder is in .cache/clusters with an owner.pid, so a cluster left behind by
 * a dead test process is stopped by the next test that starts one (here or cluster.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, DiscoveryV1Api, KubeConfig } from '@kubernetes/client-node';
import { run } from '../kernel/harness.js';
import { E2E } from './topology.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const CLUSTER_SH = join(ROOT, 'test', 'apiserver', 'cluster.sh');
const RELAY = join(HERE, 'relay.mjs');

export interface Api {
  readonly core: CoreV1Api;
  readonly discovery: DiscoveryV1Api;
}

async function clusterSh(args: readonly string[], ns?: string): Promise<string> {
  const cmd = ns === undefined ? ['bash', CLUSTER_SH, ...args] : ['ip', 'netns', 'exec', ns, 'bash', CLUSTER_SH, ...args];
  const r = await run(cmd[0]!, cmd.slice(1));
  if (r.code !== 0) {
    throw new Error(`cluster.sh ${args.join(' ')} exited ${r.code}:\n${r.stderr}\n` +
      'kube-apiserver comes from: bash test/apiserver/build.sh (needs Go; etcd: apt-get install etcd-server)');
  }
  return r.stdout.trim();
}

export class ControlPlane {
  private relayChild?: ChildProcess;
  private local?: Server;
  private readonly sockets = new Set<Socket>();
  private stopped = false;
  /** For the proxy in the node namespace. */
  readonly nodeKubeconfig: string;
  /** The test's own clients (through the relay). */
  api!: Api;

  private constructor(readonly dir: string, private readonly ns: string) {
    this.nodeKubeconfig = join(dir, 'kubeconfig-listen');
  }

  static async start(ns: string, id: string): Promise<ControlPlane> {
    const dir = join(ROOT, '.cache', 'clusters', `e2e-${id}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'owner.pid'), `${process.pid}\n`);
    const cp = new ControlPlane(dir, ns);
    try {
      await clusterSh(['up', dir, '--listen-address', E2E.apiServerIP], ns);
      await cp.connect();
    } catch (err) {
      await cp.stop().catch(() => undefined);
      throw err;
    }
    return cp;
  }

  get apiPort(): number {
    const m = /^api_port=(\d+)$/m.exec(readFileSync(join(this.dir, 'env'), 'utf8'));
    if (!m) throw new Error(`no api_port in ${this.dir}/env`);
    return Number(m[1]);
  }

  private async connect(): Promise<void> {
    const sock = join(this.dir, 'api.sock');
    const child = spawn('ip', ['netns', 'exec', this.ns, process.execPath, RELAY, sock, '127.0.0.1', String(this.apiPort)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.relayChild = child;
    await new Promise<void>((resolve, reject) => {
      let err = '';
      child.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
      child.stdout!.setEncoding('utf8').on('data', (d: string) => { if (d.includes('ready')) resolve(); });
      child.on('exit', (code) => reject(new Error(`relay exited ${code}: ${err}`)));
    });
    this.local = createServer((c) => {
      const u = createConnection(sock);
      this.sockets.add(c);
      const drop = (): void => { this.sockets.delete(c); c.destroy(); u.destroy(); };
      c.on('error', drop).on('close', drop);
      u.on('error', drop).on('close', drop);
      c.pipe(u);
      u.pipe(c);
    });
    await new Promise<void>((resolve) => this.local!.listen(0, '127.0.0.1', resolve));
    const addr = this.local.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
    const kc = this.kubeConfig(`https://127.0.0.1:${port}`);
    this.api = { core: kc.makeApiClient(CoreV1Api), discovery: kc.makeApiClient(DiscoveryV1Api) };
  }

  private kubeConfig(server: string): KubeConfig {
    const base = new KubeConfig();
    base.loadFromFile(join(this.dir, 'kubeconfig'));
    const cluster = base.getCurrentCluster()!;
    const user = base.getCurrentUser()!;
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ ...cluster, server }], users: [user],
      contexts: [{ name: 'e2e', cluster: cluster.name, user: user.name }], currentContext: 'e2e',
    });
    return kc;
  }

  /** Stops kube-apiserver (etcd keeps its data). */
  async stopApiServer(): Promise<void> {
    await clusterSh(['stop-apiserver', this.dir]);
  }

  /** Starts kube-apiserver again; resolves once /readyz answers. */
  async startApiServer(): Promise<void> {
    await clusterSh(['start-apiserver', this.dir], this.ns);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.local ? this.local.close(() => resolve()) : resolve()));
    if (this.relayChild?.pid !== undefined && this.relayChild.exitCode === null) this.relayChild.kill('SIGKILL');
    await clusterSh(['down', this.dir]).catch(() => undefined);
    if (!process.env['KPX_KEEP_CLUSTER']) rmSync(this.dir, { recursive: true, force: true });
  }
}
