/**
 * One e2e world: private namespaces (topology.ts), a control plane in its own namespace
 * (controlplane.ts), echo servers in the pod namespaces, and the proxy under test in the
 * node namespace (proxy.ts) with a wrapper directory first on its PATH: the apply tools
 * of its mode (`nft`; `iptables-restore`/`ip6tables-restore` of the flavour) log every
 * call and fail on demand, and `iptables*` name the mode's flavour (as kube-proxy picks
 * it). The machine's own namespace is never touched. `dispose()` stops everything by pid and
 * deletes the namespaces, also after a half-finished setup; `create()` first removes
 * what a dead test process left (namespaces `kpxe-<pid>-…` whose pid is gone).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkPrerequisites, run } from '../kernel/harness.js';
import { ControlPlane } from './controlplane.js';
import { Writer } from './objects.js';
import { iptablesFlavour, PROXY_MODES, proxyCommand, proxyKind, ProxyProcess, type ProxyKind, type ProxyMode } from './proxy.js';
import { E2E, POD_HOSTS, namesFor, plan, podIP, type Names } from './topology.js';
import { Traffic, type Stream, type TrafficOptions } from './traffic.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const ECHO_SERVER = join(ROOT, 'test', 'kernel', 'echo-server.mjs');
const LEFTOVER = /^kpxe-(\d+)-\d+-[a-z0-9]+$/;
let instances = 0;

async function must(cmd: string, args: readonly string[]): Promise<string> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM'; }
}

async function deleteNamespace(ns: string): Promise<void> {
  const pids = await run('ip', ['netns', 'pids', ns]);
  for (const pid of pids.stdout.split(/\s+/).filter((p) => p !== '').map(Number)) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
  const r = await run('ip', ['netns', 'del', ns]);
  if (r.code !== 0 && !/No such file/.test(r.stderr)) throw new Error(`ip netns del ${ns}: ${r.stderr}`);
}

async function cleanupLeftovers(): Promise<void> {
  const out = await must('ip', ['netns', 'list']);
  for (const ns of out.split('\n').map((l) => l.split(' ')[0] ?? '')) {
    const m = LEFTOVER.exec(ns);
    if (m && !alive(Number(m[1]))) await deleteNamespace(ns);
  }
}

/** The iptables tools a flavour wraps: `iptables`, `iptables-save`, `iptables-restore`, and ip6tables. */
const IPT_TOOLS = ['iptables', 'ip6tables'].flatMap((t) => ['', '-save', '-restore'].map((s) => ({ tool: t, suffix: s })));
/** What the drift tests and negative controls flush in iptables mode: every table kube-proxy writes, rules and chains. */
const IPT_TABLES = ['mangle', 'nat', 'filter'] as const;

export class World {
  readonly kind: ProxyKind = proxyKind();
  readonly names: Names;
  readonly dir: string;
  /** While this file exists the apply tool of the running mode fails (`nft`, or the flavour's `*-restore`). */
  readonly applyFailFlag: string;
  /** One line per call of the apply tool: epoch seconds, arguments. */
  readonly applyCallLog: string;
  /** Old names (nftables mode): the same flag and log. */
  readonly nftFailFlag: string;
  readonly nftCallLog: string;
  cp!: ControlPlane;
  writer!: Writer;
  proxy?: ProxyProcess;
  private readonly created: string[] = [];
  private readonly children: ChildProcess[] = [];
  private readonly traffics: Traffic[] = [];
  private proxyRuns = 0;
  private realNft = '';
  private readonly real = new Map<string, string>();

  private constructor(readonly prefix: string, readonly mode: ProxyMode) {
    this.names = namesFor(prefix);
    this.dir = join(ROOT, '.cache', 'e2e', prefix);
    this.applyFailFlag = this.nftFailFlag = join(this.dir, 'apply-fail');
    this.applyCallLog = this.nftCallLog = join(this.dir, 'apply-calls.log');
  }

  /** A world whose proxy runs in `mode` (nftables by default; startProxy can pick another for a takeover). */
  static async create(mode: ProxyMode = 'nftables'): Promise<World> {
    await checkPrerequisites();
    await cleanupLeftovers();
    const w = new World(`kpxe-${process.pid}-${instances++}`, mode);
    try {
      await w.build();
    } catch (err) {
      await w.dispose();
      throw err;
    }
    return w;
  }

  private async build(): Promise<void> {
    rmSync(this.dir, { recursive: true, force: true });
    this.realNft = (await must('sh', ['-c', 'command -v nft'])).trim();
    for (const fl of ['nft', 'legacy']) {
      for (const { tool, suffix } of IPT_TOOLS) {
        const name = `${tool}-${fl}${suffix}`;
        this.real.set(name, (await must('sh', ['-c', `command -v ${name}`])).trim());
      }
    }
    for (const mode of PROXY_MODES) this.writeWrappers(mode);
    const p = plan(this.names);
    for (const ns of p.namespaces) {
      await must('ip', ['netns', 'add', ns]);
      this.created.push(ns);
    }
    for (const phase of p.phases) {
      await Promise.all(phase.map(({ ns, script }) => must('ip', ['netns', 'exec', ns, 'sh', '-ec', script.join('\n')])));
    }
    const fl = iptablesFlavour(this.mode);
    if (fl !== undefined) await this.kubeletHint(fl);
    this.cp = await ControlPlane.start(this.names.cp, this.prefix);
    this.writer = new Writer(this.cp.api);
    await this.writer.setup();
    await Promise.all(POD_HOSTS.map((h) => this.startEcho(this.names.pod(h), podIP(h))));
  }

