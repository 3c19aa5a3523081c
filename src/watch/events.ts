/**
 * Kubernetes Events from kpx, as kube-proxy records them: events.k8s.io/v1 through the
 * API (client-go tools/events: reportingController is the component, reportingInstance
 * `<component>-<host>`, the name `<regarding name>.<hex nanoseconds>`, the namespace the
 * regarding object's). kpx reports as controller `kpx`, instance `kpx-<node name>`.
 *
 * Rate limit: the same (object, reason) is posted at most once per window (default 10
 * minutes; client-go aggregates repeats into a series instead, which the API never needs
 * from kpx). The memory of what was posted is bounded (oldest forgotten first).
 * A post that fails is logged at debug and counted, never thrown: Events are a courtesy
 * to the operator, never a reason to stop proxying.
 */
import { EventsV1Api, V1MicroTime, type EventsV1Event, type KubeConfig } from '@kubernetes/client-node';
import type { Counter } from 'prom-client';
import type { Logger } from '../observe/logger.js';

/** The object an Event is about. */
export interface Regarding {
  readonly kind: string;
  readonly apiVersion: string;
  readonly namespace?: string;
  readonly name: string;
  readonly uid?: string;
}

export type EventType = 'Normal' | 'Warning';

/** What a caller reports; the recorder adds the rest. */
export interface EventReport {
  readonly regarding: Regarding;
  readonly type: EventType;
  readonly reason: string;
  readonly action: string;
  readonly note: string;
}

/** Upstream's limit for `note` (k8s.io/kubernetes pkg/apis/core/validation/events.go NoteLengthLimit). */
export const NOTE_LIMIT = 1024;

/** The Event object for a report (pure). `seq` keeps names unique within one millisecond. */
export function buildEvent(r: EventReport, controller: string, instance: string, nowMs: number, seq: number): EventsV1Event {
  const nanos = BigInt(nowMs) * 1_000_000n + BigInt(seq % 1_000_000);
  const namespace = r.regarding.namespace ?? 'default';
  const note = r.note.length > NOTE_LIMIT ? `${r.note.slice(0, NOTE_LIMIT - 3)}...` : r.note;
  return {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: { name: `${r.regarding.name}.${nanos.toString(16)}`, namespace },
    eventTime: new V1MicroTime(nowMs),
    reportingController: controller,
    reportingInstance: instance,
    action: r.action,
    reason: r.reason,
    type: r.type,
    note,
    regarding: {
      kind: r.regarding.kind,
      apiVersion: r.regarding.apiVersion,
      name: r.regarding.name,
      ...(r.regarding.namespace !== undefined ? { namespace: r.regarding.namespace } : {}),
      ...(r.regarding.uid !== undefined ? { uid: r.regarding.uid } : {}),
    },
  };
}

/** At most one pass per key per window; remembers at most `capacity` keys (pure, injected time). */
export class EventThrottle {
  private readonly last = new Map<string, number>();

  constructor(readonly windowMs: number, readonly capacity: number) {}

  /** True when `key` may be posted at `now` (and records it). */
  admit(key: string, now: number): boolean {
    const prev = this.last.get(key);
    if (prev !== undefined && now - prev < this.windowMs) return false;
    this.last.delete(key); // re-inserted last: the map stays in posting order
    this.last.set(key, now);
    for (const [k, t] of this.last) {
      if (this.last.size <= this.capacity && now - t < this.windowMs) break;
      this.last.delete(k);
    }
    return true;
  }

  get size(): number {
    return this.last.size;
  }
}

/** Posts one Event (EventsV1Api.createNamespacedEvent in production). */
export type EventSink = (namespace: string, body: EventsV1Event) => Promise<unknown>;

export function apiEventSink(kc: KubeConfig): EventSink {
  const api = kc.makeApiClient(EventsV1Api);
  return (namespace, body) => api.createNamespacedEvent({ namespace, body });
}

export interface EventRecorderOptions {
  readonly sink: EventSink;
  /** This node's name: reportingInstance is `kpx-<node>`. */
  readonly nodeName: string;
  readonly logger: Logger;
  readonly failures?: Pick<Counter, 'inc'>;
  readonly now?: () => number;
  readonly windowMs?: number;
  readonly capacity?: number;
}

export const REPORTING_CONTROLLER = 'kpx';

export class EventRecorder {
  private readonly throttle: EventThrottle;
  private readonly now: () => number;
  private seq = 0;
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly opts: EventRecorderOptions) {
    this.throttle = new EventThrottle(opts.windowMs ?? 10 * 60_000, opts.capacity ?? 1024);
    this.now = opts.now ?? Date.now;
  }

  get instance(): string {
    return `${REPORTING_CONTROLLER}-${this.opts.nodeName}`;
  }

  /** Posts the Event in the background unless the same object and reason was posted within the window. */
  record(r: EventReport): void {
    const g = r.regarding;
    const now = this.now();
    if (!this.throttle.admit(`${g.kind}|${g.namespace ?? ''}|${g.name}|${r.reason}`, now)) return;
    const body = buildEvent(r, REPORTING_CONTROLLER, this.instance, now, this.seq++);
    const p = this.opts.sink(body.metadata!.namespace!, body).then(() => undefined, (err: unknown) => {
      this.opts.failures?.inc();
      const e = err as { code?: number; body?: unknown; message?: string };
      this.opts.logger.debug({ reason: r.reason, object: `${g.namespace ?? ''}/${g.name}`, code: e.code, error: e.message ?? String(err) },
        'could not post an Event');
    }).finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  /** Resolves when every post started so far has finished (tests, shutdown). */
  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }
}
