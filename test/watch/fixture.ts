/**
 * One real control plane with a namespace and this node, and a WatchLayer watching it
 * (optionally through a relay that can count or cut its connections): the setup every
 * API-server test file shares.
 */
import type { CoreV1Api } from '@kubernetes/client-node';
import { WatchLayer, type SupervisionOptions } from '../../src/watch/index.js';
import { startCluster, type TestCluster } from '../apiserver/cluster.js';
import { startRelay, type Relay } from '../apiserver/proxy.js';
import { clients, createNamespace, node, NODE, Observer, testLogger, type Clients } from './k8s.js';

export interface WatchedCluster {
  readonly cluster: TestCluster;
  readonly c: Clients;
  readonly layer: WatchLayer;
  /** Subscribed before the layer starts, so it can tell whether anything came before sync. */
  readonly obs: Observer;
  readonly relay?: Relay;
  stop(): Promise<void>;
}

export interface WatchedClusterOptions {
  readonly namespace: string;
  readonly nodeIP: string;
  readonly nodeLabels?: Record<string, string>;
  readonly supervision: Partial<SupervisionOptions>;
  readonly watchCache?: boolean;
  /** Watch through a relay (to count or cut the layer's connections). */
  readonly relay?: boolean;
  /** Objects to create before the layer starts (they must arrive through the first list). */
  readonly before?: (core: CoreV1Api, c: Clients) => Promise<void>;
}

export async function startWatchedCluster(o: WatchedClusterOptions): Promise<WatchedCluster> {
  const cluster = await startCluster(o.watchCache === false ? { watchCache: false } : {});
  const c = clients(cluster.kubeConfig());
  await c.core.createNode({ body: node(NODE, o.nodeIP, o.nodeLabels ?? {}) });
  await createNamespace(c, o.namespace);
  await o.before?.(c.core, c);
  const relay = o.relay === true ? await startRelay(Number(new URL(cluster.server).port)) : undefined;
  const logger = testLogger();
  const layer = new WatchLayer(cluster.kubeConfig(relay?.url), { nodeName: NODE, supervision: o.supervision, ...(logger ? { logger } : {}) });
  const obs = new Observer(layer);
  layer.start();
  await layer.waitForSync(30_000);
  return {
    cluster, c, layer, obs, ...(relay ? { relay } : {}),
    async stop() {
      obs.close();
      await layer.stop();
      await relay?.close();
      await cluster.stop();
    },
  };
}
