/**
 * Real packets through kpx's iptables rules, with both iptables backends the kernel
 * offers: iptables-nft (nf_tables underneath) and iptables-legacy (x_tables). For every
 * scenario in test/scenarios: run the real CLI (`node bin/kpx.js render --backend
 * iptables -f cluster.yaml <args>`), load the output as documented (`sh`, with
 * IPTABLES=iptables-<v> IP6TABLES=ip6tables-<v>) into the node namespace, then run that
 * scenario's cases from flows.ts with real TCP/UDP probes.
 *
 * Cases kube-proxy's iptables layout does not honour are listed in NOT_HONOURED with the
 * reason; they still run, and must still behave as the reason says (so a change in
 * behaviour is noticed either way).
 *
 * Needs root, iproute2, nftables, conntrack, iptables (both variants), and a built CLI.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { FLOWS } from './flows.js';
import { NOT_HONOURED as NOT_HONOURED_BY } from './not-honoured.js';
import { KernelHarness, type ProbeResult } from './harness.js';
import { inNode, judge, probeCases, renderArgs, renderScenario, requireBuiltCli, scenarios, serverSpecs, type RunResult } from './suite.js';

type Variant = 'nft' | 'legacy';
const VARIANTS: readonly Variant[] = ['nft', 'legacy'];

/** Flow cases iptables mode does not honour, with the reasons (shared with the tracer conformance suite). */
const NOT_HONOURED = NOT_HONOURED_BY.iptables;

/** Empties both variants' tables in the node namespace, so only one variant's rules act. */
async function resetNode(h: KernelHarness): Promise<void> {
  await h.resetNft(); // iptables-nft keeps its tables in nf_tables
  for (const tool of ['iptables-legacy', 'ip6tables-legacy']) {
    for (const table of ['filter', 'nat']) {
      await inNode(h, tool, ['-t', table, '-F']);
      await inNode(h, tool, ['-t', table, '-X']);
    }
  }
}

describe('iptables backend with real packets', () => {
  let h: KernelHarness;
  const rendered = new Map<string, RunResult>();

  beforeAll(async () => {
    requireBuiltCli();
    for (const s of scenarios) rendered.set(s, await renderScenario('iptables', s));
    h = await KernelHarness.create();
    await h.startServers(serverSpecs((ip) => h.hosts(ip)));
  }, 300000); // 15 renders and the topology; slow on a busy machine

  afterAll(async () => {
    await h?.dispose();
  }, 30000);

  test('every scenario named by a flow case exists', () => {
    expect([...new Set(FLOWS.map((f) => f.scenario))].filter((s) => !scenarios.includes(s))).toEqual([]);
  });

  test('every not-honoured case names a real flow case', () => {
    expect(Object.keys(NOT_HONOURED).filter((n) => !FLOWS.some((f) => f.name === n))).toEqual([]);
  });

  describe.each(VARIANTS)('iptables-%s', (variant) => {
    describe.each(scenarios)('%s', (scenario) => {
      const cases = FLOWS.filter((f) => f.scenario === scenario);
      let loadError: unknown;
      let saved = '';
      let results = new Map<string, ProbeResult[]>();

      beforeAll(async () => {
        const r = rendered.get(scenario);
        if (r?.code !== 0) return;
        try {
          await resetNode(h);
          // The whole output, as printed: a sh script for both families.
          await inNode(h, 'env', [`IPTABLES=iptables-${variant}`, `IP6TABLES=ip6tables-${variant}`, 'sh', '-s'], r.stdout);
        } catch (err) {
          loadError = err;
          return;
        }
        saved = await inNode(h, `iptables-${variant}-save`, ['-t', 'nat']);
        await h.flushConntrack();
        results = await probeCases(h, cases, NOT_HONOURED);
      }, 90000);

      test('renders with exit 0 and loads with sh as printed', () => {
        const r = rendered.get(scenario);
        if (r === undefined) throw new Error('render did not run');
        if (r.code !== 0) throw new Error(`kpx ${renderArgs('iptables', scenario).join(' ')} exited ${r.code}:\n${r.stderr}`);
        if (loadError !== undefined) throw loadError;
        expect(saved).toContain(':KUBE-SERVICES - [0:0]');
        expect(saved).toMatch(/-A PREROUTING .*-j KUBE-SERVICES/);
      });

      test.each(cases.map((c, i) => [c.name, c, i] as const))('%s', (_name, c, i) => {
        if (rendered.get(scenario)?.code !== 0 || loadError !== undefined) throw new Error('ruleset not loaded (see the render/load test)');
        judge('iptables mode', c, results.get(String(i)), NOT_HONOURED);
      });
    });
  });
});
