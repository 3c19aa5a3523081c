/**
 * The real iptables adapter (both flavours) and the fake kernel against the real
 * tools, in a private network namespace (never the machine's own). Needs root, `ip`
 * and iptables: missing ones fail loudly (checkPrerequisites), nothing is skipped.
 */
import { checkPrerequisites, cleanupLeftovers, run } from '../kernel/harness.js';
import { createIptablesKernel, IptablesError, resolveFlavour, type IptablesKernel } from '../../src/sync/kernel/iptables.js';
import { FakeIptablesKernel } from '../../src/sync/kernel/iptables-fake.js';
import type { IptablesFlavour } from '../../src/sync/kernel/iptables-flavour.js';

const NS = `kpx-${process.pid}-911-iptk`;
const inNs: readonly string[] = ['ip', 'netns', 'exec', NS];
const FLAVOURS: readonly IptablesFlavour[] = ['nft', 'legacy'];

async function mustRun(cmd: string, args: readonly string[]): Promise<void> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

/** A fresh namespace per use: both flavours' tables start empty. */
async function freshNs(): Promise<void> {
  await run('ip', ['netns', 'del', NS]);
  await mustRun('ip', ['netns', 'add', NS]);
}

beforeAll(async () => {
  await checkPrerequisites();
  await cleanupLeftovers();
});

afterAll(async () => {
  await run('ip', ['netns', 'del', NS]);
});

const SETUP = [
  '*nat',
  ':KUBE-A - [0:0]',
  ':KUBE-B - [0:0]',
  ':KUBE-E - [0:0]',
  '-A KUBE-A -m comment --comment "ns/a cluster IP" -j KUBE-B',
  '-A KUBE-B -j RETURN',
  '-A KUBE-E -j RETURN',
  'COMMIT',
  '',
].join('\n');

/** [name, restore input, accepted]. */
const CASES: readonly [string, string, boolean][] = [
  ['a jump to a missing chain', '*nat\n:KUBE-C - [0:0]\n-A KUBE-C -j KUBE-NOPE\nCOMMIT\n', false],
  ['a rule in a missing chain', '*nat\n-A KUBE-NOPE -j RETURN\nCOMMIT\n', false],
  ['a chain declared twice', '*nat\n:KUBE-D - [0:0]\n:KUBE-D - [0:0]\nCOMMIT\n', true],
  ['-X of a referenced chain', '*nat\n-X KUBE-B\nCOMMIT\n', false],
  ['-X of a missing chain', '*nat\n-X KUBE-ZZ\nCOMMIT\n', false],
  ['-X of an unreferenced chain with rules', '*nat\n-X KUBE-E\nCOMMIT\n', false],
  ['flush (declare) the referencing chain and the chain, then -X', '*nat\n:KUBE-A - [0:0]\n:KUBE-B - [0:0]\n-X KUBE-B\nCOMMIT\n', true],
  ['a rule jumping to an existing chain not declared in the input', '*nat\n:KUBE-A - [0:0]\n-A KUBE-A -j KUBE-E\nCOMMIT\n', true],
  ['a section without COMMIT', '*nat\n:KUBE-G - [0:0]\n', false],
  ['-D of a missing rule', '*nat\n-D KUBE-A -j KUBE-E\nCOMMIT\n', false],
  ['-D of an existing rule', '*nat\n-D KUBE-E -j RETURN\nCOMMIT\n', true],
  ['filter, mangle and nat sections with built-in targets', '*filter\n:KUBE-F - [0:0]\n-A KUBE-F -j REJECT\nCOMMIT\n*mangle\n:KUBE-PROXY-CANARY - [0:0]\nCOMMIT\n*nat\n:KUBE-M - [0:0]\n-A KUBE-M -j RETURN\nCOMMIT\n', true],
];

