/**
 * `kpx cleanup` in a private namespace: kube-proxy-shaped state of every mode (kpx's own
 * rendered nftables tables, iptables chains in both flavours and families, the IPVS
 * mode's iptables glue, ipsets and kube-ipvs0) next to foreign state (tables, chains,
 * rules, sets, a link, a FORWARD DROP policy, and kubelet's KUBE-* chains). After
 * `kpx cleanup` the namespace holds exactly the foreign state it held before kpx's was
 * loaded. IPVS virtual servers need the IPVS VM (this kernel has no ip_vs): not here.
 *
 * Needs root, iproute2, nftables, iptables (both variants), ipset and a built CLI.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { join } from 'node:path';
import { splitIpvsOutput } from '../../src/render/ipvs/index.js';
import { existsSync } from 'node:fs';
import { KPX, ROOT, SCENARIOS, scenarioArgs } from '../helpers/scenarios.js';
import { checkPrerequisites, run, type RunResult } from './harness.js';
import { freshNamespace, requireBuiltCli, runInRoot } from './suite.js';
import { FOREIGN, KUBELET_IPV4, type ForeignRules } from './foreign.js';

const NS = `kpx-${process.pid}-91-cleanup`;
const XT = ['iptables-nft', 'ip6tables-nft', 'iptables-legacy', 'ip6tables-legacy'] as const;

async function inNs(cmd: string, args: readonly string[], input = '', env: Record<string, string> = {}): Promise<string> {
  const r = await inNsRaw(cmd, args, input, env);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} in ${NS} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

function inNsRaw(cmd: string, args: readonly string[], input = '', env: Record<string, string> = {}): Promise<RunResult> {
  const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  return run('ip', ['netns', 'exec', NS, 'env', ...envArgs, cmd, ...args], input);
}

function kpxCleanup(...args: string[]): Promise<RunResult> {
  return run('ip', ['netns', 'exec', NS, process.execPath, KPX, 'cleanup', ...args]);
}

/** Foreign state: a CNI plugin, an administrator, kubelet (its KUBE-* chains are not kube-proxy's). */
const FOREIGN_XT: ForeignRules = { ipv4: [...FOREIGN.ipv4, ...KUBELET_IPV4], ipv6: FOREIGN.ipv6 };

const FOREIGN_NFT = `table inet foreign {
  set blocked { type ipv4_addr; elements = { 203.0.113.9 } }
  chain input { type filter hook input priority 0; policy accept; ip saddr @blocked drop; }
}
`;

async function loadForeign(): Promise<void> {
  for (const tool of XT) {
    for (const args of FOREIGN_XT[tool.startsWith('ip6') ? 'ipv6' : 'ipv4']) await inNs(tool, args);
  }
  await inNs('nft', ['-f', '-'], FOREIGN_NFT);
  await inNs('ipset', ['create', 'foreign-set', 'hash:ip']);
  await inNs('ipset', ['add', 'foreign-set', '192.0.2.7']);
  // A KUBE-* set that is not one of kube-proxy's: cleanup is no blanket KUBE-* destroy.
  await inNs('ipset', ['create', 'KUBE-SOMEONE-ELSE', 'hash:ip']);
  // This kernel has no dummy driver: a veth pair inside the namespace is the foreign link.
  await inNs('ip', ['link', 'add', 'foreign0', 'type', 'veth', 'peer', 'name', 'foreign1']);
}

interface State { readonly [k: string]: readonly string[] }

/**
 * kube-proxy's iptables mode also ensures kubelet's KUBE-FIREWALL chain and its jumps from
 * INPUT and OUTPUT in every family (iptablesKubeletJumpChains) and, as upstream, cleanup
 * never removes them. kubelet has it in IPv4 (part of the foreign state); in IPv6 it is
 * what kube-proxy's mode left: compared without it, and checked to be just that.
 */
function withoutIpv6KubeletChain(s: State): State {
  const out: Record<string, readonly string[]> = { ...s };
  for (const tool of ['ip6tables-nft', 'ip6tables-legacy']) {
    const lines = s[tool] ?? [];
    expect(lines.filter((l) => l.includes('KUBE-FIREWALL')).sort()).toEqual(['-A INPUT -j KUBE-FIREWALL', '-A OUTPUT -j KUBE-FIREWALL', ':KUBE-FIREWALL -']);
    out[tool] = lines.filter((l) => !l.includes('KUBE-FIREWALL'));
  }
  return out;
}

