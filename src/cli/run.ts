/**
 * `kpx run`: the proxy controller, wired from its parts. Start: conntrack sysctls, the
 * health and metrics servers, the watch layer (waits for this Node), the nft monitor,
 * then syncs for as long as it runs. SIGTERM/SIGINT: stop cleanly, rules stay, exit 0.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { ProxyHealth } from '../observe/health.js';
import { serveHealth, serveMetrics, type BindAddress, type RunningServer } from '../observe/http.js';
import { createLogger, type Logger } from '../observe/logger.js';
import { createMetrics } from '../observe/metrics.js';
import { apiEventSink, EventRecorder } from '../watch/events.js';
import { ServiceHealthServers } from '../sync/service-health.js';
import { defaultNodePortAddresses } from '../model/index.js';
import { KPX_TABLES } from '../render/nftables/index.js';
import { setConntrackSysctls } from '../sync/conntrack.js';
import { ConntrackCleanup } from '../sync/conntrack-observer.js';
import { createConntrackKernel } from '../sync/kernel/conntrack.js';
import { Controller } from '../sync/controller.js';
import { attribute, OwnProcesses } from '../sync/drift.js';
import { ProgrammingLatency } from '../sync/latency.js';
import { localAddresses } from '../sync/local-addresses.js';
import { NftMonitor, parentPid } from '../sync/nft-monitor.js';
import { createNftKernel } from '../sync/kernel/nft.js';
import { createNftablesProxier } from '../sync/nftables/index.js';
import { CLEANUP_MODES } from '../sync/cleanup/owned.js';
import { takeoverObserver } from '../sync/cleanup/takeover.js';
import { createExec, type Exec } from '../sync/kernel/exec.js';
import { runCleanup } from './cleanup.js';
import { realClock } from '../watch/clock.js';
import { DEFAULT_BACKOFF, loadKubeConfig, LiveReadError, WatchLayer } from '../watch/index.js';
import { findLauncher, launcherGone, type ProcessTable } from './launcher.js';
import { startIptablesMode } from './run-iptables.js';
import { checkIpvsTools, ipvsProxierFor } from './run-ipvs.js';
import type { CliIO } from './output.js';
import { parseRunArgs, type RunArgs } from './run-args.js';

export interface RunDeps {
  /** Resolves when the process should stop (default: SIGTERM or SIGINT). */
  readonly stopSignal?: Promise<string>;
  readonly env?: NodeJS.ProcessEnv;
  /** Runs the kernel tools of --cleanup and the takeover step (tests: inside a namespace). */
  readonly exec?: Exec;
}

/**
 * SIGTERM or SIGINT; and, when started through npm (`npx kpx run`), the death of npm
 * itself (SIGTERM, which npm does not pass on, or SIGKILL): see launcher.ts. kpx then
 * stops as if it had been sent SIGTERM.
 */
function waitForSignal(env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string) => () => resolve(sig);
    process.once('SIGTERM', on('SIGTERM'));
    process.once('SIGINT', on('SIGINT'));
    if (env['npm_command'] === 'exec' || env['npm_execpath'] !== undefined) {
      const link = findLauncher(process.pid, process.ppid, PROC);
      const timer = setInterval(() => {
        if (launcherGone(link, PROC)) { clearInterval(timer); resolve('launcher (npm) exited'); }
      }, 500);
      timer.unref();
    }
  });
}

const PROC: ProcessTable = {
  parentOf: parentPid,
  commOf: (pid) => { try { return readFileSync(`/proc/${pid}/comm`, 'utf8').trim(); } catch { return undefined; } },
};

/** kube-proxy's node name: --hostname-override, else $NODE_NAME, else the host name; lower-cased. */
export function nodeNameFor(args: RunArgs, env: NodeJS.ProcessEnv, host: () => string = hostname): string {
  const name = args.hostnameOverride ?? (env['NODE_NAME'] !== undefined && env['NODE_NAME'] !== '' ? env['NODE_NAME'] : host());
  return name.trim().toLowerCase();
}

