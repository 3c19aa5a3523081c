/**
 * What the e2e test files share above the world: endpoint names, "write, then watch the
 * traffic until it shows the change" with its latency, and the figures printed at the end
 * (a block the lead can paste into a closing note).
 */
import { describe as describeReqs, percentile, type Req } from './judge.js';
import type { Traffic } from './traffic.js';
import { E2E, podIP } from './topology.js';
import type { World } from './world.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The endpoint string an echo server answers with for pod 10.244.1.<h>. */
export const ep = (h: number): string => `${podIP(h)}:${E2E.podPort}`;

export const okFrom = (...hosts: number[]) => {
  const want = new Set(hosts.map(ep));
  return (r: Req): boolean => r.kind === 'ok' && r.endpoint !== undefined && want.has(r.endpoint);
};

export const failed = (r: Req): boolean => r.kind !== 'ok';

/** Figures of one test file, printed together at the end. */
export class Figures {
  private readonly lines: string[] = [];
  readonly latencies: { step: string; ms: number }[] = [];

  constructor(private readonly title: string, private readonly world: () => World | undefined) {}

  add(line: string): void {
    this.lines.push(line);
    process.stderr.write(`[e2e] ${line}\n`);
  }

  latency(step: string, ms: number): void {
    this.latencies.push({ step, ms });
    this.add(`${step}: programming latency ${Math.round(ms)} ms`);
  }

  latencySummary(): { p50: number; max: number } {
    const v = this.latencies.map((l) => l.ms);
    return { p50: percentile(v, 50), max: Math.max(...v) };
  }

  print(): void {
    const kind = `${this.world()?.kind ?? '?'}, mode ${this.world()?.mode ?? '?'}`;
    const out = [`=== e2e figures: ${this.title} (proxy: ${kind}, ${new Date().toISOString()}) ===`, ...this.lines];
    if (this.latencies.length > 0) {
      const s = this.latencySummary();
      out.push(`programming latency over ${this.latencies.length} changes: p50 ${Math.round(s.p50)} ms, max ${Math.round(s.max)} ms`);
    }
    console.log(out.join('\n'));
  }
}

/**
 * Writes a change (`write`), then waits until the traffic shows it (`observe`, given the
 * write time) and records the programming latency: the start of the first request that
 * saw the change, minus the moment the write was sent.
 */
export async function step(fig: Figures, name: string, write: () => Promise<unknown>, observe: (since: number) => Promise<Req>): Promise<{ since: number; seen: Req }> {
  const since = Date.now();
  await write();
  const seen = await observe(since);
  fig.latency(name, Math.max(0, seen.t0 - since));
  return { since, seen };
}

/** Waits until the proxy serves: a request to `dst:80` from the client pod answers. */
export async function waitServing(w: World, dst: string, timeoutMs = 90_000): Promise<number> {
  const start = Date.now();
  const t = w.traffic([{ id: 'ready', proto: 'tcp', dst, dport: 80, intervalMs: 100, timeoutMs: 500 }]);
  try {
    await t.first('ready', start, (r) => r.kind === 'ok', `${dst}:80 answers`, timeoutMs);
  } catch (err) {
    throw new Error(`${String(err)}\nproxy log (${w.proxy?.log}):\n${w.proxy?.tail() ?? ''}`);
  } finally {
    await t.stop();
  }
  return Date.now() - start;
}

/** The requests of `id` as one line, for failure messages and figures. */
export function summary(t: Traffic, id: string): string {
  return describeReqs(t.reqs(id));
}