  /** The PATH directory of a mode's wrappers. */
  private binDir(mode: ProxyMode): string {
    return join(this.dir, `bin-${mode}`);
  }

  /**
   * A mode's wrappers: the apply tool (`nft`; `iptables-restore` and `ip6tables-restore`
   * of the flavour, under their generic and flavoured names) runs the real one unless the
   * flag file exists (then it fails like a kernel refusing the batch); in iptables modes
   * `iptables`, `iptables-save` … name the flavour's binaries, as a node's alternatives do.
   */
  private writeWrappers(mode: ProxyMode): void {
    const bin = this.binDir(mode);
    mkdirSync(bin, { recursive: true });
    const write = (name: string, real: string, apply: boolean): void => {
      writeFileSync(join(bin, name), [
        '#!/bin/sh',
        ...(apply ? [
          `echo "$(date +%s.%N) $(basename "$0") $*" >> '${this.applyCallLog}'`,
          `if [ -e '${this.applyFailFlag}' ]; then echo "Error: injected failure (kpx e2e test)" >&2; exit 1; fi`,
        ] : []),
        `exec '${real}' "$@"`,
        '',
      ].join('\n'));
      chmodSync(join(bin, name), 0o755);
    };
    const fl = iptablesFlavour(mode);
    if (fl === undefined) {
      write('nft', this.realNft, true);
      return;
    }
    for (const { tool, suffix } of IPT_TOOLS) {
      const real = this.real.get(`${tool}-${fl}${suffix}`)!;
      write(`${tool}${suffix}`, real, suffix === '-restore');
      write(`${tool}-${fl}${suffix}`, real, suffix === '-restore');
    }
  }

  /** Calls of the proxy's apply tool so far (one line each: epoch seconds, tool, arguments). */
  applyCalls(): string[] {
    return existsSync(this.applyCallLog) ? readFileSync(this.applyCallLog, 'utf8').split('\n').filter((l) => l !== '') : [];
  }

  /** Old name of applyCalls() (nftables mode). */
  nftCalls(): string[] {
    return this.applyCalls();
  }

