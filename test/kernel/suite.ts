/**
 * What every backend's real-packet suite shares: the scenario list, rendering through
 * the real CLI, echo servers for every endpoint the scenarios name, probe batches built
 * from flows.ts, and the judgement of a case (with a backend's not-honoured list).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { KPX, ROOT, SCENARIOS, scenarioArgs, scenarioNames } from '../helpers/scenarios.js';
import { checkFlow, summarize } from './check.js';
import type { FlowCase } from './flows.js';
import { caseGroups, caseResults, judgedCase } from './groups.js';
import { run, type KernelHarness, type ProbeResult, type RunResult, type ServerSpec } from './harness.js';
import type { NotHonoured } from './not-honoured.js';
import { DEFAULT_RENDER_ARGS } from './topology.js';

export const scenarios = scenarioNames().filter((s) => existsSync(join(SCENARIOS, s, 'cluster.yaml')));

export type { NotHonoured };

export type { RunResult };

/** Runs a command in the project root (see harness.ts `run`). */
export function runInRoot(cmd: string, args: readonly string[], input = ''): Promise<RunResult> {
  return run(cmd, args, input, ROOT);
}

export function renderArgs(backend: string, scenario: string): string[] {
  const args = scenarioArgs(scenario);
  return ['render', '--backend', backend, '-f', join(SCENARIOS, scenario, 'cluster.yaml'), ...(args.length > 0 ? args : DEFAULT_RENDER_ARGS)];
}

/** `kpx render` of one scenario, through the real (built) CLI. */
export function renderScenario(backend: string, scenario: string): Promise<RunResult> {
  return runInRoot(process.execPath, [KPX, ...renderArgs(backend, scenario)]);
}

export function requireBuiltCli(): void {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
    throw new Error('dist/cli/main.js is missing: run `npm run build` first (npm test builds).');
  }
}

/** Runs `cmd` inside the harness's node namespace (never anywhere else). */
export async function inNode(h: KernelHarness, cmd: string, args: readonly string[], input = ''): Promise<string> {
  const r = await runInRoot('ip', ['netns', 'exec', h.node, cmd, ...args], input);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} in ${h.node} exited ${r.code}:\n${r.stderr}`);
  return r.stdout;
}

/**
 * Echo servers for every endpoint address and port any scenario's slices name, where
 * `hosts(ip)` says the topology has a namespace for that address.
 */
export function serverSpecs(hosts: (ip: string) => boolean): ServerSpec[] {
  const specs = new Map<string, ServerSpec>();
  for (const s of scenarios) {
    for (const doc of parseAllDocuments(readFileSync(join(SCENARIOS, s, 'cluster.yaml'), 'utf8'))) {
      const obj = doc.toJS() as { kind?: string; addressType?: string; endpoints?: { addresses?: string[] }[] | null; ports?: { port?: number; protocol?: string }[] | null } | null;
      if (obj?.kind !== 'EndpointSlice' || (obj.addressType !== 'IPv4' && obj.addressType !== 'IPv6')) continue;
      for (const e of obj.endpoints ?? []) {
        for (const ip of e.addresses ?? []) {
          if (!hosts(ip)) continue;
          for (const p of obj.ports ?? []) {
            const proto = (p.protocol ?? 'TCP').toLowerCase();
            if (typeof p.port !== 'number' || p.port < 1 || p.port > 65535 || (proto !== 'tcp' && proto !== 'udp')) continue;
            specs.set(`${ip} ${p.port} ${proto}`, { ip, port: p.port, proto });
          }
        }
      }
    }
  }
  return [...specs.values()];
}

/**
 * Sends every case's probes (sticky cases: several clients, each one probe at a time;
 * groups.ts) and returns results by case index.
 */
export async function probeCases(
  h: KernelHarness, cases: readonly FlowCase[], notHonoured: Readonly<Record<string, NotHonoured>> = {},
): Promise<Map<string, ProbeResult[]>> {
  const groups = cases.map((c, i) => caseGroups(judgedCase(c, notHonoured), String(i)));
  const results = await h.sendGroups(groups.flat());
  const out = new Map<string, ProbeResult[]>();
  groups.forEach((g, i) => { const r = caseResults(g, (id) => results.get(id)); if (r !== undefined) out.set(String(i), r); });
  return out;
}

function describeCase(c: FlowCase): string {
  return `${c.from} → ${c.proto} ${c.dst.includes(':') ? `[${c.dst}]` : c.dst}:${c.dport}`;
}

/** Throws with a precise account when the probes do not show what the case expects. */
export function judge(backend: string, c: FlowCase, results: readonly ProbeResult[] | undefined, notHonoured: Readonly<Record<string, NotHonoured>> = {}): void {
  if (results === undefined) throw new Error('no probe results');
  const limit = notHonoured[c.name];
  const problems = checkFlow(judgedCase(c, notHonoured), results);
  if (problems.length > 0) {
    const note = limit ? ` [not honoured by ${backend}: ${limit.reason}; expected instead: ${limit.instead.kind}]` : '';
    throw new Error(`${describeCase(c)}: ${problems.join('; ')}${note}\n  outcomes: ${summarize(results)}`);
  }
}

/** A new, empty network namespace `ns` (one left by a dead run is deleted first). */
export async function freshNamespace(ns: string): Promise<void> {
  await run('ip', ['netns', 'del', ns]);
  const r = await run('ip', ['netns', 'add', ns]);
  if (r.code !== 0) throw new Error(`ip netns add ${ns}: ${r.stderr}`);
}
