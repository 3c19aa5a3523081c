/**
 * Real packets through kpx's nftables rules. For every scenario in test/scenarios: run
 * the real CLI (`node bin/kpx.js render --backend nftables -f cluster.yaml <args>`),
 * load the script into the node namespace with `nft -f -`, then run that scenario's
 * cases from flows.ts with real TCP/UDP probes. One topology for the whole file.
 *
 * Needs root, iproute2, nftables, conntrack, and a built CLI (`npm run build`; `npm test`
 * builds first).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { checkFlow, summarize } from './check.js';
import { FLOWS, probeCount, type FlowCase } from './flows.js';
import { KernelHarness, type ProbeResult, type ServerSpec } from './harness.js';
import { DEFAULT_RENDER_ARGS } from './topology.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCENARIOS = join(ROOT, 'test', 'scenarios');
const KPX = join(ROOT, 'bin', 'kpx.js');

const scenarios = readdirSync(SCENARIOS, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(SCENARIOS, d.name, 'cluster.yaml')))
  .map((d) => d.name)
  .sort();

function renderArgs(scenario: string): string[] {
  const file = join(SCENARIOS, scenario, 'args');
  const extra = existsSync(file) ? readFileSync(file, 'utf8').trim().split(/\s+/).filter((a) => a !== '') : [...DEFAULT_RENDER_ARGS];
  return ['render', '--backend', 'nftables', '-f', join(SCENARIOS, scenario, 'cluster.yaml'), ...extra];
}

interface Rendered { readonly code: number; readonly script: string; readonly stderr: string }

function renderScenario(scenario: string): Promise<Rendered> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [KPX, ...renderArgs(scenario)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let script = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { script += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, script, stderr }));
  });
}

/** Echo servers for every endpoint address and port any scenario's slices name. */
function serverSpecs(h: KernelHarness): ServerSpec[] {
  const specs = new Map<string, ServerSpec>();
  for (const s of scenarios) {
    for (const doc of parseAllDocuments(readFileSync(join(SCENARIOS, s, 'cluster.yaml'), 'utf8'))) {
      const obj = doc.toJS() as { kind?: string; addressType?: string; endpoints?: { addresses?: string[] }[] | null; ports?: { port?: number; protocol?: string }[] | null } | null;
      if (obj?.kind !== 'EndpointSlice' || (obj.addressType !== 'IPv4' && obj.addressType !== 'IPv6')) continue;
      for (const e of obj.endpoints ?? []) {
        for (const ip of e.addresses ?? []) {
          try { h.namespaceOf(ip); } catch { continue; }
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

function describeCase(c: FlowCase): string {
  return `${c.from} → ${c.proto} ${c.dst.includes(':') ? `[${c.dst}]` : c.dst}:${c.dport}`;
}

describe('nftables backend with real packets', () => {
  let h: KernelHarness;

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
      throw new Error('dist/cli/main.js is missing: run `npm run build` first (npm test builds).');
    }
    h = await KernelHarness.create();
    await h.startServers(serverSpecs(h));
  }, 90000);

  afterAll(async () => {
    await h?.dispose();
  }, 30000);

  test('every scenario named by a flow case exists', () => {
    expect([...new Set(FLOWS.map((f) => f.scenario))].filter((s) => !scenarios.includes(s))).toEqual([]);
  });

  describe.each(scenarios)('%s', (scenario) => {
    const cases = FLOWS.filter((f) => f.scenario === scenario);
    let rendered: Rendered | undefined;
    let loadError: unknown;
    let tables = '';
    const results = new Map<string, ProbeResult[]>();

    beforeAll(async () => {
      rendered = await renderScenario(scenario);
      if (rendered.code !== 0) return;
      await h.resetNft();
      try {
        await h.applyNft(rendered.script);
      } catch (err) {
        loadError = err;
        return;
      }
      tables = await h.nodeExec('nft', ['list', 'tables']);
      await h.flushConntrack();
      const groups = cases.map((c, i) => ({
        id: String(i),
        from: c.from,
        concurrency: c.expect.kind === 'sticky' ? 1 : 20,
        probes: Array.from({ length: probeCount(c) }, () => ({ proto: c.proto, dst: c.dst, dport: c.dport })),
      }));
      for (const [id, r] of await h.sendGroups(groups)) results.set(id, r);
    }, 60000);

    test('renders with exit 0 and loads into the kernel, creating only kube-proxy tables', () => {
      if (rendered === undefined) throw new Error('render did not run');
      if (rendered.code !== 0) throw new Error(`kpx ${renderArgs(scenario).join(' ')} exited ${rendered.code}:\n${rendered.stderr}`);
      if (loadError !== undefined) throw loadError;
      const names = tables.split('\n').map((l) => l.trim()).filter((l) => l !== '').sort();
      expect(names.filter((t) => t !== 'table ip kube-proxy' && t !== 'table ip6 kube-proxy')).toEqual([]);
      expect(names).toContain('table ip kube-proxy');
    });

    test.each(cases.map((c, i) => [c.name, c, i] as const))('%s', (_name, c, i) => {
      if (rendered?.code !== 0 || loadError !== undefined) throw new Error('ruleset not loaded (see the render/load test)');
      const r = results.get(String(i));
      if (r === undefined) throw new Error('no probe results');
      const problems = checkFlow(c, r);
      if (problems.length > 0) {
        throw new Error(`${describeCase(c)}: ${problems.join('; ')}\n  outcomes: ${summarize(r)}`);
      }
    });
  });
});
