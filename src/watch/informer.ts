/**
 * One informer (client-node 1.4.0's ListWatch, the class `makeInformer` returns) under a
 * Supervisor.
 *
 * The ListWatch is built here rather than with `makeInformer` for two reasons:
 * `makeInformer` cannot pass a field selector (the Node informer needs
 * `metadata.name=NODE`), and it hard-wires a `Watch` whose connect cannot be abandoned.
 * `GuardedWatch` below extends client-node's `Watch`: it tags every watch with the chain
 * generation that opened it, so a chain the supervisor has halted (watchdog, backoff,
 * shutdown) can neither deliver events nor restart itself — even a connect that was
 * pending on a frozen server and completes minutes later is aborted on arrival. The one
 * ListWatch instance lives as long as the informer: a restart calls its `start()` again,
 * which watches from its last resourceVersion, or relists when it has none (after a 410).
 */
import {
  ADD, DELETE, ERROR, ListWatch, UPDATE, Watch,
  type KubeConfig, type KubernetesListObject, type KubernetesObject,
} from '@kubernetes/client-node';
import { realClock, type Clock } from './clock.js';
import { silentLogger, type WatchLogger } from './logger.js';
import { DEFAULT_SUPERVISION, Supervisor, type Phase, type RestartReason, type SupervisionOptions } from './supervisor.js';

/** What to list and watch. The same selectors go on the list and on the watch. */
export interface InformerSource<T extends KubernetesObject> {
  /** For logs and status, e.g. `services`. */
  readonly name: string;
  /** The collection's URL path, e.g. `/api/v1/services`. */
  readonly path: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** Lists the collection with the selectors above; must honour `signal`. */
  list(signal: AbortSignal): Promise<KubernetesListObject<T>>;
}

export interface InformerHandlers<T> {
  /** An object was added or changed (listed, relisted or watched). */
  upsert(obj: T): void;
  /** An object was deleted, or was absent from a relist. */
  remove(obj: T): void;
  /** A list has been applied to the cache (the first one, and every relist after a 410). */
  listed?(): void;
}

export interface InformerStatus {
  readonly name: string;
  readonly phase: Phase;
  /** A list has completed at least once. */
  readonly listed: boolean;
  /** Lists done (1 + relists). */
  readonly lists: number;
  /** Watch requests opened (each restart, reconnect and server-side timeout adds one). */
  readonly watches: number;
  readonly restarts: Readonly<Record<RestartReason, number>>;
  readonly resourceVersion: string;
  readonly lastError?: string;
}

export interface InformerDeps {
  readonly clock?: Clock;
  readonly logger?: WatchLogger;
  readonly random?: () => number;
  /** Told about every failure (the informer retries by itself regardless). */
  readonly onFailure?: (informer: string, reason: RestartReason, message: string) => void;
}

/** Thrown into client-node's informer when a list belongs to a halted chain. */
class StaleChainError extends Error {
  constructor() {
    super('list/watch chain was halted');
  }
}

export class SupervisedInformer<T extends KubernetesObject> {
  private readonly informer: ListWatch<T>;
  private readonly supervisor: Supervisor;
  private readonly clock: Clock;
  private readonly random: () => number;
  /** Chain generation: bumped by every halt; results of older generations are dropped. */
  private gen = 0;
  private listAbort: AbortController | undefined;
  private watchAbort: AbortController | undefined;
  private listCount = 0;
  private watchCount = 0;
  private readonly logger: WatchLogger;

  constructor(
    kubeConfig: KubeConfig,
    private readonly source: InformerSource<T>,
    private readonly handlers: InformerHandlers<T>,
    private readonly options: SupervisionOptions = DEFAULT_SUPERVISION,
    deps: InformerDeps = {},
  ) {
    this.clock = deps.clock ?? realClock;
    this.random = deps.random ?? Math.random;
    const logger = deps.logger ?? silentLogger;
    this.logger = logger;
    this.supervisor = new Supervisor(source.name, {
      run: () => this.run(),
      halt: () => this.halt(),
    }, options, this.clock, logger, this.random, (reason, message) => deps.onFailure?.(source.name, reason, message));
    this.informer = new ListWatch<T>(
      source.path, new GuardedWatch(kubeConfig, this), () => this.list(), false,
      source.labelSelector, source.fieldSelector,
    );
    this.informer.on(ADD, (obj) => handlers.upsert(obj));
    this.informer.on(UPDATE, (obj) => handlers.upsert(obj));
    this.informer.on(DELETE, (obj) => handlers.remove(obj));
    // client-node reports every error but a 410 here and then stops; stop() reports one
    // too, but by then the chain is halted and its error is dropped before it gets here.
    this.informer.on(ERROR, (err) => {
      if (!(err instanceof StaleChainError)) this.supervisor.failed(err);
    });
  }

