/**
 * Change tracking in the style of kube-proxy's ServiceChangeTracker /
 * EndpointsChangeTracker: between two applies, one `{previous, current}` per object.
 * `previous` is the object as of the last apply (undefined: did not exist), `current` the
 * latest seen (undefined: deleted). A change that undoes itself (A → B → A, or created
 * and deleted again) leaves previous equal to current and disappears. `apply()` commits
 * the pending changes and returns the Service keys (`namespace/name`) they touch, which
 * drives partial syncs.
 *
 * The committed state — not the informer's cache — is what `objects()` returns, so a
 * snapshot and the change set of the same apply always agree.
 */

export interface TrackedChange<T> {
  readonly previous: T | undefined;
  readonly current: T | undefined;
}

export interface TrackerOptions<T> {
  /** The Service keys an object belongs to (a slice: its Service; a Service: itself). */
  readonly serviceKeys: (obj: T) => readonly string[];
  /** Equal when the difference cannot matter to the proxy (resourceVersion etc. ignored). */
  readonly equal: (a: T, b: T) => boolean;
  /** Told about every change apply() commits (to keep indexes current in O(changed)). */
  readonly onCommit?: (key: string, previous: T | undefined, current: T | undefined) => void;
}

export class ChangeTracker<T> {
  private readonly committed = new Map<string, T>();
  private readonly pending = new Map<string, TrackedChange<T>>();

  constructor(private readonly options: TrackerOptions<T>) {}

  /** Records the latest state of the object stored under `key` (undefined: deleted). */
  update(key: string, current: T | undefined): void {
    const previous = this.pending.has(key) ? this.pending.get(key)!.previous : this.committed.get(key);
    if (same(previous, current, this.options.equal)) this.pending.delete(key);
    else this.pending.set(key, { previous, current });
  }

  /** Changes waiting for the next apply. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** The pending change of one object, if any (for tests and `explain`). */
  pendingChange(key: string): TrackedChange<T> | undefined {
    return this.pending.get(key);
  }

  /** Commits every pending change; returns the Service keys they touch. */
  apply(): Set<string> {
    const keys = new Set<string>();
    for (const [key, change] of this.pending) {
      for (const obj of [change.previous, change.current]) {
        if (obj !== undefined) for (const k of this.options.serviceKeys(obj)) keys.add(k);
      }
      if (change.current === undefined) this.committed.delete(key);
      else this.committed.set(key, change.current);
      this.options.onCommit?.(key, change.previous, change.current);
    }
    this.pending.clear();
    return keys;
  }

  /** The committed object under `key` (as of the last apply). */
  get(key: string): T | undefined {
    return this.committed.get(key);
  }

  /** The latest object seen under `key`, committed or not (undefined: none or deleted). */
  latest(key: string): T | undefined {
    const change = this.pending.get(key);
    return change !== undefined ? change.current : this.committed.get(key);
  }

  /** The committed objects (as of the last apply), in key order. */
  objects(): T[] {
    return [...this.committed.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
  }
}

function same<T>(a: T | undefined, b: T | undefined, equal: (a: T, b: T) => boolean): boolean {
  if (a === undefined || b === undefined) return a === b;
  return equal(a, b);
}

/**
 * JSON with sorted keys; undefined members left out as JSON.stringify does. Objects
 * from a list (client-node's model classes, undefined fields present) and from a watch
 * (plain JSON) of the same content give the same text.
 */
export function canonicalJSON(value: unknown): string {
  return JSON.stringify(sortKeys(value)) ?? 'undefined';
}

function sortKeys(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortKeys(v);
    }
    return out;
  }
  return value;
}
