import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { runCli, type CliRun } from '../helpers/cli.js';

const run = (argv: string[], stdin = ''): Promise<CliRun> => runCli(argv, stdin);

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
const EXAMPLE = ['render', '--backend', 'nftables', '-f', EXAMPLES, '--node-name', 'node-a', '--cluster-cidr', '10.244.0.0/16'];

describe('main', () => {
  it('prints usage for --help (stdout, 0) and without a command (stderr, 2)', async () => {
    expect(await run(['--help'])).toMatchObject({ code: 0, stdout: expect.stringContaining('Usage: kpx <command>'), stderr: '' });
    expect(await run(['render', '--help'])).toMatchObject({ code: 0, stdout: expect.stringContaining('Usage: kpx render'), stderr: '' });
    expect(await run([])).toMatchObject({ code: 2, stdout: '', stderr: expect.stringContaining('Usage: kpx <command>') });
  });

  it('exits 2 on usage errors, pointing at the right help', async () => {
    expect(await run(['render', '--backend', 'nftables', '--bogus'])).toEqual({
      code: 2, stdout: '', stderr: "kpx: unknown flag --bogus (run 'kpx render --help' for usage)\n",
    });
    expect(await run(['bogus'])).toEqual({ code: 2, stdout: '', stderr: "kpx: unknown command \"bogus\" (run 'kpx --help' for usage)\n" });
  });

  it('diff and cleanup usage errors exit 2 (no kernel touched); every proxy mode starts', async () => {
    // Without -f the live cluster is read; an unreadable kubeconfig is reported, exit 1.
    expect(await run(['render', '--backend', 'nftables', '--kubeconfig', '/nonexistent/kubeconfig', '--node-name', 'n'])).toMatchObject({ code: 1, stdout: '' });
    expect(await run(['diff', '--proxy-mode', 'userspace', '-f', EXAMPLES])).toEqual({
      code: 2, stdout: '', stderr: "kpx: --proxy-mode must be one of nftables, iptables, ipvs, got \"userspace\" (run 'kpx diff --help' for usage)\n",
    });
    expect(await run(['diff', '--output', 'yaml', '-f', EXAMPLES])).toMatchObject({ code: 2, stdout: '' });
    // An unreadable cluster is an error for diff: 2, as diff(1).
    expect(await run(['diff', '--kubeconfig', '/nonexistent/kubeconfig', '--node-name', 'n'])).toMatchObject({ code: 2, stdout: '' });
    expect(await run(['cleanup', '--bogus'])).toEqual({ code: 2, stdout: '', stderr: "kpx: unknown flag --bogus (run 'kpx cleanup --help' for usage)\n" });
    expect(await run(['diff', '--help'])).toMatchObject({ code: 0, stdout: expect.stringContaining('Usage: kpx diff') });
    expect(await run(['cleanup', '--help'])).toMatchObject({ code: 0, stdout: expect.stringContaining('Usage: kpx cleanup') });
    // run: the other proxy modes, with their own exit code (3).
    // Every mode is implemented: an unreadable kubeconfig stops it before any kernel access.
    for (const mode of ['iptables', 'ipvs']) {
      expect(await run(['run', `--proxy-mode=${mode}`, '--kubeconfig', '/nonexistent/kubeconfig'])).toMatchObject({ code: 1 });
    }
  });

  it('renders the example cluster without a word on stderr', async () => {
    const r = await run(EXAMPLE);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('table ip kube-proxy {');
    expect(r.stdout).toContain('table ip6 kube-proxy {');
    // Node IP from the Node object, ExternalName and headless Services left out.
    expect(r.stdout).toContain('10.100.0.10');
    expect(r.stdout).not.toContain('legacy-db');
    expect(r.stdout).not.toContain('node-exporter');
  });

  it('writes --out DIR/kube-proxy.nft instead of stdout', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kpx-out-'));
    try {
      const r = await run([...EXAMPLE, '--out', join(dir, 'sub')]);
      expect(r).toMatchObject({ code: 0, stdout: '' });
      expect(await readFile(join(dir, 'sub', 'kube-proxy.nft'), 'utf8')).toBe((await run(EXAMPLE)).stdout);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports skipped objects one per line and still exits 0', async () => {
    const stdin = `apiVersion: v1
kind: Service
metadata: {name: bad, namespace: x}
spec: {clusterIP: 10.96.0.99, ports: [{port: 99999, protocol: TCP}]}
---
apiVersion: v1
kind: Service
metadata: {name: good, namespace: x}
spec: {clusterIP: 10.96.0.98, ports: [{port: 80, protocol: TCP}]}
---
apiVersion: v1
kind: Pod
metadata: {name: p}
`;
    const r = await run(['render', '--backend', 'nftables', '-f', '-', '--node-name', 'n1'], stdin);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('x/good');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toContain('kpx: <stdin>:11: ignored 1 object of kind v1 Pod: kpx reads only Service, EndpointSlice and Node');
    expect(lines.some((l) => /^kpx: ignored Service x\/bad: spec\.ports\[0\]\.port: /.test(l))).toBe(true);
    expect(lines.some((l) => /^kpx: skipped Service x\/bad: spec\.ports: no valid port/.test(l))).toBe(true);
    expect(lines.some((l) => l.startsWith('kpx: --node-name: no Node named "n1"'))).toBe(true);
    // Fail closed, and said so: the nftables default `primary` falls back to loopback.
    expect(lines).toContain('kpx: warning: no Node object named "n1" (a mistyped --node-name or --hostname-override?): NodePorts are served on loopback only (127.0.0.1, ::1), and the node IP is assumed to be loopback');
    expect(r.stdout).not.toContain('0.0.0.0/0');
  });

  it('falls back to the host name, lower-cased, when no node name can be found', async () => {
    const stdin = 'apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: x}\nspec: {clusterIP: 10.96.0.1, ports: [{port: 80}]}\n';
    const r = await run(['render', '--backend', 'nftables', '-f', '-'], stdin);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('kpx: rendering for node "host-1" (the host name)\n');
  });

  it('exits 1 when nothing could be read', async () => {
    const r = await run(['render', '--backend', 'nftables', '-f', 'does/not/exist.yaml']);
    expect(r).toEqual({
      code: 1, stdout: '',
      stderr: 'kpx: does/not/exist.yaml: cannot read: no such file or directory\n'
        + 'kpx: nothing could be read: no Service, EndpointSlice or Node object in the input\n',
    });
    expect((await run(['render', '--backend', 'nftables', '-f', '-'], 'kind: [')).code).toBe(1);
  });
});
