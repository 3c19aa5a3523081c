/**
 * One-shot read of the live cluster for `kpx render` (and every command built on it)
 * without `-f`: the same informers as `kpx run`, listed once, then stopped.
 */
import { KubeConfig } from '@kubernetes/client-node';
import type { ClusterSnapshot } from '../model/snapshot.js';
import { WatchLayer } from './layer.js';
import type { WatchLogger } from './logger.js';

export interface LiveSnapshotOptions {
  /** A kubeconfig file. Without it: $KUBECONFIG, ~/.kube/config, else in-cluster config. */
  readonly kubeconfig?: string;
  /** This node: its Node object is read by name. */
  readonly nodeName: string;
  /** Give up after this long (default 30 s). */
  readonly timeoutMs?: number;
  readonly logger?: WatchLogger;
}

/** Thrown when the cluster cannot be read; the message says why (for the CLI to print). */
export class LiveReadError extends Error {}

/**
 * Loads a kubeconfig: the file given, else client-node's default search ($KUBECONFIG,
 * ~/.kube/config, in-cluster service account). Refuses client-node's last resort
 * (http://localhost:8080), which would only produce a confusing connection error.
 */
export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (path !== undefined) kc.loadFromFile(path);
    else kc.loadFromDefault();
  } catch (err) {
    throw new LiveReadError(`cannot load kubeconfig${path !== undefined ? ` ${path}` : ''}: ${(err as Error).message}`);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new LiveReadError(`no current cluster in the kubeconfig${path !== undefined ? ` ${path}` : ''}`);
  if (path === undefined && kc.getCurrentContext() === 'loaded-context' && cluster.server === 'http://localhost:8080') {
    throw new LiveReadError('no kubeconfig found ($KUBECONFIG, ~/.kube/config) and not running in a cluster: give --kubeconfig or -f FILE');
  }
  return kc;
}

/**
 * Lists Services, EndpointSlices and this Node once, through the watch layer (same
 * selectors, same client), and returns them as the model's input. Fails fast: the first
 * error (unreachable server, 401/403, timeout) rejects with that error's message.
 */
export async function readLiveSnapshot(options: LiveSnapshotOptions): Promise<ClusterSnapshot> {
  const kc = loadKubeConfig(options.kubeconfig);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const layer = new WatchLayer(kc, {
    nodeName: options.nodeName,
    supervision: { listTimeoutMs: timeoutMs },
    ...(options.logger !== undefined ? { logger: options.logger } : {}),
  });
  const server = kc.getCurrentCluster()?.server ?? '?';
  try {
    await new Promise<void>((resolve, reject) => {
      layer.onFailure((f) => reject(new LiveReadError(`cannot read ${f.informer} from ${server}: ${f.message}`)));
      layer.waitForSync(timeoutMs).then(resolve, (err: Error) => reject(new LiveReadError(`${server}: ${err.message}`)));
      layer.start();
    });
    layer.apply();
    return layer.snapshot();
  } finally {
    await layer.stop();
  }
}
