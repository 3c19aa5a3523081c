/**
 * The contract between the controller (`kpx run`: watch layer, runner, health) and a
 * backend's proxier (incremental model + render + diff + kernel apply). The controller
 * never decides Service semantics and never runs kernel tools; a proxier never watches.
 */
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import type { FamilyState, IPFamily, Problem, ProxyOptions, ServicePort } from '../model/types.js';
import type { ClusterSnapshot } from '../model/snapshot.js';

/** Read access to the committed cluster state (the watch layer as of its last apply()). */
export interface ClusterView {
  /** Everything, as the model takes it (used by full syncs). */
  snapshot(): ClusterSnapshot;
  /** The committed Service `namespace/name` (undefined: none) and every slice labelled for it. */
  service(key: string): { readonly service: V1Service | undefined; readonly slices: readonly V1EndpointSlice[] };
  /** This node's object, if it exists. */
  node(): V1Node | undefined;
}

/** What changed since the previous sync request (the watch layer's ChangeSet). */
export interface SyncChanges {
  /** `namespace/name` of every Service whose Service object or slices changed. */
  readonly services: ReadonlySet<string>;
  /** This node's object changed (addresses, labels, zone): everything is recomputed. */
  readonly node: boolean;
}

export interface SyncRequest {
  readonly view: ClusterView;
  /** 'all': recompute everything (first sync, options changed, after a failure). */
  readonly changes: SyncChanges | 'all';
  readonly options: ProxyOptions;
  /** Replace kpx's kernel state as a whole (periodic full sync, drift repair). */
  readonly full?: boolean;
}

/** Milliseconds spent in each stage of one sync. */
export interface SyncTimings {
  readonly model: number;
  readonly render: number;
  readonly diff: number;
  /** Serialisation plus the kernel tool's run. */
  readonly apply: number;
}

export interface SyncResult {
  /** full: kpx's tables replaced; partial: only changed pieces sent; noop: no kernel call. */
  readonly kind: 'full' | 'partial' | 'noop';
  /** Kernel operations sent (element adds/deletes, chain adds/flushes/deletes, ...); 0 for noop. */
  readonly kernelOps: number;
  /** Every problem the model currently knows of (all Services, not just the changed ones). */
  readonly problems: readonly Problem[];
  readonly timings: SyncTimings;
  /** The model as this sync programmed it (read-only; valid until the next sync). */
  readonly model: ModelReader;
  /** Service keys whose resolved ports may have changed in this sync; 'all' after a rebuild. */
  readonly affected: ReadonlySet<string> | 'all';
}

/** Read access to the proxier's model (IncrementalModel implements it). */
export interface ModelReader {
  /** Every Service key with ports or problems. */
  keys(): Iterable<string>;
  /** A Service's ports in one family after conflict resolution ([] when none). */
  ports(key: string, family: IPFamily): readonly ServicePort[];
  /** The family's node-wide state (its `services` field is not filled in). */
  family(family: IPFamily): FamilyState;
}

/**
 * Work that follows a successful sync (UDP conntrack cleanup, health check servers).
 * Called in order after every successful sync; a throw is logged and does not fail the sync.
 */
export interface SyncObserver {
  readonly name: string;
  afterSync(result: SyncResult): void | Promise<void>;
}

/**
 * One backend's proxier. `sync` is never called concurrently. When it throws, nothing
 * was half-applied (kernel transactions are atomic), the proxier has forgotten what it
 * applied, and its next sync is full.
 */
export interface Proxier {
  readonly backend: 'nftables' | 'iptables' | 'ipvs';
  sync(request: SyncRequest): Promise<SyncResult>;
  /** Forget what was applied (drift seen, kernel state in doubt): the next sync is full. */
  invalidate(): void;
}