  private startEcho(ns: string, ip: string): Promise<void> {
    const specs = [{ ip, port: E2E.podPort, proto: 'tcp' }, { ip, port: E2E.podPort, proto: 'udp' }];
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, ECHO_SERVER, JSON.stringify(specs)], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.push(child);
    return new Promise((resolve, reject) => {
      let err = '';
      const t = setTimeout(() => reject(new Error(`echo server in ${ns} not ready: ${err}`)), 15_000);
      child.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
      child.stdout!.setEncoding('utf8').on('data', (d: string) => { if (d.includes('ready')) { clearTimeout(t); resolve(); } });
      child.on('exit', (code) => { clearTimeout(t); reject(new Error(`echo server in ${ns} exited ${code}: ${err}`)); });
    });
  }

  /** Starts the proxy under test (kpx, or upstream kube-proxy with KPX_E2E_PROXY=upstream). */
  startProxy(extra: readonly string[] = [], mode: ProxyMode = this.mode, kind: ProxyKind = this.kind): ProxyProcess {
    if (this.proxy?.running) throw new Error('the proxy is already running');
    const cmd = proxyCommand(kind, { kubeconfig: this.cp.nodeKubeconfig, extra, mode });
    const env = { ...process.env, PATH: `${this.binDir(mode)}:${process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` };
    this.proxy = new ProxyProcess(this.names.node, cmd, join(this.dir, `proxy-${++this.proxyRuns}.log`), env);
    return this.proxy;
  }

  /**
   * A one-off kpx command (`kpx diff …`, `kpx cleanup`) in the node namespace, with the
   * PATH of `mode` (its wrappers and flavour), as an operator runs it on the node.
   */
  kpx(args: readonly string[], mode: ProxyMode = this.mode): Promise<{ code: number; stdout: string; stderr: string }> {
    const bin = process.env['KPX_E2E_KPX'] ?? join(ROOT, 'bin', 'kpx.js');
    return run('ip', ['netns', 'exec', this.names.node, 'env', `PATH=${this.binDir(mode)}:${process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`,
      process.execPath, bin, ...args]);
  }

  /** HTTP status of the proxy's /healthz (0 when nothing answers). */
  async healthz(): Promise<number> {
    const port = E2E.healthzAddress.split(':')[1]!;
    const r = await run('ip', ['netns', 'exec', this.names.node, 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}',
      '--max-time', '2', `http://127.0.0.1:${port}/healthz`]);
    return Number(r.stdout.trim()) || 0;
  }

  /** The proxy's /metrics samples whose name starts with `prefix` ('' when nothing answers). */
  async metrics(prefix: string): Promise<string[]> {
    const r = await run('ip', ['netns', 'exec', this.names.node, 'curl', '-s', '--max-time', '2', `http://${E2E.metricsAddress}/metrics`]);
    return r.stdout.split('\n').filter((l) => l.startsWith(prefix));
  }

  /** Polls /healthz until it answers `code`; returns when (epoch ms). */
  async waitHealthz(code: number, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let last = 0;
    while (Date.now() < deadline) {
      last = await this.healthz();
      if (last === code) return Date.now();
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`/healthz did not answer ${code} within ${timeoutMs} ms (last: ${last})\n${this.proxy?.tail() ?? ''}`);
  }

  /** `nft ARGS` in the node namespace (diagnostics and drift). */
  nft(args: readonly string[]): Promise<string> {
    return must('ip', ['netns', 'exec', this.names.node, this.realNft, ...args]);
  }

  /** `iptables ARGS` (or ip6tables, `-save`, `-restore`) of a flavour, the real binary, in the node namespace. */
  iptables(flavour: 'nft' | 'legacy', args: readonly string[], tool: 'iptables' | 'ip6tables' = 'iptables', suffix: '' | '-save' = ''): Promise<string> {
    return must('ip', ['netns', 'exec', this.names.node, this.real.get(`${tool}-${flavour}${suffix}`)!, ...args]);
  }

  /**
   * What kubelet (1.17+) leaves on a node in the iptables flavour it uses: the empty chain
   * KUBE-IPTABLES-HINT in the mangle table of both families. kube-proxy's image picks its
   * flavour by it (kubernetes-sigs/iptables-wrappers); without it, nft.
   */
  async kubeletHint(fl: 'nft' | 'legacy'): Promise<void> {
    for (const tool of ['iptables', 'ip6tables'] as const) {
      const has = await run('ip', ['netns', 'exec', this.names.node, this.real.get(`${tool}-${fl}`)!, '-w', '-t', 'mangle', '-S', 'KUBE-IPTABLES-HINT']);
      if (has.code !== 0) await this.iptables(fl, ['-w', '-t', 'mangle', '-N', 'KUBE-IPTABLES-HINT'], tool);
    }
  }

  /**
   * The rules of the world's mode as text that changes only when the rules do: `nft list
   * ruleset`, or both families' `iptables-save` of the flavour without its comment lines
   * and chain counters (`[packets:bytes]`, which traffic moves).
   */
  async ruleset(): Promise<string> {
    const fl = iptablesFlavour(this.mode);
    if (fl === undefined) return this.nft(['list', 'ruleset']);
    const dumps = await Promise.all((['iptables', 'ip6tables'] as const).map((t) => this.iptables(fl, [], t, '-save')));
    return dumps.join('').split('\n').filter((l) => !l.startsWith('#')).map((l) => l.replace(/ \[\d+:\d+\]$/, '')).join('\n');
  }

  /**
   * What an operator's "reset the firewall" does to the world's mode: `nft flush ruleset`;
   * in iptables mode every rule and chain of the mangle, nat and filter tables, both
   * families (`-F`, `-X`). This removes kube-proxy's KUBE-PROXY-CANARY chains, which is
   * what upstream's canary monitor reacts to (pkg/util/iptables/iptables.go Monitor polls
   * the canary of the first table, mangle, every syncPeriod); a flush that leaves the
   * chains (`iptables -t nat -F`) is never repaired by upstream.
   */
  async flushRules(): Promise<void> {
    const fl = iptablesFlavour(this.mode);
    if (fl === undefined) {
      await this.nft(['flush', 'ruleset']);
      return;
    }
    for (const tool of ['iptables', 'ip6tables'] as const) {
      for (const table of IPT_TABLES) {
        await this.iptables(fl, ['-w', '-t', table, '-F'], tool);
        await this.iptables(fl, ['-w', '-t', table, '-X'], tool);
      }
    }
    // The node's kubelet keeps its flavour hint (a proxy restarted later must pick the same flavour).
    await this.kubeletHint(fl);
  }

  /** Starts a traffic generator in the client pod (default), the external host, or endpoint pod N (hairpin). */
  traffic(streams: readonly Stream[], from: 'client' | 'ext' | number = 'client', options: TrafficOptions = {}): Traffic {
    const ns = from === 'client' ? this.names.client : from === 'ext' ? this.names.ext : this.names.pod(from);
    const t = new Traffic(ns, streams, options);
    this.traffics.push(t);
    return t;
  }

  async dispose(): Promise<void> {
    const errors: string[] = [];
    await Promise.all(this.traffics.map((t) => t.stop().catch(() => undefined)));
    if (this.proxy?.running) await this.proxy.signal('SIGKILL');
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await this.cp?.stop().catch((err: unknown) => errors.push(String(err)));
    for (const ns of [...this.created].reverse()) {
      try { await deleteNamespace(ns); } catch (err) { errors.push(String(err)); }
    }
    if (!process.env['KPX_KEEP_CLUSTER']) rmSync(this.dir, { recursive: true, force: true });
    if (errors.length > 0) throw new Error(`dispose: ${errors.join('\n')}`);
  }
}
