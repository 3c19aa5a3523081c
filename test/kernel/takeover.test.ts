/**
 * Takeover with real tools in a private namespace: the one-shot observer `kpx run`
 * registers removes exactly what the OTHER modes left and never the current mode's state
 * (iptables and IPVS modes share chain names, so switching between them cleans nothing
 * there, as upstream). The observer runs after the controller's first successful sync
 * (the controller's contract, tested in test/sync/controller.test.ts); this test drives it
 * directly. Needs root, nftables, iptables (both variants), ipset and a built CLI.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { join } from 'node:path';
import { splitIpvsOutput } from '../../src/render/ipvs/index.js';
import { takeoverObserver } from '../../src/sync/cleanup/takeover.js';
import { createExec } from '../../src/sync/kernel/exec.js';
import type { SyncResult } from '../../src/sync/types.js';
import { KPX, ROOT } from '../helpers/scenarios.js';
import { checkPrerequisites, run } from './harness.js';
import { freshNamespace, requireBuiltCli, runInRoot } from './suite.js';

const NS = `kpx-${process.pid}-93-takeover`;
const MANIFEST = join(ROOT, 'test', 'kernel', 'diff-manifests', 'base.yaml');
const NODE = ['--node-name', 'node-a', '--cluster-cidr', '10.244.0.0/16'];
const logger = { info: () => {}, warn: () => {} };

async function inNs(cmd: string, args: readonly string[], input = '', env: Record<string, string> = {}): Promise<string> {
  const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const r = await run('ip', ['netns', 'exec', NS, 'env', ...envArgs, cmd, ...args], input);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} in ${NS} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

async function render(backend: string): Promise<string> {
  const r = await runInRoot(process.execPath, [KPX, 'render', '--backend', backend, '-f', MANIFEST, ...NODE]);
  if (r.code !== 0) throw new Error(`kpx render --backend ${backend} exited ${r.code}:\n${r.stderr}`);
  return r.stdout;
}

/** nftables mode's tables, iptables mode's chains (nft flavour), IPVS mode's sets and glue (legacy flavour). */
async function loadAllModes(): Promise<void> {
  await inNs('nft', ['-f', '-'], await render('nftables'));
  await inNs('sh', ['-s'], await render('iptables'), { IPTABLES: 'iptables-nft', IP6TABLES: 'ip6tables-nft' });
  const ipvs = splitIpvsOutput(await render('ipvs'));
  await inNs('ipset', ['restore', '-exist'], ipvs.get('ipset.restore') ?? '');
  await inNs('sh', ['-s'], ipvs.get('iptables.sh') ?? '', { IPTABLES: 'iptables-legacy', IP6TABLES: 'ip6tables-legacy' });
}

async function present(): Promise<Record<string, boolean>> {
  return {
    nft: (await inNs('nft', ['list', 'tables'])).includes('table ip kube-proxy'),
    iptablesNft: (await inNs('iptables-nft-save', [])).includes(':KUBE-SVC-'),
    ipvsGlue: (await inNs('iptables-legacy-save', [])).includes(':KUBE-IPVS-FILTER'),
    ipsets: (await inNs('ipset', ['list', '-n'])).includes('KUBE-CLUSTER-IP'),
  };
}

describe('takeover after the first sync', () => {
  beforeAll(async () => {
    requireBuiltCli();
    await checkPrerequisites();
  }, 30000);

  beforeEach(async () => {
    await freshNamespace(NS);
    await loadAllModes();
  }, 60000);

  afterAll(async () => {
    await run('ip', ['netns', 'del', NS]);
  });

  test('nftables mode removes the iptables and IPVS modes\' state, keeps its tables; once', async () => {
    expect(await present()).toEqual({ nft: true, iptablesNft: true, ipvsGlue: true, ipsets: true });
    const obs = takeoverObserver('nftables', createExec(['ip', 'netns', 'exec', NS]), logger);
    await obs.afterSync({} as SyncResult);
    expect((await obs.done).filter((i) => i.outcome === 'failed')).toEqual([]);
    expect(await present()).toEqual({ nft: true, iptablesNft: false, ipvsGlue: false, ipsets: false });
    // One-shot: state of another mode appearing later is left alone.
    await inNs('sh', ['-s'], await render('iptables'), { IPTABLES: 'iptables-nft', IP6TABLES: 'ip6tables-nft' });
    await obs.afterSync({} as SyncResult);
    expect((await present()).iptablesNft).toBe(true);
  }, 120000);

  test.each(['iptables', 'ipvs'] as const)('%s mode removes only the nftables tables', async (mode) => {
    const obs = takeoverObserver(mode, createExec(['ip', 'netns', 'exec', NS]), logger);
    await obs.afterSync({} as SyncResult);
    expect(await present()).toEqual({ nft: false, iptablesNft: true, ipvsGlue: true, ipsets: true });
  }, 120000);
});