function kubeConfigFor(args: RunArgs): KubeConfig {
  const kc = args.kubeconfig === undefined && args.master !== undefined ? new KubeConfig() : loadKubeConfig(args.kubeconfig);
  if (args.master === undefined) return kc;
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  const out = new KubeConfig();
  out.loadFromOptions({
    clusters: [{ ...(cluster ?? { skipTLSVerify: false }), name: 'master', server: args.master }],
    users: [user ?? { name: 'anonymous' }],
    contexts: [{ name: 'master', cluster: 'master', user: user?.name ?? 'anonymous' }],
    currentContext: 'master',
  });
  return out;
}

async function startServer(kind: string, addr: BindAddress | undefined, start: (a: BindAddress) => Promise<RunningServer>, logger: Logger): Promise<RunningServer | undefined> {
  if (addr === undefined) return undefined;
  try {
    const s = await start(addr);
    logger.info({ address: `${addr.host}:${s.port}` }, `${kind} server listening`);
    return s;
  } catch (err) {
    // As kube-proxy: a server that cannot bind is an error in the log; proxying goes on.
    logger.error({ address: `${addr.host}:${addr.port}`, error: (err as Error).message }, `${kind} server could not start`);
    return undefined;
  }
}

export async function runCommand(argv: readonly string[], io: CliIO, deps: RunDeps = {}): Promise<number> {
  const parsed = parseRunArgs(argv);
  if (!parsed.ok) {
    io.stderr(`kpx: ${parsed.error}\nRun 'kpx run --help' for usage.\n`);
    return 2;
  }
  const args = parsed.args;
  // kube-proxy's --cleanup: every mode's leftovers, then exit (0, or 1 if something stayed).
  if (args.cleanup === true) return runCleanup(CLEANUP_MODES, io, deps.exec);
  // Before anything else (the first log line included): which npm process launched kpx
  // must be read while it is still alive, or a SIGKILLed `npx` would leave kpx running.
  const stopSignal = deps.stopSignal ?? waitForSignal(deps.env ?? process.env);
  const logger = createLogger(args.verbosity);
  const nodeName = nodeNameFor(args, deps.env ?? process.env);
  if (args.ignored.length > 0) logger.warn({ flags: args.ignored }, 'kube-proxy flags accepted but not acted on by kpx');

  let kc: KubeConfig;
  try {
    kc = kubeConfigFor(args);
  } catch (err) {
    logger.error({ error: err instanceof LiveReadError ? err.message : String(err) }, 'cannot load the kubeconfig');
    return 1;
  }
  // kpx's own nft processes, by pid: the drift monitor tells their transactions from others'.
  const spawned = new OwnProcesses();
  const kernel = createNftKernel({ onSpawn: (pid) => spawned.note(pid) });
  // CIDRs and the keywords `primary`/`all` go to the model as given; unset: the mode's default.
  const nodePortAddresses = args.nodePortAddresses.length > 0 ? args.nodePortAddresses : defaultNodePortAddresses(args.proxyMode);
  const ipvs = args.proxyMode === 'ipvs';
  const missing = ipvs ? await checkIpvsTools() : undefined;
  if (missing !== undefined) {
    logger.error({ error: missing }, 'ipvs mode needs its tools');
    return 1;
  }
  const ipt = args.proxyMode !== 'iptables' ? undefined : await startIptablesMode({
    flavour: args.iptablesFlavour, nodePortAddresses, syncPeriodMs: args.syncPeriodMs, logger,
  });
  if (args.proxyMode === 'iptables' && ipt === undefined) return 1;
  if (args.proxyMode === 'nftables') {
    try {
      logger.info({ version: await kernel.version() }, 'nft found');
    } catch (err) {
      logger.error({ error: (err as Error).message }, 'nftables mode needs nft');
      return 1;
    }
  }
  try {
    await setConntrackSysctls(args.conntrack, logger);
  } catch (err) {
    logger.error({ error: (err as Error).message }, 'could not set conntrack parameters');
    return 1;
  }

  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const metrics = createMetrics(registry);
  const health = new ProxyHealth(2 * args.syncPeriodMs);
  const servers = [
    await startServer('healthz', args.healthz, (a) => serveHealth(a, health, metrics), logger),
    await startServer('metrics', args.metrics, (a) => serveMetrics(a, registry), logger),
  ];

  // Reconnect to a returning API server within about a second (client-go's informers
  // back off exponentially, which leaves a node stale for many seconds after an outage).
  const supervision = { backoff: { ...DEFAULT_BACKOFF, initialMs: 500, maxMs: 1_000 } };
  const layer = new WatchLayer(kc, { nodeName, requireNode: true, logger, supervision });
  // UDP conntrack cleanup after every sync, whatever the backend (a missing tool: logged, counted, proxying goes on).
  const conntrackCleanup = new ConntrackCleanup({ kernel: createConntrackKernel(), logger, metrics, resyncMs: args.syncPeriodMs });
  await conntrackCleanup.probe();
  const events = new EventRecorder({ sink: apiEventSink(kc), nodeName, logger, failures: metrics.eventPostFailures });
  const serviceHealth = new ServiceHealthServers({
    health, logger, nodeName, events, bindFailures: metrics.serviceHealthBindFailures,
    uidOf: (key) => layer.service(key).service?.metadata?.uid,
  });
  const controller = new Controller({
    source: layer,
    proxier: ipt?.proxier ?? (ipvs ? ipvsProxierFor(args, logger) : createNftablesProxier({ logger, kernel })),
    clock: realClock,
    logger,
    metrics,
    health,
    latency: new ProgrammingLatency(metrics.networkProgrammingDuration, Date.now()),
    // After the first successful sync: remove what other proxy modes left (takeover).
    observers: [takeoverObserver(args.proxyMode, deps.exec ?? createExec(), logger), conntrackCleanup, serviceHealth],
  }, {
    proxyOptions: {
      nodeName,
      clusterCIDRs: args.clusterCIDRs,
      serviceCIDRs: args.serviceCIDRs,
      masqueradeAll: args.masqueradeAll,
      masqueradeBit: args.masqueradeBit,
      nodePortAddresses,
    },
    localAddresses: () => localAddresses(),
    syncPeriodMs: args.syncPeriodMs,
    minSyncPeriodMs: args.minSyncPeriodMs,
    adaptive: { ratio: 1, maxMinIntervalMs: Math.max(args.minSyncPeriodMs, args.syncPeriodMs / 2) },
  });
  const monitor = args.proxyMode !== 'nftables' ? undefined : new NftMonitor({
    tables: KPX_TABLES,
    clock: realClock,
    logger,
    onTransaction: (t) => {
      const own = { pid: process.pid, spawned, parentOf: parentPid, recentSync: () => controller.recentSync() };
      if (attribute(t, own) === 'drift') {
        controller.drift('nft monitor', { by: t.comm, pid: t.pid, firstChange: t.lines[0], changes: t.lines.length });
      }
    },
    onGap: () => controller.drift('nft monitor restarted: changes in between unknown'),
  });

  logger.info({
    node: nodeName, mode: args.proxyMode, server: kc.getCurrentCluster()?.server, clusterCIDRs: args.clusterCIDRs,
    syncPeriodMs: args.syncPeriodMs, minSyncPeriodMs: args.minSyncPeriodMs,
  }, 'kpx run starting; existing rules stay in place until the first sync replaces them');
  monitor?.start();
  ipt?.start((reason, details) => controller.drift(reason, details));
  controller.start();

  const signal = await stopSignal;
  logger.info({ signal }, 'stopping; kernel rules are left in place');
  monitor?.stop();
  ipt?.stop();
  await controller.stop();
  await serviceHealth.stop();
  for (const s of servers) await s?.close();
  logger.info({}, 'stopped');
  return 0;
}