/** Everything cleanup could touch, normalised (no counters, no comments). */
async function state(): Promise<State> {
  const out: Record<string, string[]> = {};
  for (const tool of XT) {
    out[tool] = (await inNs(`${tool}-save`, [])).split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => l.replace(/ \[\d+:\d+\]$/, ''));
  }
  // The iptables-nft tables show up in nft too (compared through iptables-nft-save above).
  out['nft tables'] = (await inNs('nft', ['list', 'tables'])).split('\n').filter((l) => l !== '').sort();
  out['nft foreign'] = (await inNs('nft', ['list', 'table', 'inet', 'foreign'])).split('\n');
  out['ipsets'] = (await inNs('ipset', ['list', '-n'])).split('\n').filter((l) => l !== '').sort();
  out['ipset foreign-set'] = (await inNs('ipset', ['list', 'foreign-set'])).split('\n').filter((l) => !/^(References|Size in memory):/.test(l));
  out['links'] = (await inNs('ip', ['-o', 'link', 'show'])).split('\n').filter((l) => l !== '').map((l) => (l.split(':')[1] ?? '').trim().split('@')[0] ?? '').sort();
  return out;
}

async function render(backend: string): Promise<string> {
  const scenario = 'dual-stack';
  const r = await runInRoot(process.execPath, [KPX, 'render', '--backend', backend, '-f', join(SCENARIOS, scenario, 'cluster.yaml'), ...scenarioArgs(scenario)]);
  if (r.code !== 0) throw new Error(`kpx render --backend ${backend} exited ${r.code}:\n${r.stderr}`);
  return r.stdout;
}

/** kpx's rendered state of every mode: nftables tables; iptables mode in both flavours; IPVS mode's glue (legacy), sets and kube-ipvs0. */
async function loadEveryMode(): Promise<void> {
  await inNs('nft', ['-f', '-'], await render('nftables'));
  const ipt = await render('iptables');
  for (const v of ['nft', 'legacy']) await inNs('sh', ['-s'], ipt, { IPTABLES: `iptables-${v}`, IP6TABLES: `ip6tables-${v}` });
  const ipvs = splitIpvsOutput(await render('ipvs'));
  await inNs('ipset', ['restore', '-exist'], ipvs.get('ipset.restore') ?? '');
  await inNs('sh', ['-s'], ipvs.get('iptables.sh') ?? '', { IPTABLES: 'iptables-legacy', IP6TABLES: 'ip6tables-legacy' });
  // Stand-in: kube-proxy makes kube-ipvs0 a dummy device, which this kernel cannot create
  // (no dummy driver; the IPVS VM has one). A veth named kube-ipvs0 (its peer goes with it)
  // is deleted by name the same way.
  await inNs('ip', ['link', 'add', 'kube-ipvs0', 'type', 'veth', 'peer', 'name', 'kube-ipvs0-peer']);
  await inNs('ip', ['-batch', '-'], ipvs.get('kube-ipvs0.batch') ?? '');
}


/** Upstream kube-proxy v1.36.3, built by bench/upstream/build.sh (the oracle of the last test). */
const UPSTREAM = join(ROOT, '.cache', 'bin', 'kube-proxy');