describe.each(FLAVOURS)('iptables-%s adapter (real tools, private namespace)', (flavour) => {
  let real: IptablesKernel;
  beforeEach(async () => {
    await freshNs();
    real = createIptablesKernel({ flavour, prefix: inNs });
  });

  test.each(CASES)('fake and real agree: %s', async (_, input, accepted) => {
    await real.restore('ipv4', SETUP);
    const fake = new FakeIptablesKernel(flavour);
    await fake.restore('ipv4', SETUP);
    const outcome = (k: IptablesKernel): Promise<boolean> => k.restore('ipv4', input).then(() => true, (e: unknown) => {
      if (!(e instanceof IptablesError)) throw e;
      return false;
    });
    expect(await outcome(real)).toBe(accepted);
    expect(await outcome(fake)).toBe(accepted);
    // Same state afterwards (fake dump of the real save vs the fake's own).
    const parsed = new FakeIptablesKernel(flavour);
    await parsed.restore('ipv4', await real.save('ipv4', 'nat'));
    expect(parsed.dump('ipv4', ['nat']).replace(/ -m comment --comment \S+( \S+)*? -j/g, ' -j'))
      .toEqual(fake.dump('ipv4', ['nat']).replace(/ -m comment --comment \S+( \S+)*? -j/g, ' -j'));
  });

  test('per-table commit: a failing nat section leaves the filter section before it applied (fake too)', async () => {
    const input = '*filter\n:KUBE-F - [0:0]\nCOMMIT\n*nat\n-A KUBE-NOPE -j RETURN\nCOMMIT\n';
    const fake = new FakeIptablesKernel(flavour);
    for (const k of [real, fake]) {
      await expect(k.restore('ipv4', input)).rejects.toThrow(IptablesError);
      expect(await k.chainExists('ipv4', 'filter', 'KUBE-F')).toBe(true);
    }
  });

  test('a real error is parsed: line, its text, table and chain', async () => {
    const input = '*filter\n:KUBE-F - [0:0]\nCOMMIT\n*nat\n:KUBE-X - [0:0]\n-X KUBE-NOPE\nCOMMIT\n';
    const err = await real.restore('ipv4', input).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(IptablesError);
    expect(err).toMatchObject({ line: 6, lineText: '-X KUBE-NOPE', table: 'nat', chain: 'KUBE-NOPE' });
    expect((err as Error).message).toMatch(new RegExp(`^iptables-${flavour}-restore: line 6 \\(chain KUBE-NOPE in nat\\): `));
  });

  test('ensureRule checks, then inserts at the top only when missing; chainExists; ipv6 too', async () => {
    for (const family of ['ipv4', 'ipv6'] as const) {
      await real.restore(family, '*nat\n:KUBE-SERVICES - [0:0]\nCOMMIT\n');
      const args = ['-m', 'comment', '--comment', 'kubernetes service portals', '-j', 'KUBE-SERVICES'];
      expect(await real.ensureRule(family, 'nat', 'PREROUTING', args)).toBe(true);
      expect(await real.ensureRule(family, 'nat', 'PREROUTING', args)).toBe(false);
      expect((await real.save(family, 'nat')).match(/-A PREROUTING .*KUBE-SERVICES/g)).toHaveLength(1);
      expect(await real.chainExists(family, 'nat', 'KUBE-SERVICES')).toBe(true);
      expect(await real.chainExists(family, 'nat', 'KUBE-PROXY-CANARY')).toBe(false);
    }
  });
});

describe('flavour detection (real tools, private namespace)', () => {
  test('kubelet\'s hint chain in legacy mangle → legacy; in nft mangle → nft; none → nft', async () => {
    await freshNs();
    expect(await resolveFlavour('auto', inNs)).toBe('nft');
    await mustRun('ip', [...inNs.slice(1), 'iptables-legacy', '-t', 'mangle', '-N', 'KUBE-IPTABLES-HINT']);
    expect(await resolveFlavour('auto', inNs)).toBe('legacy');
    await mustRun('ip', [...inNs.slice(1), 'iptables-nft', '-t', 'mangle', '-N', 'KUBE-KUBELET-CANARY']);
    expect(await resolveFlavour('auto', inNs)).toBe('nft');
    expect(await resolveFlavour('legacy', inNs)).toBe('legacy');
  });
});
