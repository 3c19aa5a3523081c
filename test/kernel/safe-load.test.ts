/**
 * What `kpx render --backend iptables|ipvs` prints must be safe to load on a node that
 * other software programs too: in a private namespace that holds foreign rules, a foreign
 * chain with jumps from the built-in chains (CNI's `CNI-HOSTPORT`, from PREROUTING and
 * OUTPUT) and a DROP policy on FORWARD, the output is loaded twice as documented (`sh`),
 * with iptables-nft and iptables-legacy, IPv4 and IPv6. Afterwards every foreign rule,
 * chain and policy is still there, kpx's chains and jumps are there once each, and the
 * second load changed nothing (idempotent).
 *
 * Needs root, iproute2, iptables (both variants), ipset, and a built CLI. Only ever
 * touches the namespace it creates.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { join } from 'node:path';
import { splitIpvsOutput } from '../../src/render/ipvs/index.js';
import { KPX, SCENARIOS, scenarioArgs } from '../helpers/scenarios.js';
import { checkPrerequisites, run } from './harness.js';
import { freshNamespace, requireBuiltCli, runInRoot } from './suite.js';
import { FOREIGN } from './foreign.js';

type Variant = 'nft' | 'legacy';
const NS = `kpx-${process.pid}-90-safeload`;

async function inNs(cmd: string, args: readonly string[], input = '', env: Record<string, string> = {}): Promise<string> {
  const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const r = await run('ip', ['netns', 'exec', NS, 'env', ...envArgs, cmd, ...args], input);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} in ${NS} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}


const TOOL = { ipv4: 'iptables', ipv6: 'ip6tables' } as const;

/** iptables-save without counters, comments and the empty-chain noise of a fresh table. */
async function save(variant: Variant, family: 'ipv4' | 'ipv6'): Promise<string[]> {
  const out = await inNs(`${TOOL[family]}-${variant}-save`, []);
  return out.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => l.replace(/ \[\d+:\d+\]$/, ''));
}

/** The lines of `save` that are not kpx's: foreign chains and rules, built-in policies. */
function foreignLines(lines: readonly string[]): string[] {
  return lines.filter((l) => !/KUBE-|KPX-/.test(l));
}

async function resetVariant(variant: Variant): Promise<void> {
  for (const family of ['ipv4', 'ipv6'] as const) {
    for (const table of ['filter', 'nat']) {
      await inNs(`${TOOL[family]}-${variant}`, ['-t', table, '-F']);
      await inNs(`${TOOL[family]}-${variant}`, ['-t', table, '-X']);
    }
    await inNs(`${TOOL[family]}-${variant}`, ['-t', 'filter', '-P', 'FORWARD', 'ACCEPT']);
  }
  if (variant === 'nft') await inNs('nft', ['flush', 'ruleset']);
}

async function render(backend: string, scenario: string): Promise<string> {
  const r = await runInRoot(process.execPath, [KPX, 'render', '--backend', backend, '-f', join(SCENARIOS, scenario, 'cluster.yaml'), ...scenarioArgs(scenario)]);
  if (r.code !== 0) throw new Error(`kpx render --backend ${backend} (${scenario}) exited ${r.code}:\n${r.stderr}`);
  return r.stdout;
}

/** The output's iptables load script, for either backend. */
function loadScriptOf(backend: string, stdout: string): string {
  if (backend === 'iptables') return stdout;
  const glue = splitIpvsOutput(stdout).get('iptables.sh');
  if (glue === undefined) throw new Error('no iptables.sh part in the IPVS output');
  return glue;
}

describe('kpx render output loads safely next to foreign rules', () => {
  beforeAll(async () => {
    requireBuiltCli();
    await checkPrerequisites();
    await freshNamespace(NS);
  }, 30000);

  afterAll(async () => {
    await run('ip', ['netns', 'del', NS]);
  });

  const CASES = [
    { backend: 'iptables', scenario: 'dual-stack' },
    { backend: 'ipvs', scenario: 'dual-stack' },
  ] as const;

  describe.each(['nft', 'legacy'] as const)('iptables-%s', (variant) => {
    test.each(CASES)('$backend ($scenario): foreign state kept, kpx chains and jumps once, second load changes nothing', async ({ backend, scenario }) => {
      // Both variants: rules of the other one would still hold the ipsets.
      for (const v of ['nft', 'legacy'] as const) await resetVariant(v);
      for (const family of ['ipv4', 'ipv6'] as const) {
        for (const args of FOREIGN[family]) await inNs(`${TOOL[family]}-${variant}`, args);
      }
      const before = { ipv4: await save(variant, 'ipv4'), ipv6: await save(variant, 'ipv6') };
      expect(before.ipv4).toContain(':FORWARD DROP');
      expect(before.ipv4).toContain('-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT');

      const stdout = await render(backend, scenario);
      if (backend === 'ipvs') {
        await inNs('ipset', ['destroy']);
        await inNs('ipset', ['restore', '-exist'], splitIpvsOutput(stdout).get('ipset.restore') ?? '');
      }
      const script = loadScriptOf(backend, stdout);
      const env = { IPTABLES: `iptables-${variant}`, IP6TABLES: `ip6tables-${variant}` };
      await inNs('sh', ['-s'], script, env);
      const first = { ipv4: await save(variant, 'ipv4'), ipv6: await save(variant, 'ipv6') };
      await inNs('sh', ['-s'], script, env);
      const second = { ipv4: await save(variant, 'ipv4'), ipv6: await save(variant, 'ipv6') };

      for (const family of ['ipv4', 'ipv6'] as const) {
        // Foreign rules, chains and policies: exactly as before, in the same order.
        expect(foreignLines(first[family])).toEqual(foreignLines(before[family]));
        // kpx's chains and the jumps to them are there, each jump once.
        expect(first[family]).toContain(':KUBE-SERVICES -');
        const jumps = first[family].filter((l) => /^-A (INPUT|FORWARD|OUTPUT|PREROUTING|POSTROUTING) .*-j (KUBE|KPX)-/.test(l));
        expect(jumps.length).toBeGreaterThan(0);
        expect(jumps.filter((l, i) => jumps.indexOf(l) !== i)).toEqual([]);
        expect(first[family].some((l) => /^-A PREROUTING .*-j KUBE-SERVICES$/.test(l))).toBe(true);
        // Idempotent: the second load leaves the same tables.
        expect(second[family]).toEqual(first[family]);
      }
    }, 60000);
  });
});
