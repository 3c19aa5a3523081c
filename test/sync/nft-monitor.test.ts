/**
 * NftMonitor with the real `nft monitor` in a private namespace: kpx's own applies are
 * attributed to kpx, another process's flush and element deletion are drift, and a
 * monitor that dies is restarted (reporting the gap). Needs root and nft.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { attribute, type MonitorTransaction } from '../../src/sync/drift.js';
import { NftMonitor, parentPid } from '../../src/sync/nft-monitor.js';
import { createNftKernel } from '../../src/sync/kernel/nft.js';
import { realClock } from '../../src/watch/index.js';

const exec = promisify(execFile);
const NS = `kpxmon-${process.pid}`;
const quiet = { info: () => undefined, warn: () => undefined };
const TABLE = 'add table ip kube-proxy\ndelete table ip kube-proxy\nadd table ip kube-proxy\nadd set ip kube-proxy s { type ipv4_addr; }\nadd element ip kube-proxy s { 10.0.0.1, 10.0.0.2 }\n';

/** Another process (not kpx's child): bash runs nft and then something else, so nft's parent is bash. */
const foreign = (cmd: string): Promise<unknown> => exec('bash', ['-c', `ip netns exec ${NS} nft ${cmd}; true`]);

async function until(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('nft-monitor.test.ts needs root (network namespaces)');
  await exec('ip', ['netns', 'add', NS]);
});

afterAll(async () => {
  await exec('ip', ['netns', 'del', NS]).catch(() => undefined);
});

test('own applies are echoes, a foreign flush or element deletion is drift; a dead monitor restarts', async () => {
  const seen: { t: MonitorTransaction; verdict: 'own' | 'drift' }[] = [];
  let applying: { full: boolean } | undefined;
  let gaps = 0;
  const monitor = new NftMonitor({
    tables: [{ family: 'ip', name: 'kube-proxy' }],
    command: ['ip', 'netns', 'exec', NS, 'nft', 'monitor'],
    clock: realClock, logger: quiet, restartInitialMs: 100,
    onTransaction: (t) => seen.push({ t, verdict: attribute(t, { pid: process.pid, parentOf: parentPid, recentSync: () => applying }) }),
    onGap: () => { gaps++; },
  });
  monitor.start();
  try {
    await new Promise((r) => setTimeout(r, 300));
    const kernel = createNftKernel({ prefix: ['ip', 'netns', 'exec', NS] });
    applying = { full: true };
    await kernel.apply(TABLE);
    await until('the echo of our apply', () => seen.length === 1);
    applying = undefined;
    expect(seen[0]?.verdict).toBe('own');

    await foreign('delete element ip kube-proxy s { 10.0.0.1 }');
    await until('the foreign deletion', () => seen.length === 2);
    expect(seen[1]).toMatchObject({ verdict: 'drift', t: { tableDeleted: false, lines: ['delete element ip kube-proxy s { 10.0.0.1 }'] } });

    // Even while kpx is applying, another process's flush is drift.
    applying = { full: false };
    await foreign('flush ruleset');
    await until('the flush', () => seen.length === 3);
    applying = undefined;
    expect(seen[2]).toMatchObject({ verdict: 'drift', t: { tableDeleted: true } });

    const pid = monitor.pid!;
    process.kill(pid, 'SIGKILL');
    await until('a new monitor', () => gaps === 1 && monitor.pid !== undefined && monitor.pid !== pid);
    await new Promise((r) => setTimeout(r, 300));
    await foreign('add table ip kube-proxy');
    await until('events from the new monitor', () => seen.length === 4);
    expect(seen[3]?.verdict).toBe('drift');
  } finally {
    monitor.stop();
  }
});
