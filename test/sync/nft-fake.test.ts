/** The fake kernel and the stderr parser on their own (the agreement with the real kernel is in nft-kernel.test.ts). */
import { renderNftables, toNftScript } from '../../src/render/nftables/index.js';
import { buildProxyState } from '../../src/model/build.js';
import { NftError, parseNftStderr } from '../../src/sync/kernel/nft-error.js';
import { FakeNftKernel } from '../../src/sync/kernel/nft-fake.js';
import { randomCluster } from '../trace/random-cluster.js';

describe('FakeNftKernel', () => {
  test('loads the full renderer script (table blocks) and replaces it again', async () => {
    const { snapshot, options } = randomCluster(5);
    const script = toNftScript(renderNftables(buildProxyState(snapshot, options).state));
    const k = new FakeNftKernel();
    await k.apply(script);
    const first = k.dump();
    expect(first).toContain('chain services');
    expect(first).toMatch(/set cluster-ips \{ type ipv4_addr \}\n {4}10\.96\.0\.10 comment "prop\/svc0"/);
    await k.apply(script);
    expect(k.dump()).toBe(first);
  });

  test('all or nothing: a failing command leaves the state as it was, with the failing line', async () => {
    const k = new FakeNftKernel();
    await k.apply('add table ip t\nadd set ip t s { type ipv4_addr; }\n');
    const before = k.dump();
    const err = await k.apply('add element ip t s { 1.1.1.1 }\ndelete element ip t s { 1.1.1.1,\n\t2.2.2.2 }\n').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NftError);
    expect(err).toMatchObject({ line: 3, lineText: '\t2.2.2.2 }', object: { verb: 'delete', kind: 'element', name: 's' } });
    expect(k.dump()).toBe(before);
  });

  test('refuses what it does not know instead of ignoring it', async () => {
    const k = new FakeNftKernel();
    await expect(k.apply('add table ip t\nflush ruleset\n')).rejects.toThrow(/does not know/);
  });
});

describe('parseNftStderr', () => {
  const script = 'add table ip kube-proxy\nadd element ip kube-proxy eps-2 { 10.0.0.1 . tcp . 80 . 0 : 10.1.0.1 . 80,\n\t10.0.0.1 . tcp . 80 . 1 : 10.1.0.2 . 80 }\n';
  test('a located error: line, the script line, the command it belongs to', () => {
    const stderr = '/dev/stdin:3:2-25: Error: Could not process rule: File exists\n\t10.0.0.1 . tcp . 80 . 1 : 10.1.0.2 . 80 }\n ^^^^^^^^^^^^^^^^^^^^^^^^\n';
    const e = parseNftStderr(stderr, 1, script);
    expect(e).toMatchObject({
      line: 3, exitCode: 1, lineText: '\t10.0.0.1 . tcp . 80 . 1 : 10.1.0.2 . 80 }',
      object: { verb: 'add', kind: 'element', family: 'ip', table: 'kube-proxy', name: 'eps-2' },
      message: 'nft: line 3 (element eps-2): Could not process rule: File exists',
    });
  });
  test('the first of several errors; the rest stay in stderr', () => {
    const stderr = '/dev/stdin:1:1-3: Error: syntax error, unexpected junk\njunk\n^^^\n/dev/stdin:2:1-3: Error: second\n';
    const e = parseNftStderr(stderr, 1, 'junk\nmore\n');
    expect(e.line).toBe(1);
    expect(e.stderr).toContain('second');
  });
  test("nft's internal location (line 0) is no script line", () => {
    const e = parseNftStderr('internal:0:0-0: Error: conflicting protocols specified: tcp vs. th\n\n', 1, 'add rule ip t c x\n');
    expect(e).toMatchObject({ line: undefined, message: 'nft: internal:0:0-0: Error: conflicting protocols specified: tcp vs. th' });
  });
  test('an error without a location', () => {
    const e = parseNftStderr('Error: No such file or directory\nlist table ip kube-proxy\n', 1);
    expect(e).toMatchObject({ line: undefined, object: undefined, message: 'nft: No such file or directory' });
  });
});
