/**
 * The watch layer: three supervised informers (Services, EndpointSlices, this Node), a
 * change tracker per kind, sync gating, and the snapshot the model is built from.
 *
 * Use: `start()`, wait for `synced` (or `waitForSync()`), then on every `onChange` call
 * `apply()` — which commits what arrived since the last apply and says which Services
 * changed — and build from `snapshot()`. Listeners are never called before every
 * informer has listed once, so nothing is programmed from a partial view.
 */
import type { KubeConfig, V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { SERVICE_NAME_LABEL } from '../model/labels.js';
import type { ClusterSnapshot } from '../model/snapshot.js';
import type { ClusterView } from '../sync/types.js';
import type { Clock } from './clock.js';
import { SupervisedInformer, type InformerSource, type InformerStatus } from './informer.js';
import { silentLogger, type WatchLogger } from './logger.js';
import { endpointSliceSource, nodeSource, serviceSource } from './sources.js';
import { DEFAULT_SUPERVISION, type RestartReason, type SupervisionOptions } from './supervisor.js';
import { canonicalJSON, ChangeTracker } from './tracker.js';

/** The label that ties an EndpointSlice to its Service (one definition: src/model/labels.ts). */
export { SERVICE_NAME_LABEL };

export interface WatchOptions {
  readonly nodeName: string;
  /**
   * Count the layer as synced only once this Node exists (kube-proxy waits for its Node
   * before it programs anything). Without it a missing Node is fine (`kpx render`).
   */
  readonly requireNode?: boolean;
  /** Overrides of DEFAULT_SUPERVISION (backoff, watchdog, timeouts). */
  readonly supervision?: Partial<SupervisionOptions>;
  readonly clock?: Clock;
  readonly logger?: WatchLogger;
  readonly random?: () => number;
}

/** What one apply() committed. */
export interface ChangeSet {
  /** `namespace/name` of every Service whose Service object or slices changed. */
  readonly services: ReadonlySet<string>;
  /** This node's object changed (addresses, labels): everything may need a resync. */
  readonly node: boolean;
}

export interface InformerFailure {
  readonly informer: string;
  readonly reason: RestartReason;
  readonly message: string;
}

export interface LayerSources {
  readonly services: InformerSource<V1Service>;
  readonly endpointSlices: InformerSource<V1EndpointSlice>;
  readonly node: InformerSource<V1Node>;
}

interface SyncWaiter {
  resolve(): void;
  reject(err: Error): void;
  timer?: ReturnType<typeof setTimeout>;
}

/** What the layer needs of an informer, whatever it holds. */
type Informer = Pick<SupervisedInformer<never>, 'start' | 'stop' | 'listed' | 'status'>;

function objectKey(obj: { metadata?: { namespace?: string; name?: string } }): string {
  const m = obj.metadata;
  return m?.namespace !== undefined ? `${m.namespace}/${m.name ?? ''}` : (m?.name ?? '');
}

function serviceProjection(s: V1Service): string {
  return canonicalJSON({ labels: s.metadata?.labels, spec: s.spec, status: s.status });
}

function sliceProjection(s: V1EndpointSlice): string {
  return canonicalJSON({ labels: s.metadata?.labels, addressType: s.addressType, endpoints: s.endpoints, ports: s.ports });
}

function nodeProjection(n: V1Node): string {
  return canonicalJSON({ labels: n.metadata?.labels, addresses: n.status?.addresses });
}

function sliceServiceKeys(s: V1EndpointSlice): string[] {
  const svc = s.metadata?.labels?.[SERVICE_NAME_LABEL];
  return svc ? [`${s.metadata?.namespace ?? ''}/${svc}`] : [];
}

export class WatchLayer implements ClusterView {
  /** Committed slices by their Service key, then by slice key; kept current by apply(). */
  private readonly slicesByService = new Map<string, Map<string, V1EndpointSlice>>();
  private readonly services = new ChangeTracker<V1Service>({
    serviceKeys: (s) => [objectKey(s)],
    equal: (a, b) => serviceProjection(a) === serviceProjection(b),
  });
  private readonly slices = new ChangeTracker<V1EndpointSlice>({
    serviceKeys: sliceServiceKeys,
    equal: (a, b) => sliceProjection(a) === sliceProjection(b),
    onCommit: (key, previous, current) => {
      for (const svc of previous !== undefined ? sliceServiceKeys(previous) : []) {
        const m = this.slicesByService.get(svc);
        m?.delete(key);
        if (m?.size === 0) this.slicesByService.delete(svc);
      }
      for (const svc of current !== undefined ? sliceServiceKeys(current) : []) {
        let m = this.slicesByService.get(svc);
        if (m === undefined) this.slicesByService.set(svc, m = new Map());
        m.set(key, current!);
      }
    },
  });
  private readonly nodes = new ChangeTracker<V1Node>({
    serviceKeys: () => [],
    equal: (a, b) => nodeProjection(a) === nodeProjection(b),
  });
  private readonly informers: readonly Informer[];
  private readonly listeners = new Set<() => void>();
  private readonly failureListeners = new Set<(failure: InformerFailure) => void>();
  private readonly syncWaiters = new Set<SyncWaiter>();
  private readonly logger: WatchLogger;
  private notifyQueued = false;
  private waitingForNodeLogged = false;
  private isSynced = false;
  private stopped = false;

  constructor(kubeConfig: KubeConfig, readonly options: WatchOptions, sources?: LayerSources) {
    this.logger = options.logger ?? silentLogger;
    const src = sources ?? {
      services: serviceSource(kubeConfig),
      endpointSlices: endpointSliceSource(kubeConfig),
      node: nodeSource(kubeConfig, options.nodeName),
    };
    const supervision: SupervisionOptions = { ...DEFAULT_SUPERVISION, ...options.supervision };
    const deps = {
      ...(options.clock !== undefined ? { clock: options.clock } : {}),
      ...(options.random !== undefined ? { random: options.random } : {}),
      logger: this.logger,
      onFailure: (informer: string, reason: RestartReason, message: string) => {
        for (const l of [...this.failureListeners]) l({ informer, reason, message });
      },
    };
    const listed = (): void => this.onListed();
    const svc = new SupervisedInformer(kubeConfig, src.services, {
      upsert: (o) => this.record(this.services, objectKey(o), o),
      remove: (o) => this.record(this.services, objectKey(o), undefined),
      listed,
    }, supervision, deps);
    const eps = new SupervisedInformer(kubeConfig, src.endpointSlices, {
      upsert: (o) => this.record(this.slices, objectKey(o), o),
      remove: (o) => this.record(this.slices, objectKey(o), undefined),
      listed,
    }, supervision, deps);
    const node = new SupervisedInformer(kubeConfig, src.node, {
      // Only this node is listed (field selector); a stray one is never stored.
      upsert: (o) => { if (o.metadata?.name === options.nodeName) this.record(this.nodes, options.nodeName, o); },
      remove: (o) => { if (o.metadata?.name === options.nodeName) this.record(this.nodes, options.nodeName, undefined); },
      listed,
    }, supervision, deps);
    this.informers = [svc, eps, node];
  }

  start(): void {
    for (const i of this.informers) i.start();
  }

  /** Stops every informer. Errors their shutdown provokes are not failures. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const i of this.informers) i.stop();
    this.listeners.clear();
    this.failureListeners.clear();
    for (const w of [...this.syncWaiters]) w.reject(new Error('watch: stopped before every informer had listed'));
  }

  /**
   * Every informer has listed at least once (and, with `requireNode`, this Node exists).
   */
  get synced(): boolean {
    return this.isSynced;
  }

  /** Resolves once synced; rejects after `timeoutMs` (default: never). */
  waitForSync(timeoutMs?: number): Promise<void> {
    if (this.isSynced) return Promise.resolve();
    if (this.stopped) return Promise.reject(new Error('watch: stopped'));
    return new Promise((resolve, reject) => {
      const waiter: SyncWaiter = {
        resolve: () => { this.syncWaiters.delete(waiter); if (waiter.timer) clearTimeout(waiter.timer); resolve(); },
        reject: (err) => { this.syncWaiters.delete(waiter); if (waiter.timer) clearTimeout(waiter.timer); reject(err); },
      };
      this.syncWaiters.add(waiter);
      if (timeoutMs !== undefined) {
        waiter.timer = setTimeout(() => {
          const waiting = this.informers.map((i) => i.status()).filter((s) => !s.listed)
            .map((s) => `${s.name}${s.lastError !== undefined ? ` (${s.lastError})` : ''}`);
          waiter.reject(new Error(`watch: not synced after ${timeoutMs} ms; waiting for ${waiting.join(', ')}`));
        }, timeoutMs);
      }
    });
  }

  /**
   * Calls `listener` (in a microtask, bursts merged) whenever changes are pending, and
   * once when the layer first syncs; never before. Returns an unsubscribe function.
   */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    if (this.isSynced && this.pendingCount() > 0) this.queueNotify();
    return () => { this.listeners.delete(listener); };
  }

  /** Calls `listener` on every informer failure (each is retried with backoff anyway). */
  onFailure(listener: (failure: InformerFailure) => void): () => void {
    this.failureListeners.add(listener);
    return () => { this.failureListeners.delete(listener); };
  }

  /** Commits every change seen since the last apply. */
  apply(): ChangeSet {
    const node = this.nodes.pendingCount > 0;
    this.nodes.apply();
    const services = this.services.apply();
    for (const k of this.slices.apply()) services.add(k);
    return { services, node };
  }

  /** The committed Service and its slices (as of the last apply()); O(its slices). */
  service(key: string): { readonly service: V1Service | undefined; readonly slices: readonly V1EndpointSlice[] } {
    const slices = this.slicesByService.get(key);
    return {
      service: this.services.get(key),
      slices: slices === undefined ? [] : [...slices.keys()].sort().map((k) => slices.get(k)!),
    };
  }

  /** This node's committed object, if it exists. */
  node(): V1Node | undefined {
    return this.nodes.get(this.options.nodeName);
  }

  /** Every informer has listed; true also when the Node is still missing. */
  get listed(): boolean {
    return this.informers.every((i) => i.listed);
  }

  /** The Node object has been seen (committed or pending). */
  get nodeSeen(): boolean {
    return this.nodes.latest(this.options.nodeName) !== undefined;
  }

  /** The committed state (as of the last apply()), as the model takes it. */
  snapshot(): ClusterSnapshot {
    const node = this.node();
    return {
      services: this.services.objects(),
      endpointSlices: this.slices.objects(),
      ...(node !== undefined ? { node } : {}),
    };
  }

  /** Changes waiting for the next apply. */
  pendingCount(): number {
    return this.services.pendingCount + this.slices.pendingCount + this.nodes.pendingCount;
  }

  status(): InformerStatus[] {
    return this.informers.map((i) => i.status());
  }

  private record<T>(tracker: ChangeTracker<T>, key: string, obj: T | undefined): void {
    if (this.stopped) return;
    tracker.update(key, obj);
    if (this.isSynced) this.queueNotify();
    else if (tracker === (this.nodes as unknown)) this.onListed();
  }

  private onListed(): void {
    if (this.isSynced || !this.listed) return;
    if (this.options.requireNode === true && !this.nodeSeen) {
      if (!this.waitingForNodeLogged) {
        this.waitingForNodeLogged = true;
        this.logger.warn({ node: this.options.nodeName }, `watch: every informer listed, but Node "${this.options.nodeName}" does not exist yet; waiting for it before anything is programmed`);
      }
      return;
    }
    this.isSynced = true;
    this.logger.info({ status: this.status() }, 'watch: all informers listed');
    for (const w of [...this.syncWaiters]) w.resolve();
    this.queueNotify();
  }

  private queueNotify(): void {
    if (this.notifyQueued || this.stopped) return;
    this.notifyQueued = true;
    queueMicrotask(() => {
      this.notifyQueued = false;
      if (this.stopped) return;
      for (const l of [...this.listeners]) l();
    });
  }
}
