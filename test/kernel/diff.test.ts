/**
 * `kpx diff` against a real kernel in a private namespace: the rendered rules of
 * diff-manifests/base.yaml loaded as documented (`nft -f -`; the iptables `sh` script with
 * iptables-nft and iptables-legacy), then `kpx diff` (run in that namespace):
 * - the same manifests → exit 0, nothing printed;
 * - changed.yaml (an endpoint added to shop/web, shop/api removed) → exit 1 and exactly
 *   those changes, grouped by Service (golden: test/golden/diff/*.txt, UPDATE_GOLDEN=1
 *   rewrites them);
 * - the kernel tampered with (an element deleted, a chain flushed, a jump deleted) →
 *   exactly that is reported as what a sync would restore.
 *
 * Needs root, nftables, iptables (both variants), unshare, and a built CLI.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { splitIpvsOutput } from '../../src/render/ipvs/index.js';
import { KPX, ROOT } from '../helpers/scenarios.js';
import { checkPrerequisites, run, type RunResult } from './harness.js';
import { freshNamespace, requireBuiltCli, runInRoot } from './suite.js';

const NS = `kpx-${process.pid}-92-diff`;
const MANIFESTS = join(ROOT, 'test', 'kernel', 'diff-manifests');
const BASE = join(MANIFESTS, 'base.yaml');
const CHANGED = join(MANIFESTS, 'changed.yaml');
const NODE = ['--node-name', 'node-a', '--cluster-cidr', '10.244.0.0/16'];

async function inNs(cmd: string, args: readonly string[], input = '', env: Record<string, string> = {}): Promise<string> {
  const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const r = await run('ip', ['netns', 'exec', NS, 'env', ...envArgs, cmd, ...args], input);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} in ${NS} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

function kpxDiff(...args: string[]): Promise<RunResult> {
  return run('ip', ['netns', 'exec', NS, process.execPath, KPX, 'diff', ...args, ...NODE]);
}

async function render(backend: string): Promise<string> {
  const r = await runInRoot(process.execPath, [KPX, 'render', '--backend', backend, '-f', BASE, ...NODE]);
  if (r.code !== 0) throw new Error(`kpx render --backend ${backend} exited ${r.code}:\n${r.stderr}`);
  return r.stdout;
}

/** The golden printout; UPDATE_GOLDEN=1 writes it instead. */
function golden(name: string, actual: string): string {
  const file = join(ROOT, 'test', 'golden', 'diff', name);
  if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(file, actual);
  return readFileSync(file, 'utf8');
}

