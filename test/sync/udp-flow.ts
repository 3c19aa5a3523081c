/**
 * A long-lived UDP flow (udp-flow-client.mjs: one socket, one source port, a datagram every
 * 50 ms — one conntrack entry) run in a namespace, and its events as they come. Used by
 * the real-kernel conntrack test and the e2e conntrack test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const FLOW_CLIENT = join(dirname(fileURLToPath(import.meta.url)), 'udp-flow-client.mjs');

export interface FlowEvent { readonly t: number; readonly kind: 'started' | 'answer' | 'error'; readonly endpoint?: string; readonly code?: string }

/** One long-lived UDP flow (udp-flow-client.mjs) in a namespace; its events as they come. */
export class UdpFlowProcess {
  readonly events: FlowEvent[] = [];
  private readonly child: ChildProcess;
  constructor(ns: string, spec: { dst: string; dport: number; sport: number; src: string }) {
    this.child = spawn('ip', ['netns', 'exec', ns, process.execPath, FLOW_CLIENT, JSON.stringify({ ...spec, intervalMs: 50 })], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    this.child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        this.events.push(JSON.parse(buf.slice(0, i)) as FlowEvent);
        buf = buf.slice(i + 1);
      }
    });
  }
  /** The first event at or after `since` that `pred` accepts; throws after `timeoutMs`. */
  async waitFor(pred: (e: FlowEvent) => boolean, since: number, timeoutMs: number, what: string): Promise<FlowEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const e = this.events.find((x) => x.t >= since && pred(x));
      if (e) return e;
      if (Date.now() > deadline) throw new Error(`${what}: not seen within ${timeoutMs} ms; last events: ${JSON.stringify(this.events.slice(-5))}`);
      await sleep(20);
    }
  }
  answers(from: number, to = Infinity): string[] {
    return this.events.filter((e) => e.kind === 'answer' && e.t >= from && e.t < to).map((e) => e.endpoint ?? '?');
  }
  errors(from: number): string[] {
    return this.events.filter((e) => e.kind === 'error' && e.t >= from).map((e) => e.code ?? '?');
  }
  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return resolve();
      this.child.once('exit', () => resolve());
      this.child.kill('SIGTERM');
    });
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const answer = (ep: string) => (e: FlowEvent): boolean => e.kind === 'answer' && e.endpoint === ep;

