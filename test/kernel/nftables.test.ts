/**
 * Real packets through kpx's nftables rules. For every scenario in test/scenarios: run
 * the real CLI (`node bin/kpx.js render --backend nftables -f cluster.yaml <args>`),
 * load the script into the node namespace with `nft -f -`, then run that scenario's
 * cases from flows.ts with real TCP/UDP probes. One topology for the whole file.
 *
 * Needs root, iproute2, nftables, conntrack, and a built CLI (`npm test` builds first).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { FLOWS } from './flows.js';
import { KernelHarness, type ProbeResult } from './harness.js';
import { judge, probeCases, renderArgs, renderScenario, requireBuiltCli, scenarios, serverSpecs, type RunResult } from './suite.js';

describe('nftables backend with real packets', () => {
  let h: KernelHarness;

  beforeAll(async () => {
    requireBuiltCli();
    h = await KernelHarness.create();
    await h.startServers(serverSpecs((ip) => h.hosts(ip)));
  }, 90000);

  afterAll(async () => {
    await h?.dispose();
  }, 30000);

  test('every scenario named by a flow case exists', () => {
    expect([...new Set(FLOWS.map((f) => f.scenario))].filter((s) => !scenarios.includes(s))).toEqual([]);
  });

  describe.each(scenarios)('%s', (scenario) => {
    const cases = FLOWS.filter((f) => f.scenario === scenario);
    let rendered: RunResult | undefined;
    let loadError: unknown;
    let tables = '';
    let results = new Map<string, ProbeResult[]>();

    beforeAll(async () => {
      rendered = await renderScenario('nftables', scenario);
      if (rendered.code !== 0) return;
      await h.resetNft();
      try {
        await h.applyNft(rendered.stdout);
      } catch (err) {
        loadError = err;
        return;
      }
      tables = await h.nodeExec('nft', ['list', 'tables']);
      await h.flushConntrack();
      results = await probeCases(h, cases);
    }, 60000);

    test('renders with exit 0 and loads into the kernel, creating only kube-proxy tables', () => {
      if (rendered === undefined) throw new Error('render did not run');
      if (rendered.code !== 0) throw new Error(`kpx ${renderArgs('nftables', scenario).join(' ')} exited ${rendered.code}:\n${rendered.stderr}`);
      if (loadError !== undefined) throw loadError;
      const names = tables.split('\n').map((l) => l.trim()).filter((l) => l !== '').sort();
      expect(names.filter((t) => t !== 'table ip kube-proxy' && t !== 'table ip6 kube-proxy')).toEqual([]);
      expect(names).toContain('table ip kube-proxy');
    });

    test.each(cases.map((c, i) => [c.name, c, i] as const))('%s', (_name, c, i) => {
      if (rendered?.code !== 0 || loadError !== undefined) throw new Error('ruleset not loaded (see the render/load test)');
      judge('nftables', c, results.get(String(i)));
    });
  });
});
