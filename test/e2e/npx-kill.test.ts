/**
 * `ip netns exec NS npx --no-install kpx run …` exactly as a node (or a check) starts
 * it, then SIGKILL of the npx process: kpx must not be left running (npm exec → sh → node:
 * the shell outlives npm and kpx's own parent never changes). The API server is
 * unreachable on purpose: kpx waits for it, which is all this needs. A private namespace
 * holds kpx's ports and its nft monitor; conntrack flags 0 leave global sysctls alone.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from '@jest/globals';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const NS = `kpxnpx-${process.pid}`;
let dir = '';
let npx: ChildProcess | undefined;
const started: number[] = [];

const children = (pid: number): number[] => {
  try { return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter((p) => p !== '').map(Number); } catch { return []; }
};
const alive = (pid: number): boolean => {
  try { return !/State:\s+Z/.test(readFileSync(`/proc/${pid}/status`, 'utf8')); } catch { return false; }
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(() => {
  execFileSync('ip', ['netns', 'add', NS]);
  execFileSync('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up']);
  dir = mkdtempSync(join(tmpdir(), 'kpx-npx-'));
  writeFileSync(join(dir, 'kubeconfig'), [
    'apiVersion: v1', 'kind: Config',
    'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]',
    'users: [{name: u, user: {token: t}}]',
    'contexts: [{name: x, context: {cluster: c, user: u}}]', 'current-context: x', '',
  ].join('\n'));
});

afterAll(() => {
  for (const pid of started) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  if (npx?.pid !== undefined) { try { process.kill(npx.pid, 'SIGKILL'); } catch { /* gone */ } }
  try { execFileSync('ip', ['netns', 'delete', NS]); } catch { /* gone */ }
  rmSync(dir, { recursive: true, force: true });
});

test('SIGKILL of `npx kpx run`: kpx stops too (no orphan left running)', async () => {
  npx = spawn('ip', ['netns', 'exec', NS, 'npx', '--no-install', 'kpx', 'run', '--kubeconfig', join(dir, 'kubeconfig'),
    '--hostname-override', 'node-a', '--proxy-mode', 'nftables', '--cluster-cidr', '10.244.0.0/16',
    '--conntrack-max-per-core=0', '--conntrack-tcp-timeout-established=0', '--conntrack-tcp-timeout-close-wait=0'],
  { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let logs = '';
  npx.stderr!.setEncoding('utf8').on('data', (d: string) => { logs += d; });
  // Wait until kpx itself logs (npx may first copy the package into its cache).
  const deadline = Date.now() + 60_000;
  while (!logs.includes('"component":"kpx"') && Date.now() < deadline) await sleep(100);
  expect(logs).toContain('"component":"kpx"');
  // `ip netns exec` execs npx: npx's pid is the spawned one. Everything below it:
  const below = (pid: number): number[] => children(pid).flatMap((c) => [c, ...below(c)]);
  const tree = below(npx.pid!);
  started.push(...tree);
  expect(tree.length).toBeGreaterThanOrEqual(1);
  process.kill(npx.pid!, 'SIGKILL');
  const until = Date.now() + 5_000;
  while (tree.some(alive) && Date.now() < until) await sleep(100);
  expect(tree.filter(alive).map((p) => `${p} ${readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ')}`)).toEqual([]);
  expect(logs).toContain('launcher (npm) exited');
}, 90_000);
