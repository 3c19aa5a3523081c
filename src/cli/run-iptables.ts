/**
 * `kpx run --proxy-mode iptables`: the parts that differ from nftables mode. The
 * flavour (nft or legacy: `--iptables-flavour`, default auto-detected as kube-proxy's
 * image does), route_localnet for localhost NodePorts, the proxier, and the canary
 * check every sync period (upstream's iptables Monitor): a missing `KUBE-PROXY-CANARY`
 * means someone flushed the tables, which is drift → a full resync.
 */
import type { Logger } from '../observe/logger.js';
import { createIptablesKernel, IptablesUnavailableError, resolveFlavour } from '../sync/kernel/iptables.js';
import type { FlavourChoice } from '../sync/kernel/iptables-flavour.js';
import { createIptablesProxier, type IptablesProxier } from '../sync/iptables/index.js';
import { enableRouteLocalnet, localhostNodePorts } from '../sync/route-localnet.js';

export interface IptablesMode {
  readonly proxier: IptablesProxier;
  /** Starts the canary check; `drift` is the controller's. */
  start(drift: (reason: string, details: Record<string, unknown>) => void): void;
  stop(): void;
}

export interface IptablesModeOptions {
  readonly flavour: FlavourChoice;
  readonly nodePortAddresses: readonly string[];
  readonly syncPeriodMs: number;
  readonly logger: Logger;
  readonly onSpawn?: (pid: number | undefined) => void;
}

/** Undefined when iptables mode cannot start (logged). */
export async function startIptablesMode(o: IptablesModeOptions): Promise<IptablesMode | undefined> {
  const { logger } = o;
  let flavour;
  try {
    flavour = await resolveFlavour(o.flavour);
  } catch (err) {
    logger.error({ error: (err as Error).message }, err instanceof IptablesUnavailableError ? 'iptables mode needs iptables' : 'cannot choose the iptables flavour');
    return undefined;
  }
  logger.info({ flavour, chosen: o.flavour === 'auto' ? 'detected (kubelet\'s mangle chains; default nft)' : 'by --iptables-flavour' }, 'iptables flavour');
  if (localhostNodePorts(o.nodePortAddresses)) {
    try {
      await enableRouteLocalnet();
    } catch (err) {
      logger.error({ error: (err as Error).message }, 'could not set net.ipv4.conf.all.route_localnet=1: NodePorts on 127.0.0.1 will not work');
    }
  }
  const kernel = createIptablesKernel({ flavour, ...(o.onSpawn ? { onSpawn: o.onSpawn } : {}) });
  const proxier = createIptablesProxier({ kernel, logger });
  let timer: ReturnType<typeof setInterval> | undefined;
  let checking = false;
  return {
    proxier,
    start(drift) {
      timer = setInterval(() => {
        if (checking) return;
        checking = true;
        proxier.checkCanaries()
          .then((missing) => { if (missing.length > 0) drift('iptables canary chain missing (tables flushed?)', { missing }); })
          .catch((err: unknown) => logger.warn({ error: (err as Error).message }, 'iptables canary check failed'))
          .finally(() => { checking = false; });
      }, o.syncPeriodMs);
      timer.unref();
    },
    stop() {
      if (timer !== undefined) clearInterval(timer);
    },
  };
}
