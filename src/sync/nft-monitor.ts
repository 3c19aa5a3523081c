/**
 * A long-lived `nft monitor` child (argument array, never a shell) in kpx's own network
 * namespace, restarted with backoff when it dies. Its output is parsed by drift.ts;
 * every committed transaction touching kpx's tables is handed to `onTransaction`.
 * While no monitor runs, drift cannot be seen: `onGap` is called when a monitor
 * (re)starts after one had died, so the caller can assume the worst (full resync).
 *
 * Cost: nft prints one line per changed object; an incremental sync is a few lines, a
 * full sync of a big cluster many (only at start, hourly and after drift); nothing is
 * ever listed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Clock, TimerHandle } from '../watch/clock.js';
import { MonitorParser, type MonitorTransaction, type NftTable } from './drift.js';

export interface MonitorLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface NftMonitorOptions {
  readonly tables: readonly NftTable[];
  readonly onTransaction: (t: MonitorTransaction) => void;
  /** A monitor started after the previous one died: events may have been missed. */
  readonly onGap: () => void;
  readonly clock: Clock;
  readonly logger: MonitorLogger;
  /** The command; default `['nft', 'monitor']`. */
  readonly command?: readonly string[];
  readonly restartInitialMs?: number;
  readonly restartMaxMs?: number;
}

export class NftMonitor {
  private child: ChildProcess | undefined;
  private stopped = false;
  private restartTimer: TimerHandle | undefined;
  private failures = 0;
  private startedOnce = false;
  private startedAt = 0;

  constructor(private readonly options: NftMonitorOptions) {}

  start(): void {
    if (this.stopped || this.child !== undefined) return;
    const [cmd = 'nft', ...args] = this.options.command ?? ['nft', 'monitor'];
    const parser = new MonitorParser(this.options.tables);
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.startedAt = this.options.clock.now();
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      for (const t of parser.push(chunk)) this.options.onTransaction(t);
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { stderr = (stderr + chunk).slice(-2_000); });
    child.on('error', (err) => {
      this.options.logger.warn({ error: err.message, command: [cmd, ...args] }, 'nft monitor could not start; drift will only be repaired by periodic syncs until it runs');
    });
    child.on('close', (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (this.stopped) return;
      // A monitor that ran for a while and then died is not a streak of failures.
      if (this.options.clock.now() - this.startedAt > 10_000) this.failures = 0;
      this.failures++;
      const initial = this.options.restartInitialMs ?? 500;
      const delay = Math.min(this.options.restartMaxMs ?? 30_000, initial * 2 ** (this.failures - 1));
      this.options.logger.warn({ code, signal, stderr: stderr.trim(), restartInMs: delay }, 'nft monitor exited; restarting');
      this.restartTimer = this.options.clock.setTimeout(() => {
        this.restartTimer = undefined;
        this.start();
        this.options.onGap();
      }, delay);
    });
    if (!this.startedOnce) {
      this.startedOnce = true;
      this.options.logger.info({ command: [cmd, ...args], pid: child.pid }, 'nft monitor started (drift detection)');
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.restartTimer !== undefined) this.options.clock.clearTimeout(this.restartTimer);
    this.child?.kill('SIGTERM');
    this.child = undefined;
  }

  /** The monitor's pid (tests). */
  get pid(): number | undefined {
    return this.child?.pid;
  }
}

/** The parent pid of `pid` from /proc, undefined when the process is gone. */
export function parentPid(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // `pid (comm) state ppid …`; comm may hold spaces and parentheses.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(rest[1]);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}