describe('kpx diff against the kernel', () => {
  beforeAll(async () => {
    requireBuiltCli();
    await checkPrerequisites();
    await freshNamespace(NS);
  }, 30000);

  afterAll(async () => {
    await run('ip', ['netns', 'del', NS]);
  });

  test('nftables: loaded = nothing to do; changed manifests and a tampered kernel = exactly those changes', async () => {
    await inNs('nft', ['-f', '-'], await render('nftables'));
    expect(await kpxDiff('-f', BASE)).toEqual({ code: 0, stdout: '', stderr: '' });

    const changed = await kpxDiff('-f', CHANGED);
    expect(changed.stderr).toBe('');
    expect(changed.code).toBe(1);
    expect(changed.stdout).toBe(golden('nftables-change.txt', changed.stdout));
    const json = await kpxDiff('-f', CHANGED, '--output', 'json');
    expect(json.code).toBe(1);
    const parsed = JSON.parse(json.stdout) as { changed: boolean; total: number; groups: { group: string }[] };
    expect(parsed.changed).toBe(true);
    expect(parsed.groups.map((g) => g.group)).toEqual(['shop/api', 'shop/web', '(node)']);

    await inNs('nft', ['delete', 'element', 'ip', 'kube-proxy', 'service-ips', '{ 10.96.0.20 . tcp . 80 }']);
    await inNs('nft', ['flush', 'chain', 'ip', 'kube-proxy', 'lb-1']);
    const tampered = await kpxDiff('-f', BASE);
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toBe(golden('nftables-tampered.txt', tampered.stdout));
    expect(tampered.stdout).toContain('shop/web:\n  + element ip kube-proxy map service-ips: 10.96.0.20 . tcp . 80 : goto internal\n');
    await inNs('nft', ['delete', 'table', 'ip', 'kube-proxy']);
    await inNs('nft', ['delete', 'table', 'ip6', 'kube-proxy']).catch(() => '');
  }, 120000);

  test.each(['nft', 'legacy'] as const)('iptables-%s: loaded = nothing to do; changes and tampering reported', async (variant) => {
    const env = { IPTABLES: `iptables-${variant}`, IP6TABLES: `ip6tables-${variant}` };
    await inNs('sh', ['-s'], await render('iptables'), env);
    const flags = ['--proxy-mode', 'iptables', '--iptables-flavour', variant];
    expect(await kpxDiff(...flags, '-f', BASE)).toEqual({ code: 0, stdout: '', stderr: '' });

    const changed = await kpxDiff(...flags, '-f', CHANGED);
    expect(changed.code).toBe(1);
    expect(changed.stdout).toBe(golden('iptables-change.txt', changed.stdout));

    const ipt = `iptables-${variant}`;
    const sep = (await inNs(ipt, ['-t', 'nat', '-S'])).match(/-N (KUBE-SEP-\w+)/)?.[1] ?? 'none';
    await inNs(ipt, ['-t', 'nat', '-F', sep]);
    await inNs(ipt, ['-t', 'nat', '-D', 'PREROUTING', '-m', 'comment', '--comment', 'kubernetes service portals', '-j', 'KUBE-SERVICES']);
    const tampered = await kpxDiff(...flags, '-f', BASE);
    expect(tampered.code).toBe(1);
    const lines = tampered.stdout.split('\n');
    expect(lines.filter((l) => l.startsWith('  '))).toEqual([
      ...lines.filter((l) => l.startsWith(`  + rule iptables nat ${sep}: `)),
      '  + rule iptables nat PREROUTING: -A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    ]);
    expect(lines.filter((l) => l.startsWith(`  + rule iptables nat ${sep}: `))).toHaveLength(2);
    // Auto-detection is kpx run's (iptables-flavour.ts): kubelet's marker chain in legacy
    // mangle picks legacy; without one, nft, whatever holds kube-proxy's chains.
    const auto = (): Promise<{ code: number; stdout: string; stderr: string }> => kpxDiff('--proxy-mode', 'iptables', '-f', BASE);
    if (variant === 'legacy') {
      expect((await auto()).stdout).toContain('  + chain iptables nat KUBE-SERVICES\n');
      await inNs('iptables-legacy', ['-t', 'mangle', '-N', 'KUBE-IPTABLES-HINT']);
    }
    expect((await auto()).stdout).toBe(tampered.stdout);
    expect((await run('ip', ['netns', 'exec', NS, process.execPath, KPX, 'cleanup', '--proxy-mode', 'iptables'])).code).toBe(0);
    if (variant === 'legacy') await inNs('iptables-legacy', ['-t', 'mangle', '-X', 'KUBE-IPTABLES-HINT']);
  }, 120000);

  test('ipvs: ipsets, iptables glue and kube-ipvs0 compared; virtual servers read as none (no ip_vs in this kernel)', async () => {
    const parts = splitIpvsOutput(await render('ipvs'));
    await inNs('ipset', ['restore', '-exist'], parts.get('ipset.restore') ?? '');
    await inNs('sh', ['-s'], parts.get('iptables.sh') ?? '', { IPTABLES: 'iptables-legacy', IP6TABLES: 'ip6tables-legacy' });
    // Stand-in: kube-ipvs0 is a dummy device upstream; this kernel has no dummy driver (the
    // IPVS VM does), so a veth of that name carries the addresses here.
    await inNs('ip', ['link', 'add', 'kube-ipvs0', 'type', 'veth', 'peer', 'name', 'kube-ipvs0-peer']);
    await inNs('ip', ['-batch', '-'], parts.get('kube-ipvs0.batch') ?? '');
    const flags = ['--proxy-mode', 'ipvs', '--iptables-flavour', 'legacy'];
    const same = await kpxDiff(...flags, '-f', BASE);
    expect(same.stderr).toBe('');
    // Everything but the virtual servers, which only a kernel with ip_vs can hold, matches.
    expect(same.stdout).toBe(`shop/api:
  + virtual server ipvs -t 10.96.0.21:9000
  + real server ipvs -t 10.96.0.21:9000: 10.244.1.3:9000 : -m -w 1
shop/web:
  + virtual server ipvs -t 10.96.0.20:80
  + real server ipvs -t 10.96.0.20:80: 10.244.1.2:8080 : -m -w 1
4 changes (2 Services)
`);
    const changed = await kpxDiff(...flags, '-f', CHANGED);
    expect(changed.code).toBe(1);
    expect(changed.stdout).toBe(golden('ipvs-change.txt', changed.stdout));
    await inNs('ipset', ['del', 'KUBE-CLUSTER-IP', '10.96.0.20,tcp:80']);
    const tampered = await kpxDiff(...flags, '-f', BASE);
    expect(tampered.stdout).toContain('shop/web:\n  + entry ipset KUBE-CLUSTER-IP: 10.96.0.20,tcp:80\n');
    expect((await run('ip', ['netns', 'exec', NS, process.execPath, KPX, 'cleanup', '--proxy-mode', 'ipvs'])).code).toBe(0);
  }, 120000);
});
