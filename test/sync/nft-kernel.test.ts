/**
 * The real nft adapter and the fake kernel against the real kernel, in private network
 * namespaces (never the machine's own). Needs root, `ip` and `nft`: missing ones fail
 * loudly (checkPrerequisites), nothing is skipped.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildProxyState } from '../../src/model/build.js';
import { renderNftables, toNftScript } from '../../src/render/nftables/index.js';
import { createNftKernel, NftError, NftUnavailableError, type NftKernel } from '../../src/sync/kernel/nft.js';
import { FakeNftKernel } from '../../src/sync/kernel/nft-fake.js';
import { createNftablesProxier } from '../../src/sync/nftables/index.js';
import { checkPrerequisites, cleanupLeftovers, run } from '../kernel/harness.js';
import { prng, randomCluster } from '../trace/random-cluster.js';
import { TestCluster, withoutPendingDeletes } from './helpers.js';

// Names match the kernel harness's leftover pattern (kpx-<pid>-<n>-<role>): a crashed run's
// namespaces are removed by the next one.
const NS_A = `kpx-${process.pid}-901-synca`;
const NS_B = `kpx-${process.pid}-902-syncb`;
const inNs = (ns: string): readonly string[] => ['ip', 'netns', 'exec', ns];

async function mustRun(cmd: string, args: readonly string[]): Promise<void> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

beforeAll(async () => {
  await checkPrerequisites();
  await cleanupLeftovers();
  await mustRun('ip', ['netns', 'add', NS_A]);
  await mustRun('ip', ['netns', 'add', NS_B]);
});

afterAll(async () => {
  await run('ip', ['netns', 'del', NS_A]);
  await run('ip', ['netns', 'del', NS_B]);
});

/** `nft list table` normalised: parsed by the fake (elements sorted, blocks by name) and dumped. */
async function listed(kernel: NftKernel): Promise<string> {
  const fake = new FakeNftKernel();
  await fake.apply(await kernel.list('table', 'ip', 'kube-proxy'));
  return fake.dump();
}

