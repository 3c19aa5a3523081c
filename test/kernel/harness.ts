/**
 * Real-kernel, real-packet harness: private network namespaces linked by veth to each
 * other only, nft rules applied inside the node namespace, echo servers on endpoint
 * addresses, and a batch probe client. The machine's own namespace is never touched:
 * every `ip` command runs with `-n`/`netns exec` on a namespace this harness created,
 * and veth peers are created directly inside their target namespace.
 *
 * Topology and address plan: ./topology.ts and ./README.md; the commands: ./plan.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { namespaceFor, namespaceNames, namespaceOf, topologyPlan, type Namespaces } from './plan.js';
import { POD_HOSTS, clientAddress, familyOf, localPodIP, type From } from './topology.js';

export type Proto = 'tcp' | 'udp';

/** One probe's outcome; `client`: which client of the case sent it (groups.ts), 0 by default. */
export type ProbeResult = (
  | { readonly kind: 'answer'; readonly endpoint: string; readonly peerSeen: string }
  | { readonly kind: 'refused' }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'error'; readonly code: string }
) & { readonly client?: number };

export interface Probe {
  readonly proto: Proto;
  readonly dst: string;
  readonly dport: number;
  readonly timeoutMs?: number;
}

/** Probes sent by one client; `concurrency: 1` sends them strictly one after another. */
export interface ProbeGroup {
  readonly id: string;
  readonly from: From;
  /** Which client address of `from` sends (topology.ts `clientAddress`); default 0. */
  readonly client?: number;
  readonly concurrency: number;
  readonly probes: readonly Probe[];
}

export interface ServerSpec {
  readonly ip: string;
  readonly port: number;
  readonly proto: Proto;
}

export interface HarnessOptions {
  /** Namespace name prefix; default `kpx-<pid>-<n>`. Must match LEFTOVER_PATTERN to be cleaned up later. */
  readonly prefix?: string;
  /** Log every command to stderr. */
  readonly verbose?: boolean;
}

const HERE = dirname(fileURLToPath(import.meta.url));
const ECHO_SERVER = join(HERE, 'echo-server.mjs');
const PROBE_CLIENT = join(HERE, 'probe-client.mjs');
/** Namespaces of a harness run: kpx-<pid>-<n>-<role>. */
const LEFTOVER_PATTERN = /^kpx-(\d+)-\d+-[a-z0-9]+$/;
const DEFAULT_TIMEOUT_MS = 1500;
let instances = 0;

export interface RunResult { readonly code: number; readonly stdout: string; readonly stderr: string }

/** Runs a command to completion; never uses a shell on the caller's arguments. */
export function run(cmd: string, args: readonly string[], input?: string, cwd?: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...(cwd !== undefined ? { cwd } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.on('error', () => { /* the command may exit before reading everything */ });
    child.stdin.end(input ?? '');
  });
}