  start(): void {
    this.supervisor.start();
  }

  stop(): void {
    this.supervisor.stop();
    void this.informer.stop();
  }

  get listed(): boolean {
    return this.listCount > 0;
  }

  status(): InformerStatus {
    const lastError = this.supervisor.lastError;
    return {
      name: this.source.name,
      phase: this.supervisor.phase,
      listed: this.listed,
      lists: this.listCount,
      watches: this.watchCount,
      restarts: { ...this.supervisor.restarts },
      resourceVersion: this.informer.latestResourceVersion(),
      ...(lastError !== undefined ? { lastError } : {}),
    };
  }

  private run(): void {
    const gen = this.gen;
    this.informer.start().catch((err: unknown) => {
      // start() rejects only when something outside its own try blocks throws (e.g. the
      // kubeconfig's credential plugin while preparing a watch).
      if (gen === this.gen) this.supervisor.failed(err);
    });
  }

  private halt(): void {
    this.gen++;
    this.listAbort?.abort();
    this.watchAbort?.abort();
    this.listAbort = undefined;
    this.watchAbort = undefined;
  }

  private async list(): Promise<KubernetesListObject<T>> {
    const gen = this.gen;
    const abort = new AbortController();
    this.listAbort = abort;
    this.supervisor.listing();
    const timer = this.clock.setTimeout(
      () => abort.abort(new Error(`list timed out after ${this.options.listTimeoutMs} ms`)),
      this.options.listTimeoutMs,
    );
    try {
      const list = await this.source.list(abort.signal);
      if (gen !== this.gen) throw new StaleChainError();
      return list;
    } catch (err) {
      if (gen !== this.gen) throw new StaleChainError();
      throw abort.signal.aborted && abort.signal.reason instanceof Error ? abort.signal.reason : err;
    } finally {
      this.clock.clearTimeout(timer);
      if (this.listAbort === abort) this.listAbort = undefined;
    }
  }

  /** Called by GuardedWatch for every watch client-node opens. */
  async openWatch(
    open: (params: Record<string, string | number | boolean | undefined>,
      callback: (phase: string, obj: unknown, raw?: unknown) => void,
      done: (err: unknown) => void) => Promise<AbortController>,
    params: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, obj: unknown, raw?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    const gen = this.gen;
    const current = (): boolean => gen === this.gen;
    if (!current()) return aborted();
    // client-node opens a watch right after applying a list: that list is now in the cache.
    const afterList = params['resourceVersion'] !== undefined && this.supervisor.phase === 'listing';
    this.supervisor.watching();
    this.watchCount++;
    if (afterList) {
      this.listCount++;
      if (this.listCount > 1) this.logger.info({ informer: this.source.name, resourceVersion: params['resourceVersion'] }, 'relisted');
      this.handlers.listed?.();
    }
    const openedAt = this.clock.now();
    let events = 0;
    const t = this.options.watchTimeoutSeconds;
    const controller = await open(
      { ...params, allowWatchBookmarks: true, timeoutSeconds: Math.floor(t + t * this.random()) },
      (phase, obj, raw) => {
        if (!current()) return;
        // An ERROR event followed by a close is no sign of a working watch, except 410 Gone
        // (client-node then relists at once, as it should).
        if (phase !== 'ERROR' || (obj as { code?: unknown } | null)?.code === 410) events++;
        this.supervisor.activity();
        callback(phase, obj, raw);
      },
      (err) => {
        if (!current()) return;
        this.watchAbort = undefined;
        if (err === null || err === undefined) {
          if (this.supervisor.watchEnded(this.clock.now() - openedAt, events)) return;
        }
        if (current()) done(err);
      },
    );
    if (!current()) {
      controller.abort();
      return controller;
    }
    this.watchAbort = controller;
    this.supervisor.activity();
    return controller;
  }
}

function aborted(): AbortController {
  const c = new AbortController();
  c.abort();
  return c;
}

/** client-node's Watch, routed through SupervisedInformer.openWatch. */
class GuardedWatch<T extends KubernetesObject> extends Watch {
  constructor(config: KubeConfig, private readonly owner: SupervisedInformer<T>) {
    super(config);
  }

  override watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    return this.owner.openWatch((params, cb, dn) => super.watch(path, params, cb, dn), queryParams, callback, done);
  }
}
