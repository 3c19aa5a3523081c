/**
 * No input gives a stack trace or a hang (issue 9, item 4): every failure is one line
 * on stderr that names the flag or file, with the documented exit code, and nothing
 * from the input is echoed with its control characters raw.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { runCli, type CliRun } from '../helpers/cli.js';

const run = (argv: string[], stdin = ''): Promise<CliRun> => runCli(argv, stdin, 'host-1');

/** Every stderr line is one `kpx: ` message without raw control characters or a stack frame. */
function expectCleanLines(stderr: string): string[] {
  const lines = stderr.trimEnd().split('\n');
  for (const line of lines) {
    expect(line).toMatch(/^kpx: /);
    expect(line).not.toMatch(/^\s+at |\bat .*\.[jt]s:\d+/);
    // eslint-disable-next-line no-control-regex
    expect(line).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
  }
  return lines;
}

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
const RENDER = ['render', '--backend', 'nftables', '--node-name', 'node-a'];

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'kpx-robust-')); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

describe('input that used to crash or hang', () => {
  it('deeply nested JSON arrays: reported, not a stack overflow', async () => {
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    const r = await run([...RENDER, '-f', '-'], deep);
    expect(r.code).toBe(1);
    const lines = expectCleanLines(r.stderr);
    expect(lines).toContain('kpx: <stdin>[0][0][0][0][0][0][0][0]: list nested too deeply; ignored');
  });

  it('a YAML alias bomb: each object walked once', async () => {
    const levels = ['a: &a [{apiVersion: v1, kind: ConfigMap}, {apiVersion: v1, kind: ConfigMap}]'];
    for (let i = 1; i < 30; i++) levels.push(`${String.fromCharCode(97 + (i % 26))}${i}: &l${i} [${i === 1 ? '*a' : `*l${i - 1}`}, ${i === 1 ? '*a' : `*l${i - 1}`}]`);
    const text = `apiVersion: v1\nkind: List\nitems:\n- ${levels.map((l) => l.replace(/^(\w+): /, '')).join('\n- ')}\n`;
    const r = await run([...RENDER, '-f', '-'], text);
    expect(r.code).toBe(1);
    expectCleanLines(r.stderr);
  });

  it('--out naming an existing file: one line naming --out', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, 'x');
    const r = await run([...RENDER, '-f', EXAMPLES, '--out', file]);
    expect(r.code).toBe(1);
    expect(expectCleanLines(r.stderr).at(-1)).toBe(`kpx: --out ${file}: ${file} exists and is not a directory`);
  });

  it.each(['/proc/kpx-no-such-dir/out', '/sys/kpx-no-such-dir'])('--out %s: fails at once instead of looping', async (out) => {
    const r = await run([...RENDER, '-f', EXAMPLES, '--out', out]);
    expect(r.code).toBe(1);
    expect(expectCleanLines(r.stderr).at(-1)).toMatch(new RegExp(`^kpx: --out ${out}: cannot create /(proc|sys)/kpx-no-such-dir: `));
  }, 10_000);

  it('-f /dev/zero: refused at once instead of reading forever', async () => {
    const r = await run([...RENDER, '-f', '/dev/zero']);
    expect(r.code).toBe(1);
    expect(expectCleanLines(r.stderr)[0]).toBe('kpx: /dev/zero: cannot read: not a file, directory or pipe');
  }, 10_000);

  it('explain with a zone-link IPv6 literal: a usage error naming the flag', async () => {
    const r = await run(['explain', '-f', EXAMPLES, '--node-name', 'node-a', '--src', 'fe80::1%eth0', '--dst', 'fd00::1', '--dport', '80']);
    expect(r.code).toBe(2);
    expect(expectCleanLines(r.stderr)).toEqual([expect.stringMatching(/^kpx: --src: "fe80::1%eth0": an address with a zone is not supported/)]);
  });

  it('explain with an IPv4-mapped IPv6 address: refused clearly, with the address to use', async () => {
    const r = await run(['explain', '-f', EXAMPLES, '--node-name', 'node-a', '--src', '10.244.1.50', '--dst', '::ffff:10.96.10.5', '--dport', '9000']);
    expect(r.code).toBe(2);
    expect(expectCleanLines(r.stderr)).toEqual([expect.stringMatching(/^kpx: --dst: "::ffff:10.96.10.5" is an IPv4-mapped IPv6 address; explain 10.96.10.5 \(IPv4\) instead/)]);
  });
});

describe('control characters from the input are escaped before they are echoed', () => {
  it('in a file name', async () => {
    const r = await run([...RENDER, '-f', join(dir, 'evil\n\u001b[31mname.yaml')]);
    expect(r.code).toBe(1);
    expect(expectCleanLines(r.stderr)[0]).toContain('evil\\n\\u001b[31mname.yaml: cannot read: no such file or directory');
  });

  it('in a flag value', async () => {
    const r = await run(['render', '--backend', 'nft\u001b]0;pwned\u0007ables']);
    expect(r.code).toBe(2);
    expect(expectCleanLines(r.stderr)).toEqual(['kpx: --backend must be one of nftables, iptables, ipvs, got "nft\\u001b]0;pwned\\u0007ables" (run \'kpx render --help\' for usage)']);
  });

  it('in a manifest: names, values and YAML errors', async () => {
    const text = 'apiVersion: v1\nkind: Service\nmetadata: {name: "bad\\u001b[2Jname", namespace: x}\nspec: {clusterIP: 10.96.0.1, externalIPs: ["1.2.3.4\\u0007"], ports: [{port: 80}]}\n---\nkey: "unterminated\u0085\n';
    const r = await run([...RENDER, '-f', '-'], text);
    expect(r.code).toBe(0);
    expectCleanLines(r.stderr);
  });
});

describe('exit codes are documented', () => {
  it('in every help text', async () => {
    for (const topic of [[], ['render'], ['explain']]) {
      const r = await run(['help', ...topic]);
      expect(r.stdout).toMatch(/1 input or\s+output error/);
      expect(r.stdout).toMatch(/2 usage error, 3 not\s+implemented/);
    }
  });
});
