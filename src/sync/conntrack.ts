/**
 * kube-proxy's conntrack sysctls at start (k8s.io/kubernetes pkg/proxy/conntrack/sysctls.go,
 * setSysctls), written to /proc/sys of the network namespace kpx runs in:
 * - nf_conntrack_max = max(maxPerCore × CPUs (capped at 1M), min) when maxPerCore > 0,
 *   and only when the current value is lower (nf_conntrack_max is global, writable only
 *   from the host's initial namespace: a node namespace whose kernel value is already
 *   high enough leaves it alone, as upstream); then the module's hashsize is raised to
 *   max/4 when it is lower;
 * - nf_conntrack_tcp_timeout_established / _close_wait (per namespace) when > 0.
 * 0 leaves a setting alone. Upstream fails at start when a write fails; kpx does too,
 * except for nf_conntrack_max and hashsize when the namespace cannot write them (EACCES,
 * EPERM, EROFS: a non-initial namespace), which it reports and goes on — the value
 * cannot be changed from here by anyone.
 */
import { availableParallelism } from 'node:os';
import { readFile, writeFile } from 'node:fs/promises';

export interface ConntrackConfig {
  readonly maxPerCore: number;
  readonly min: number;
  /** Seconds; 0 leaves it alone. */
  readonly tcpEstablishedTimeout: number;
  readonly tcpCloseWaitTimeout: number;
}

/** kube-proxy's defaults (pkg/proxy/apis/config/v1alpha1/defaults.go). */
export const DEFAULT_CONNTRACK: ConntrackConfig = {
  maxPerCore: 32 * 1024,
  min: 128 * 1024,
  tcpEstablishedTimeout: 24 * 3600,
  tcpCloseWaitTimeout: 3600,
};

/** Where the values live; injected so tests can point at a temporary folder. */
export interface SysctlFiles {
  read(path: string): Promise<string>;
  write(path: string, value: string): Promise<void>;
}

const realFiles: SysctlFiles = {
  read: (p) => readFile(p, 'utf8'),
  write: (p, v) => writeFile(p, v),
};

export const SYSCTL = {
  max: '/proc/sys/net/netfilter/nf_conntrack_max',
  hashsize: '/sys/module/nf_conntrack/parameters/hashsize',
  established: '/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established',
  closeWait: '/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_close_wait',
} as const;

/** upstream's getConntrackMax. */
export function conntrackMax(config: ConntrackConfig, cpus: number): number {
  if (config.maxPerCore <= 0) return 0;
  const scaled = Math.min(config.maxPerCore * cpus, 1_048_576);
  return Math.max(scaled, config.min);
}

export interface ConntrackLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

function cannotWriteHere(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EACCES' || code === 'EPERM' || code === 'EROFS';
}

async function readInt(files: SysctlFiles, path: string): Promise<number | undefined> {
  try {
    const n = Number((await files.read(path)).trim());
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Writes `value` unless already there (upstream's setIntSysCtl). */
async function setInt(files: SysctlFiles, path: string, value: number, logger: ConntrackLogger): Promise<void> {
  if (await readInt(files, path) === value) return;
  logger.info({ sysctl: path, value }, 'setting sysctl');
  await files.write(path, String(value));
}

export async function setConntrackSysctls(
  config: ConntrackConfig, logger: ConntrackLogger, files: SysctlFiles = realFiles, cpus: number = availableParallelism(),
): Promise<void> {
  const max = conntrackMax(config, cpus);
  if (max > 0) {
    try {
      const current = await readInt(files, SYSCTL.max);
      if (current === undefined || current < max) await setInt(files, SYSCTL.max, max, logger);
      const hashsize = await readInt(files, SYSCTL.hashsize);
      if (hashsize !== undefined && hashsize < max / 4) {
        logger.info({ hashsize: Math.floor(max / 4) }, 'setting conntrack hashsize');
        await files.write(SYSCTL.hashsize, String(Math.floor(max / 4)));
      }
    } catch (err) {
      if (!cannotWriteHere(err)) throw err;
      logger.warn({ want: max, error: (err as Error).message }, 'nf_conntrack_max cannot be raised from this network namespace (it is global); left as it is');
    }
  }
  if (config.tcpEstablishedTimeout > 0) await setInt(files, SYSCTL.established, config.tcpEstablishedTimeout, logger);
  if (config.tcpCloseWaitTimeout > 0) await setInt(files, SYSCTL.closeWait, config.tcpCloseWaitTimeout, logger);
}