describe('nft adapter (real kernel, private namespace)', () => {
  test('version(): the installed nft passes; a missing binary or an old nft is a clear start-up error', async () => {
    expect(await createNftKernel({ prefix: inNs(NS_A) }).version()).toMatch(/^\d+\.\d+/);
    await expect(createNftKernel({ binary: '/nonexistent/nft' }).version()).rejects.toThrow(NftUnavailableError);
    await expect(createNftKernel({ binary: '/nonexistent/nft', prefix: inNs(NS_A) }).version()).rejects.toThrow(NftUnavailableError);
    const dir = mkdtempSync(join(tmpdir(), 'kpx-nft-'));
    try {
      const old = join(dir, 'nft');
      writeFileSync(old, '#!/bin/sh\necho "nftables v0.9.3 (Topsy)"\n');
      chmodSync(old, 0o755);
      await expect(createNftKernel({ binary: old }).version()).rejects.toThrow(/0\.9\.3 is too old/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a real nft error is parsed: failing line, its text, the object; nothing of the script applied", async () => {
    const kernel = createNftKernel({ prefix: inNs(NS_A) });
    const script = [
      'add table ip kpx-err',
      'add set ip kpx-err s { type ipv4_addr; }',
      'add element ip kpx-err s { 10.0.0.1,',
      '\t10.0.0.2 }',
      'delete element ip kpx-err s { 10.0.0.1,',
      '\t10.0.0.9 }',
      '',
    ].join('\n');
    const err = await kernel.apply(script).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(NftError);
    expect(err).toMatchObject({
      line: 6, lineText: '\t10.0.0.9 }',
      object: { verb: 'delete', kind: 'element', family: 'ip', table: 'kpx-err', name: 's' },
    });
    expect((err as NftError).message).toMatch(/^nft: line 6 \(element s\): .*No such file or directory/);
    // Atomic: not even the table of the first line exists.
    await expect(kernel.list('table', 'ip', 'kpx-err')).rejects.toThrow(NftError);
  });

  // Each case runs on the real kernel and on the fake: both must accept or both refuse.
  const SETUP = [
    'add table ip t',
    'add map ip t d { type ipv4_addr : ipv4_addr; }',
    'add map ip t v { type ipv4_addr : verdict; }',
    'add map ip t e { typeof ip daddr . meta l4proto . th dport . numgen random mod 2 : ip daddr . th dport; }',
    'add set ip t s { type ipv4_addr; }',
    'add chain ip t c1',
    'add chain ip t c2',
    'add rule ip t c2 ip daddr @s accept',
    'add element ip t d { 1.1.1.1 : 2.2.2.2 }',
    'add element ip t v { 1.1.1.1 : goto c1 }',
    'add element ip t s { 3.3.3.3 comment "a" }',
    '',
  ].join('\n');
  const CASES: readonly [string, string, boolean][] = [
    ['add an identical map element', 'add element ip t d { 1.1.1.1 : 2.2.2.2 }', true],
    ['add a map element with another value', 'add element ip t d { 1.1.1.1 : 2.2.2.3 }', false],
    ['create an existing element', 'create element ip t d { 1.1.1.1 : 2.2.2.2 }', false],
    ['add an existing set element with another comment', 'add element ip t s { 3.3.3.3 comment "b" }', true],
    ['delete a missing element', 'delete element ip t s { 5.5.5.5 }', false],
    ['delete + add a changed element in one transaction', 'delete element ip t d { 1.1.1.1 }\nadd element ip t d { 1.1.1.1 : 9.9.9.9 }', true],
    ['jump to a missing chain', 'add rule ip t c1 jump nope', false],
    ['a verdict to a missing chain', 'add element ip t v { 4.4.4.4 : goto nope }', false],
    ['delete a chain with rules (nobody jumps to it)', 'delete chain ip t c2', true],
    ['delete a chain a rule jumps to', 'add rule ip t c2 jump c1\ndelete element ip t v { 1.1.1.1 }\ndelete chain ip t c1', false],
    ['delete a chain a map element points to', 'delete chain ip t c1', false],
    ['delete a set a rule uses', 'delete set ip t s', false],
    ['flush a chain, then delete the set it used', 'flush chain ip t c2\ndelete set ip t s', true],
    ['delete a missing table', 'delete table ip nope', false],
    // nft 1.0.6 bug: a rule using a typeof map (with th dport) that already exists in the kernel.
    ['a rule using an existing typeof map', 'add chain ip t c3\nadd rule ip t c3 meta l4proto tcp dnat to ip daddr . meta l4proto . th dport . numgen random mod 2 map @e', false],
    ['a rule using a typeof map made in the same transaction', 'add map ip t e2 { typeof ip daddr . meta l4proto . th dport . numgen random mod 2 : ip daddr . th dport; }\nadd chain ip t c3\nadd rule ip t c3 meta l4proto tcp dnat to ip daddr . meta l4proto . th dport . numgen random mod 2 map @e2', true],
  ];
  test.each(CASES)('fake and kernel agree: %s', async (_, script, accepted) => {
    const real = createNftKernel({ prefix: inNs(NS_B) });
    await real.apply('add table ip t\ndelete table ip t\n' + SETUP);
    const fake = new FakeNftKernel();
    await fake.apply(SETUP);
    const outcome = (k: NftKernel): Promise<boolean> => k.apply(`${script}\n`).then(() => true, (e: unknown) => {
      if (!(e instanceof NftError)) throw e;
      return false;
    });
    expect(await outcome(real)).toBe(accepted);
    expect(await outcome(fake)).toBe(accepted);
  });

  test('incremental syncs leave exactly the kernel state a fresh full load of the final cluster leaves', async () => {
    const kernelA = createNftKernel({ prefix: inNs(NS_A) });
    const kernelB = createNftKernel({ prefix: inNs(NS_B) });
    const r = prng(42);
    let partials = 0;
    for (const seed of [3, 11, 20]) {
      const base = randomCluster(seed);
      const cluster = new TestCluster(base.snapshot);
      const proxier = createNftablesProxier({ kernel: kernelA });
      expect((await proxier.sync({ view: cluster, changes: 'all', options: base.options })).kind).toBe('full');
      for (let step = 0; step < 6; step++) {
        const other = randomCluster(5000 + Math.floor(r() * 100000)).snapshot;
        const s = Math.floor(r() * 5);
        const key = `prop/svc${s}`;
        if (r() < 0.7) cluster.setService(key, other.services.find((x) => x.metadata?.name === `svc${s}`));
        cluster.setSlices(key, other.endpointSlices.filter((x) => x.metadata?.labels?.['kubernetes.io/service-name'] === `svc${s}`));
        const res = await proxier.sync({ view: cluster, changes: cluster.takeChanges(), options: base.options });
        if (res.kind === 'partial') partials++;
        await kernelB.apply(toNftScript(renderNftables(buildProxyState(cluster.snapshot(), base.options).state)));
        const fresh = await listed(kernelB);
        expect(withoutPendingDeletes(await listed(kernelA), fresh)).toEqual(fresh);
      }
    }
    expect(partials).toBeGreaterThan(10);
  });
});
