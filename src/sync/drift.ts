/**
 * Drift detection from `nft monitor`'s text output (pure).
 *
 * `nft monitor` prints every object change of a transaction, one line each
 * (`delete element ip kube-proxy service-ips { … }`, `delete table ip kube-proxy`), and
 * then `# new generation N by process PID (COMM)` when the transaction commits. The
 * parser groups lines into transactions; a transaction touching kpx's tables that kpx
 * did not make is drift.
 *
 * Telling kpx's own transactions from others' (the echo of our applies): the committing
 * process is ours when kpx recorded its pid when it spawned it (OwnProcesses, exact), or
 * when `/proc/PID/stat` names kpx as its parent (our `nft -f -`
 * children are still alive, or zombies not yet reaped, when the line arrives). When the
 * process is already gone, the transaction is ours only if a sync was applying at that
 * moment (or ended less than `graceMs` ago) — and never if it deleted a whole table of
 * ours while that sync was partial (kpx deletes its tables only in a full sync). A
 * process that exists with another parent (`nft flush ruleset` from a shell, `ip netns
 * exec … nft …`) is never ours. A misattribution costs at most one unneeded full sync
 * (ours taken for drift) or leaves drift for the next periodic sync (another's taken for
 * ours, only when it commits during one of our own applies and is gone at once).
 */

export interface NftTable {
  readonly family: string;
  readonly name: string;
}

export interface MonitorTransaction {
  /** Object-change lines touching one of the watched tables. */
  readonly lines: readonly string[];
  /** A watched table itself was deleted (flush ruleset, delete table). */
  readonly tableDeleted: boolean;
  readonly generation?: number;
  readonly pid?: number;
  readonly comm?: string;
}

const NEWGEN = /^# new generation (\d+)(?: by process (\d+) \(([^)]*)\))?/;

/** Splits `nft monitor` output into committed transactions touching `tables`. */
export class MonitorParser {
  private partial = '';
  private lines: string[] = [];
  private tableDeleted = false;
  private readonly tableKeys: Set<string>;

  constructor(tables: readonly NftTable[]) {
    this.tableKeys = new Set(tables.map((t) => `${t.family} ${t.name}`));
  }

  /** Feeds a chunk of output; returns the transactions it completed that touch our tables. */
  push(chunk: string): MonitorTransaction[] {
    const text = this.partial + chunk;
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    const out: MonitorTransaction[] = [];
    for (const line of parts) {
      const gen = NEWGEN.exec(line);
      if (gen !== null) {
        if (this.lines.length > 0) {
          out.push({
            lines: this.lines,
            tableDeleted: this.tableDeleted,
            generation: Number(gen[1]),
            ...(gen[2] !== undefined ? { pid: Number(gen[2]) } : {}),
            ...(gen[3] !== undefined ? { comm: gen[3] } : {}),
          });
        }
        this.lines = [];
        this.tableDeleted = false;
        continue;
      }
      const touched = this.touches(line);
      if (touched === undefined) continue;
      this.lines.push(line);
      if (touched) this.tableDeleted = true;
    }
    return out;
  }

  /** undefined: not about our tables; true: deletes one of them; false: any other change. */
  private touches(line: string): boolean | undefined {
    // `VERB OBJECT FAMILY TABLE …`, e.g. `add element ip kube-proxy service-ips { … }`,
    // `delete table ip6 kube-proxy`, `flush chain ip kube-proxy services`.
    const m = /^(\S+) (\S+) (\S+) (\S+)/.exec(line);
    if (m === null || !this.tableKeys.has(`${m[3]} ${m[4]}`)) return undefined;
    return m[2] === 'table' && (m[1] === 'delete' || m[1] === 'destroy' || m[1] === 'flush');
  }
}

/** Pids of the kernel-tool processes kpx started (bounded: the most recent ones). */
export class OwnProcesses {
  private readonly pids = new Set<number>();

  constructor(private readonly limit = 256) {}

  /** Called with the pid of every `nft` kpx spawns. */
  note(pid: number | undefined): void {
    if (pid === undefined) return;
    this.pids.add(pid);
    if (this.pids.size > this.limit) this.pids.delete(this.pids.values().next().value as number);
  }

  has(pid: number): boolean {
    return this.pids.has(pid);
  }
}

/** What kpx knows of its own applies, for attribution. */
export interface OwnActivity {
  /** kpx's process id. */
  readonly pid: number;
  /** Processes kpx is known to have started (exact, when the kernel adapter reports them). */
  readonly spawned?: OwnProcesses;
  /** The parent pid of a process, undefined when it no longer exists. */
  parentOf(pid: number): number | undefined;
  /** A sync is applying now, or ended within the grace period; and whether it is full. */
  recentSync(): { readonly full: boolean } | undefined;
}

/** 'own' for the echo of kpx's own transaction, else 'drift'. */
export function attribute(t: MonitorTransaction, own: OwnActivity): 'own' | 'drift' {
  if (t.pid !== undefined && own.spawned?.has(t.pid) === true) return 'own';
  if (t.pid !== undefined) {
    const parent = own.parentOf(t.pid);
    if (parent !== undefined) return parent === own.pid ? 'own' : 'drift';
  }
  const sync = own.recentSync();
  if (sync === undefined) return 'drift';
  if (t.tableDeleted && !sync.full) return 'drift';
  return t.comm === undefined || t.comm === 'nft' ? 'own' : 'drift';
}