async function mustRun(cmd: string, args: readonly string[], input?: string): Promise<string> {
  const r = await run(cmd, args, input);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}\n${r.stderr}${r.stdout}`);
  }
  return r.stdout;
}

/** Fails loudly (never skips) when the tools or privileges the kernel tests need are missing. */
export async function checkPrerequisites(): Promise<void> {
  const missing: string[] = [];
  for (const [tool, args, pkg] of [
    ['ip', ['-V'], 'iproute2'],
    ['nft', ['--version'], 'nftables'],
    ['conntrack', ['--version'], 'conntrack'],
    ['sysctl', ['--version'], 'procps'],
    ['iptables', ['--version'], 'iptables'],
  ] as const) {
    try {
      const r = await run(tool, args);
      if (r.code !== 0) missing.push(`${tool} (${pkg}): exit ${r.code}`);
    } catch {
      missing.push(`${tool} (package ${pkg})`);
    }
  }
  if (missing.length > 0) {
    throw new Error(
      `kernel tests need: ${missing.join(', ')}.\n` +
        'Install them, e.g. `apt-get install -y iproute2 nftables conntrack procps iptables`, and run as root.',
    );
  }
  if (process.getuid?.() !== 0) {
    throw new Error('kernel tests must run as root (they create network namespaces with `ip netns add`).');
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function listNamespaces(): Promise<string[]> {
  const out = await mustRun('ip', ['netns', 'list']);
  return out.split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n !== '');
}

async function killNamespaceProcesses(ns: string): Promise<void> {
  const r = await run('ip', ['netns', 'pids', ns]);
  for (const pid of r.stdout.split(/\s+/).filter((p) => p !== '').map(Number)) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
}

async function deleteNamespace(ns: string): Promise<void> {
  await killNamespaceProcesses(ns);
  const r = await run('ip', ['netns', 'del', ns]);
  if (r.code !== 0 && !/No such file/.test(r.stderr)) {
    throw new Error(`ip netns del ${ns}: ${r.stderr}`);
  }
}

/** Deletes namespaces left behind by harness runs whose process no longer exists. */
export async function cleanupLeftovers(): Promise<string[]> {
  const removed: string[] = [];
  for (const ns of await listNamespaces()) {
    const m = LEFTOVER_PATTERN.exec(ns);
    if (!m || pidAlive(Number(m[1]))) continue;
    await deleteNamespace(ns);
    removed.push(ns);
  }
  return removed;
}

export class KernelHarness {
  readonly prefix: string;
  readonly node: string;
  readonly remote: string;
  readonly external: string;
  readonly client: string;
  /** Local endpoint pods: IPv4 address → namespace. */
  readonly pods: ReadonlyMap<string, string>;

  private readonly names: Namespaces;
  private readonly created: string[] = [];
  private readonly servers: ChildProcess[] = [];
  private readonly verbose: boolean;
  private disposed = false;

  private constructor(options: HarnessOptions) {
    this.prefix = options.prefix ?? `kpx-${process.pid}-${instances++}`;
    this.verbose = options.verbose ?? false;
    this.names = namespaceNames(this.prefix);
    this.node = this.names.node;
    this.remote = this.names.remote;
    this.external = this.names.external;
    this.client = this.names.client;
    this.pods = new Map(POD_HOSTS.map((h) => [localPodIP(h, 'ipv4'), this.names.pod(h)]));
  }

  /** Builds the whole topology; on any failure deletes what was made and rethrows. */
  static async create(options: HarnessOptions = {}): Promise<KernelHarness> {
    await checkPrerequisites();
    await cleanupLeftovers();
    const h = new KernelHarness(options);
    try {
      await h.build();
    } catch (err) {
      await h.dispose();
      throw err;
    }
    return h;
  }

  private async sh(ns: string, script: string): Promise<void> {
    if (this.verbose) process.stderr.write(`[${ns}]\n${script}\n`);
    await mustRun('ip', ['netns', 'exec', ns, 'sh', '-ec', script]);
  }

  private async build(): Promise<void> {
    const plan = topologyPlan(this.names);
    for (const ns of plan.namespaces) {
      await mustRun('ip', ['netns', 'add', ns]);
      this.created.push(ns);
    }
    // Phase by phase (DAD off everywhere first, then the node's links, then the rest).
    for (const phase of plan.phases) {
      await Promise.all(phase.map(({ ns, commands }) => this.sh(ns, commands.join('\n'))));
    }
    await this.waitForIPv6(plan.namespaces);
  }

  /**
   * A link-local address still in duplicate address detection stalls neighbour
   * discovery, and the first IPv6 probes time out (seen under load): make sure none is
   * left (DAD is off everywhere, so this normally returns at once).
   */
  private async waitForIPv6(namespaces: readonly string[], timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const ns of namespaces) {
      for (;;) {
        const tentative = (await mustRun('ip', ['netns', 'exec', ns, 'ip', '-6', 'addr', 'show', 'tentative'])).trim();
        if (tentative === '') break;
        if (Date.now() > deadline) throw new Error(`IPv6 addresses still tentative in ${ns} after ${timeoutMs} ms:\n${tentative}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** Whether an address is an endpoint address of the plan (one of the harness's namespaces has it). */
  hosts(ip: string): boolean {
    try {
      this.namespaceOf(ip);
      return true;
    } catch {
      return false;
    }
  }

  /** The namespace that owns an endpoint address of the plan. */
  namespaceOf(ip: string): string {
    const ns = namespaceOf(this.names, ip);
    if (ns === undefined) throw new Error(`${ip} is not an endpoint address of the harness plan`);
    return ns;
  }

  /** Starts echo servers (one process per namespace); resolves once all listen. */
  async startServers(specs: readonly ServerSpec[]): Promise<void> {
    const byNs = new Map<string, ServerSpec[]>();
    for (const s of specs) {
      const ns = this.namespaceOf(s.ip);
      byNs.set(ns, [...(byNs.get(ns) ?? []), s]);
    }
    await Promise.all([...byNs].map(([ns, list]) => this.startServer(ns, list)));
  }

  private startServer(ns: string, specs: readonly ServerSpec[]): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn('ip', ['netns', 'exec', ns, process.execPath, ECHO_SERVER, JSON.stringify(specs)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      this.servers.push(child);
      let stderr = '';
      let ready = false;
      const timer = setTimeout(() => reject(new Error(`echo server in ${ns} not ready after 15s: ${stderr}`)), 15000);
      child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        if (!ready && d.includes('ready')) {
          ready = true;
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        if (!ready) reject(new Error(`echo server in ${ns} exited ${code}: ${stderr}`));
      });
    });
  }

  /** `nft -f -` inside the node namespace; errors carry nft's message (with line numbers). */
  async applyNft(script: string): Promise<void> {
    const r = await run('ip', ['netns', 'exec', this.node, 'nft', '-f', '-'], script);
    if (r.code !== 0) throw new Error(`nft -f - in ${this.node} failed:\n${r.stderr}`);
  }

  /** Empties the node namespace's ruleset (only ever the node namespace's). */
  async resetNft(): Promise<void> {
    await mustRun('ip', ['netns', 'exec', this.node, 'nft', 'flush', 'ruleset']);
  }

  async listNft(): Promise<string> {
    return mustRun('ip', ['netns', 'exec', this.node, 'nft', 'list', 'ruleset']);
  }

  /** Forgets all connections tracked in the node namespace (both families). */
  async flushConntrack(): Promise<void> {
    for (const fam of ['ipv4', 'ipv6']) {
      const r = await run('ip', ['netns', 'exec', this.node, 'conntrack', '-F', '-f', fam]);
      if (r.code !== 0 && !/flushed/.test(r.stderr)) throw new Error(`conntrack -F: ${r.stderr}`);
    }
  }

  /** Runs a command inside the node namespace (diagnostics). */
  nodeExec(cmd: string, args: readonly string[]): Promise<string> {
    return mustRun('ip', ['netns', 'exec', this.node, cmd, ...args]);
  }

  /** Sends every group; one client process per source namespace, groups run concurrently. */
  async sendGroups(groups: readonly ProbeGroup[]): Promise<Map<string, ProbeResult[]>> {
    const byNs = new Map<string, object[]>();
    for (const g of groups) {
      const ns = namespaceFor(this.names, g.from);
      const probes = g.probes.map((p) => {
        const src = clientAddress(g.from, familyOf(p.dst), g.client ?? 0);
        return { ...p, timeoutMs: p.timeoutMs ?? DEFAULT_TIMEOUT_MS, ...(src === undefined ? {} : { src }) };
      });
      byNs.set(ns, [...(byNs.get(ns) ?? []), { id: g.id, concurrency: g.concurrency, probes }]);
    }
    const out = new Map<string, ProbeResult[]>();
    await Promise.all([...byNs].map(async ([ns, gs]) => {
      const stdout = await mustRun('ip', ['netns', 'exec', ns, process.execPath, PROBE_CLIENT], JSON.stringify({ groups: gs }));
      const parsed = JSON.parse(stdout) as Record<string, ProbeResult[]>;
      for (const [id, results] of Object.entries(parsed)) out.set(id, results);
    }));
    return out;
  }

  /** One probe. */
  async send(from: From, proto: Proto, dst: string, dport: number, opts: { timeoutMs?: number } = {}): Promise<ProbeResult> {
    const probe: Probe = opts.timeoutMs === undefined ? { proto, dst, dport } : { proto, dst, dport, timeoutMs: opts.timeoutMs };
    const res = await this.sendGroups([{ id: 'one', from, concurrency: 1, probes: [probe] }]);
    const r = res.get('one')?.[0];
    if (r === undefined) throw new Error('probe client returned no result');
    return r;
  }

  /** Stops the servers and deletes every namespace this harness created. Idempotent. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await Promise.all(this.servers.map((child) => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const kill = setTimeout(() => child.kill('SIGKILL'), 1000);
      child.once('exit', () => { clearTimeout(kill); resolve(); });
      child.kill('SIGTERM');
    })));
    const errors: string[] = [];
    for (const ns of this.created.reverse()) {
      try { await deleteNamespace(ns); } catch (err) { errors.push(String(err)); }
    }
    if (errors.length > 0) throw new Error(`dispose: ${errors.join('\n')}`);
  }
}