describe('kpx cleanup removes kube-proxy state of every mode and nothing else', () => {
  let foreign: State;

  beforeAll(async () => {
    requireBuiltCli();
    await checkPrerequisites();
    await freshNamespace(NS);
    await loadForeign();
    foreign = await state();
  }, 60000);

  afterAll(async () => {
    await run('ip', ['netns', 'del', NS]);
  });

  test('every mode loaded → cleanup → exactly the foreign state; a second cleanup finds nothing', async () => {
    await loadEveryMode();
    const loaded = await state();
    expect(loaded['iptables-nft']).toContain(':KUBE-SERVICES -');
    expect(loaded['ip6tables-legacy']).toContain(':KUBE-IPVS-FILTER -');
    expect(loaded['nft tables']).toContain('table ip kube-proxy');
    expect(loaded['ipsets']).toContain('KUBE-CLUSTER-IP');
    expect(loaded['ipsets']).toContain('KUBE-6-CLUSTER-IP');
    expect(loaded['links']).toContain('kube-ipvs0');

    const r = await kpxCleanup();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('removed nftables table ip kube-proxy\n');
    expect(r.stdout).toContain('removed nftables table ip6 kube-proxy\n');
    expect(r.stdout).toMatch(/^removed iptables-legacy nat: \d+ chains: .*KUBE-SERVICES.* and \d+ per-Service chains$/m);
    expect(r.stdout).toMatch(/^removed ip6tables-nft filter: \d+ chains: /m);
    expect(r.stdout).toContain('removed link kube-ipvs0\n');
    expect(r.stdout).toContain('removed ipset KUBE-6-CLUSTER-IP\n');
    expect(withoutIpv6KubeletChain(await state())).toEqual(foreign);

    const again = await kpxCleanup();
    expect(again.code).toBe(0);
    expect(again.stdout).not.toMatch(/^removed/m);
    expect(again.stdout).toContain('absent nftables table ip kube-proxy\n');
  }, 120000);

  test('--proxy-mode nftables removes only the nftables tables', async () => {
    await loadEveryMode();
    const loaded = await state();
    const r = await kpxCleanup('--proxy-mode', 'nftables');
    expect(r.code).toBe(0);
    const after = await state();
    expect(after['nft tables']).toEqual(foreign['nft tables']);
    for (const tool of XT) expect(after[tool]).toEqual(loaded[tool]);
    expect(after['ipsets']).toEqual(loaded['ipsets']);
    // kube-proxy's flag: kpx run --cleanup cleans every mode and exits 0 (no API server needed).
    const viaRun = await run('ip', ['netns', 'exec', NS, process.execPath, KPX, 'run', '--cleanup']);
    expect(viaRun.code).toBe(0);
    expect(viaRun.stdout).toMatch(/^removed iptables-nft nat: \d+ chains: /m);
    expect(withoutIpv6KubeletChain(await state())).toEqual(foreign);
  }, 120000);

  test('a kube-proxy chain a foreign chain still uses stays, is reported, exit 1; the rest is removed', async () => {
    await loadEveryMode();
    await inNs('iptables-legacy', ['-t', 'nat', '-N', 'CNI-MASQ']);
    await inNs('iptables-legacy', ['-t', 'nat', '-A', 'CNI-MASQ', '-j', 'KUBE-MARK-MASQ']);
    const r = await kpxCleanup();
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('kpx: failed iptables-legacy nat chain KUBE-MARK-MASQ: left in place: chain CNI-MASQ jumps to it\n');
    const after = await state();
    expect(after['iptables-legacy']).toContain(':KUBE-MARK-MASQ -');
    expect(after['iptables-legacy']).not.toContain(':KUBE-SERVICES -');
    expect(after['nft tables']).toEqual(foreign['nft tables']);
    await inNs('iptables-legacy', ['-t', 'nat', '-F', 'CNI-MASQ']);
    await inNs('iptables-legacy', ['-t', 'nat', '-X', 'CNI-MASQ']);
    expect((await kpxCleanup()).code).toBe(0);
    expect(withoutIpv6KubeletChain(await state())).toEqual(foreign);
  }, 120000);

  // Upstream kube-proxy is a bench/validation tool, never built by `npm test` or .ci/run
  // (issue 14): this oracle case exists only with KPX_TEST_UPSTREAM=1 (after
  // `bash bench/upstream/build.sh`), as the e2e suites' KPX_E2E_PROXY=upstream runs.
  const oracle = process.env['KPX_TEST_UPSTREAM'] === '1' ? test : undefined;
  oracle?.('the same as upstream kube-proxy --cleanup leaves (nftables tables, iptables-nft chains and jumps, both families)', async () => {
    if (!existsSync(UPSTREAM)) throw new Error(`${UPSTREAM} is missing: run bash bench/upstream/build.sh`);
    const load = async (): Promise<void> => {
      await inNs('nft', ['-f', '-'], await render('nftables'));
      await inNs('sh', ['-s'], await render('iptables'), { IPTABLES: 'iptables-nft', IP6TABLES: 'ip6tables-nft' });
    };
    // Upstream cleans through its one iptables binary (iptables-nft here) and skips IPVS
    // without ip_vs (this kernel): compare what both touch.
    const touched = async (): Promise<Record<string, readonly string[]>> => {
      const st = await state();
      return { 'iptables-nft': st['iptables-nft'] ?? [], 'ip6tables-nft': st['ip6tables-nft'] ?? [], 'nft tables': st['nft tables'] ?? [], 'nft foreign': st['nft foreign'] ?? [] };
    };
    await load();
    const up = await run('ip', ['netns', 'exec', NS, UPSTREAM, '--cleanup']);
    expect(up.code).toBe(0);
    const upstream = await touched();
    await load();
    expect((await kpxCleanup('--proxy-mode', 'nftables,iptables')).code).toBe(0);
    expect(await touched()).toEqual(upstream);
    expect(upstream['iptables-nft']).not.toContain(':KUBE-SERVICES -');
    expect((await kpxCleanup()).code).toBe(0);
  }, 120000);
});
