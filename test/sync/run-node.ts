/**
 * A private node namespace for `kpx run` tests (run-netns, run-iptables-netns): a veth
 * address 192.168.77.10 with both ends inside, the control plane (test/apiserver/cluster.sh:
 * etcd + kube-apiserver on its loopback), and the helpers those tests share — commands in
 * the namespace, API calls with curl, polling with kpx's log on timeout, /metrics values.
 * The machine's own namespace is never touched.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const exec = promisify(execFile);
export const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
export const NODE_ADDRESS = '192.168.77.10';

export class RunNode {
  readonly ns: string;
  readonly dir: string;
  /** cluster.sh's env file: token, api_port. */
  env: Record<string, string> = {};
  /** kpx's stderr, appended by the test; the tail is printed when `until` times out. */
  logs = '';

  constructor(prefix: string, private readonly pollMs = 50) {
    this.ns = `${prefix}-${process.pid}`;
    this.dir = mkdtempSync(join(root, '.cache', `${prefix}-`));
  }

  readonly inNs = async (cmd: string, args: string[], input?: string): Promise<string> => {
    const p = exec('ip', ['netns', 'exec', this.ns, cmd, ...args], { maxBuffer: 1 << 26 });
    if (input !== undefined) p.child.stdin?.end(input);
    return (await p).stdout;
  };

  readonly api = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const out = await this.inNs('curl', ['-sS', '--fail-with-body', '--cacert', join(this.dir, 'pki', 'ca.crt'), '-H', `Authorization: Bearer ${this.env['token']}`,
      '-H', 'Content-Type: application/json', '-X', method, `https://127.0.0.1:${this.env['api_port']}${path}`,
      ...(body !== undefined ? ['--data-binary', JSON.stringify(body)] : [])]);
    return JSON.parse(out);
  };

  readonly until = async <T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> => {
    const start = Date.now();
    for (;;) {
      const v = await check().catch(() => undefined);
      if (v !== undefined && v !== false) return v;
      if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}\n--- kpx log ---\n${this.logs.slice(-4_000)}`);
      await new Promise((r) => setTimeout(r, this.pollMs));
    }
  };

  /** A value from kpx's /metrics on 127.0.0.1:10249 (NaN when absent). */
  readonly metric = async (name: string): Promise<number> => {
    const text = await this.inNs('curl', ['-sS', 'http://127.0.0.1:10249/metrics']);
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line === undefined ? NaN : Number(line.split(' ')[1]);
  };

  /** Namespace, node address and control plane; `test` names the test file in errors. */
  async setUp(test: string): Promise<void> {
    if (process.getuid?.() !== 0) throw new Error(`${test} needs root (network namespaces)`);
    if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) throw new Error('dist/ missing: run npm run build first');
    await exec('ip', ['netns', 'add', this.ns]);
    await exec('ip', ['-n', this.ns, 'link', 'set', 'lo', 'up']);
    // A node address: a veth pair with both ends inside the namespace.
    await exec('ip', ['-n', this.ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0-peer']);
    await exec('ip', ['-n', this.ns, 'link', 'set', 'eth0-peer', 'up']);
    await exec('ip', ['-n', this.ns, 'addr', 'add', `${NODE_ADDRESS}/24`, 'dev', 'eth0']);
    await exec('ip', ['-n', this.ns, 'link', 'set', 'eth0', 'up']);
    await this.inNs('bash', [join(root, 'test', 'apiserver', 'cluster.sh'), 'up', this.dir]);
    this.env = Object.fromEntries(readFileSync(join(this.dir, 'env'), 'utf8').split('\n').filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  }

  /** Control plane down, namespace and folder removed (whatever state they are in). */
  async tearDown(): Promise<void> {
    await exec('bash', [join(root, 'test', 'apiserver', 'cluster.sh'), 'down', this.dir]).catch(() => undefined);
    await exec('ip', ['netns', 'del', this.ns]).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A one-port TCP ClusterIP Service in `default`. */
export function clusterIPService(name: string, ip: string): unknown {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { clusterIP: ip, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] } };
}
