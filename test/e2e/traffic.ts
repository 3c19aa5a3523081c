/**
 * Drives one traffic generator (generator.mjs) inside a namespace: records every request
 * as it finishes, so a test can wait for what the traffic shows while it keeps running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe as describeReqs, firstAfter, settledAfter, type Req } from './judge.js';

const GENERATOR = join(dirname(fileURLToPath(import.meta.url)), 'generator.mjs');

export interface Stream {
  readonly id: string;
  readonly proto: 'tcp' | 'udp';
  readonly dst: string;
  readonly dport: number;
  /** Default 20 ms. */
  readonly intervalMs?: number;
  /** Default 1000 ms. */
  readonly timeoutMs?: number;
}

export interface TrafficOptions {
  /** Hard bounds, whatever the test does (defaults: 5 min, 60 000 requests). */
  readonly maxDurationMs?: number;
  readonly maxCount?: number;
}

export class Traffic {
  private readonly records: Req[] = [];
  private readonly child: ChildProcess;
  private readonly done: Promise<void>;
  /** Resolves once the generator sends (node starts slowly under load). */
  readonly started: Promise<void>;
  private stderr = '';
  private readonly timeouts = new Map<string, number>();

  constructor(ns: string, streams: readonly Stream[], options: TrafficOptions = {}) {
    this.child = spawn('ip', ['netns', 'exec', ns, process.execPath, GENERATOR], { stdio: ['pipe', 'pipe', 'pipe'] });
    let buf = '';
    let onStart: () => void = () => undefined;
    this.started = new Promise((resolve) => { onStart = resolve; });
    this.done = new Promise((resolve) => {
      this.child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        buf += d;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          const rec = JSON.parse(line) as Req | { done: true } | { started: true };
          if ('done' in rec) resolve();
          else if ('started' in rec) onStart();
          else this.records.push(rec);
        }
      });
      this.child.on('exit', () => { onStart(); resolve(); });
    });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => { this.stderr += d; });
    this.child.stdin!.on('error', () => { /* generator gone */ });
    for (const st of streams) this.timeouts.set(st.id, st.timeoutMs ?? 1000);
    const config = {
      streams: streams.map((s) => ({ intervalMs: 20, timeoutMs: 1000, ...s })),
      maxDurationMs: options.maxDurationMs ?? 300_000,
      maxCount: options.maxCount ?? 60_000,
    };
    this.child.stdin!.write(`${JSON.stringify(config)}\n`);
  }

  /** Records so far (finished requests), optionally of one stream. */
  reqs(id?: string): Req[] {
    return id === undefined ? [...this.records] : this.records.filter((r) => r.id === id);
  }

  /** Waits until `n` requests of each stream `ids` have finished (a slow start under load must not shrink a sample). */
  async collect(ids: readonly string[], n: number, timeoutMs = 30_000): Promise<void> {
    for (const id of ids) await this.until(id, `${n} requests`, timeoutMs, () => this.reqs(id)[n - 1]);
  }

  /** Stops sending, waits for in-flight requests, returns every record. */
  async stop(): Promise<Req[]> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.stdin!.end('stop\n');
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.done;
    clearTimeout(kill);
    if (this.records.length === 0 && this.stderr !== '') throw new Error(`traffic generator: ${this.stderr}`);
    return this.reqs();
  }

  /** Waits until a request of `id` started at or after `since` satisfies `pred`. */
  async first(id: string, since: number, pred: (r: Req) => boolean, what: string, timeoutMs = 10_000): Promise<Req> {
    return this.until(id, what, timeoutMs, () => firstAfter(this.reqs(id), since, pred));
  }

  /** Waits until every request of `id` from some point after `since` on satisfies `pred` (see settledAfter). */
  async settled(id: string, since: number, pred: (r: Req) => boolean, what: string, timeoutMs = 10_000, minFollowing = 10): Promise<Req> {
    return this.until(id, what, timeoutMs, () => settledAfter(this.reqs(id), since, pred, minFollowing, this.horizon(id)));
  }

  /** Requests of `id` started before this have all finished (and are recorded). */
  horizon(id: string): number {
    return Date.now() - (this.timeouts.get(id) ?? 1000) - 100;
  }

  /** Waits until `check` (over what has been recorded so far) returns a request. */
  async until(id: string, what: string, timeoutMs: number, check: () => Req | undefined): Promise<Req> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = check();
      if (r !== undefined) return r;
      if (Date.now() > deadline) {
        const recent = this.reqs(id).slice(-50);
        throw new Error(`traffic ${id}: not seen within ${timeoutMs} ms: ${what}; last requests: ${describeReqs(recent)}`);
      }
      await new Promise((res) => setTimeout(res, 20));
    }
  }
}
