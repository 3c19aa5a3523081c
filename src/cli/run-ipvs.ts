/**
 * `kpx run --proxy-mode ipvs`: the IPVS proxier from the run flags, and the start-up
 * check that its tools are there (ipvsadm, ipset, ip, iptables-restore). The controller,
 * health and metrics are the same as for nftables (run.ts); IPVS mode has no drift
 * monitor: a periodic full sync (one kernel listing) repairs what others changed.
 */
import type { Logger } from '../observe/logger.js';
import { createSpawnExec, type Exec } from '../sync/kernel/exec.js';
import { createIpvsKernel } from '../sync/kernel/ipvs.js';
import { createIpvsProxier, type IpvsProxier } from '../sync/ipvs/index.js';
import type { RunArgs } from './run-args.js';

/** A full sync (kernel listed and reconciled) at least this often, as nftables mode. */
const IPVS_FULL_SYNC_MS = 60 * 60 * 1000;

export function ipvsProxierFor(args: RunArgs, logger: Logger, exec: Exec = createSpawnExec()): IpvsProxier {
  return createIpvsProxier({
    kernel: createIpvsKernel({ exec }),
    scheduler: args.ipvs.scheduler,
    strictARP: args.ipvs.strictARP,
    excludeCIDRs: args.ipvs.excludeCIDRs,
    timeouts: args.ipvs.timeouts,
    fullSyncIntervalMs: IPVS_FULL_SYNC_MS,
    logger,
  });
}

/** The tools IPVS mode runs; the first missing one is named. */
export async function checkIpvsTools(exec: Exec = createSpawnExec()): Promise<string | undefined> {
  for (const argv of [['ipvsadm', '-v'], ['ipset', 'version'], ['ip', '-V'], ['iptables-restore', '--version']]) {
    const r = await exec(argv);
    if (r.code === 127) return `${argv[0]} not found: IPVS mode needs ipvsadm, ipset, iproute2 and iptables`;
  }
  return undefined;
}
