/**
 * The proxy under test, started in the node namespace. kpx by default; upstream
 * kube-proxy (built by bench/upstream/build.sh) with KPX_E2E_PROXY=upstream, to validate
 * that the tests judge a correct proxy as correct. Both get the same kube-proxy flags.
 * The mode (backend) is `nftables`, `iptables-nft` or `iptables-legacy`: both iptables
 * flavours run `--proxy-mode iptables`; the flavour is picked as kube-proxy picks it, by
 * the `iptables` binaries first on the PATH (world.ts puts a wrapper directory there).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { E2E, NODE_NAME } from './topology.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export type ProxyKind = 'kpx' | 'upstream';

/** The backend under test: nftables, or iptables in one of its two flavours. */
export type ProxyMode = 'nftables' | 'iptables-nft' | 'iptables-legacy';
export const PROXY_MODES: readonly ProxyMode[] = ['nftables', 'iptables-nft', 'iptables-legacy'];

/** The iptables flavour of a mode (undefined for nftables). */
export function iptablesFlavour(mode: ProxyMode): 'nft' | 'legacy' | undefined {
  return mode === 'iptables-nft' ? 'nft' : mode === 'iptables-legacy' ? 'legacy' : undefined;
}

export function proxyKind(): ProxyKind {
  const v = process.env['KPX_E2E_PROXY'] ?? 'kpx';
  if (v !== 'kpx' && v !== 'upstream') throw new Error(`KPX_E2E_PROXY must be kpx or upstream, not ${JSON.stringify(v)}`);
  return v;
}

export interface ProxyFlags {
  readonly kubeconfig: string;
  /** More kube-proxy flags, e.g. ['--iptables-sync-period=5s']. */
  readonly extra?: readonly string[];
  /** The backend; nftables when not given. */
  readonly mode?: ProxyMode;
}

/**
 * kpx's flag for an iptables flavour (`--iptables-flavour nft|legacy`; its default,
 * auto, detects kubelet's hint chain as kube-proxy's image does — the world creates that
 * too, so both agree). Upstream has no such flag: the `iptables` on its PATH decides.
 */
export function kpxFlavourFlags(mode: ProxyMode): string[] {
  const fl = iptablesFlavour(mode);
  return fl === undefined ? [] : ['--iptables-flavour', fl];
}

/** THE proxy command line: `[command, ...args]` to run inside the node namespace. */
export function proxyCommand(kind: ProxyKind, flags: ProxyFlags): string[] {
  const mode = flags.mode ?? 'nftables';
  const common = [
    '--kubeconfig', flags.kubeconfig,
    '--hostname-override', NODE_NAME,
    '--proxy-mode', mode === 'nftables' ? 'nftables' : 'iptables',
    '--cluster-cidr', E2E.clusterCIDR,
    '--healthz-bind-address', E2E.healthzAddress,
    '--metrics-bind-address', E2E.metricsAddress,
    // Leave the machine's global conntrack settings alone (nf_conntrack_max and its hash
    // size are not per-namespace); the UDP timeouts and be-liberal default to "leave".
    '--conntrack-max-per-core=0', '--conntrack-tcp-timeout-established=0', '--conntrack-tcp-timeout-close-wait=0',
    ...(flags.extra ?? []),
  ];
  if (kind === 'kpx') {
    // KPX_E2E_KPX: another build's bin/kpx.js (e.g. a branch checked out elsewhere).
    const bin = process.env['KPX_E2E_KPX'] ?? join(ROOT, 'bin', 'kpx.js');
    const built = join(dirname(bin), '..', 'dist', 'cli', 'main.js');
    if (!existsSync(built)) throw new Error(`${bin} runs ${built}, which does not exist: npm run build first`);
    return [process.execPath, bin, 'run', ...common, ...kpxFlavourFlags(mode)];
  }
  const bin = join(ROOT, '.cache', 'bin', 'kube-proxy');
  if (!existsSync(bin)) throw new Error(`KPX_E2E_PROXY=upstream needs ${bin}: bash bench/upstream/build.sh`);
  return [bin, ...common, '--v=2'];
}

/** One run of the proxy; its stdout and stderr go to `log`. */
export class ProxyProcess {
  private readonly child: ChildProcess;
  readonly exited: Promise<void>;

  constructor(readonly ns: string, readonly command: readonly string[], readonly log: string, env: NodeJS.ProcessEnv) {
    const fd = openSync(log, 'a');
    this.child = spawn('ip', ['netns', 'exec', ns, ...command], { stdio: ['ignore', fd, fd], env });
    closeSync(fd);
    this.exited = new Promise((resolve) => this.child.on('exit', () => resolve()));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends a signal to the proxy (`ip netns exec` execs it: the pid is the proxy's own). */
  async signal(sig: NodeJS.Signals, waitMs = 15_000): Promise<void> {
    if (!this.running) return;
    this.child.kill(sig);
    const t = setTimeout(() => this.child.kill('SIGKILL'), waitMs);
    await this.exited;
    clearTimeout(t);
  }

  /** SIGSTOP: the proxy stays alive but does nothing (its rules stay in the kernel). */
  freeze(): void {
    this.child.kill('SIGSTOP');
  }

  thaw(): void {
    this.child.kill('SIGCONT');
  }

  tail(lines = 40): string {
    try {
      return readFileSync(this.log, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }
}
