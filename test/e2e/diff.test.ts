/**
 * `kpx diff` against a running node (issue 11 item 5): in the node namespace, with the
 * live cluster and the same options as `kpx run`, per backend (nftables, iptables-nft):
 *  - after the proxy synced: nothing would change, exit 0;
 *  - the proxy stopped, a Service's endpoints changed: exit 1, that Service listed (and
 *    no other), in text and in `--output json`;
 *  - the proxy started again and synced: exit 0 again.
 * The proxy is always kpx here (kpx diff compares kpx's own rendering with the kernel;
 * upstream's rules are not kpx's byte for byte). Topology: ./README.md.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { Figures, okFrom, sleep, waitServing } from './steps.js';
import { E2E, NODE_NAME, podIP } from './topology.js';
import type { ProxyMode } from './proxy.js';
import { World } from './world.js';

const STABLE = { name: 'stable', clusterIP: '10.96.103.10' };
const MOVING = { name: 'moving', clusterIP: '10.96.103.20' };

let w: World | undefined;
const fig = new Figures('kpx diff against the running node', () => w);

beforeAll(async () => {
  w = await World.create('nftables');
  await w.writer.createService(STABLE);
  await w.writer.setEndpoints(STABLE.name, [2, 3].map((h) => ({ ip: podIP(h) })));
  await w.writer.createService(MOVING);
  await w.writer.setEndpoints(MOVING.name, [{ ip: podIP(4) }]);
}, 300_000);

afterAll(async () => {
  fig.print();
  await w?.dispose();
}, 60_000);

/** `kpx diff` with the options `kpx run` gets from proxyCommand() (render's names for them). */
function diff(mode: ProxyMode, json = false): Promise<{ code: number; stdout: string; stderr: string }> {
  return w!.kpx(['diff', '--proxy-mode', mode === 'nftables' ? 'nftables' : 'iptables',
    '--kubeconfig', w!.cp.nodeKubeconfig, '--node-name', NODE_NAME, '--cluster-cidr', E2E.clusterCIDR,
    ...(json ? ['--output', 'json'] : [])], mode);
}

async function startAndSync(mode: ProxyMode, h: number): Promise<void> {
  w!.startProxy([], mode, 'kpx');
  await waitServing(w!, STABLE.clusterIP);
  const t = w!.traffic([{ id: 'moving', proto: 'tcp', dst: MOVING.clusterIP, dport: 80 }]);
  await t.settled('moving', Date.now(), okFrom(h), `moving answers from ${podIP(h)} only`, 30_000);
  await t.stop();
  await sleep(1500); // past the minimum sync interval: no sync pending
}

describe.each(['nftables', 'iptables-nft'] as const)('kpx diff on %s', (mode) => {
  test('synced: exit 0; proxy stopped and a Service changed: exit 1 listing it; synced again: exit 0', async () => {
    if (w!.proxy?.running) await w!.proxy.signal('SIGTERM');
    const before = mode === 'nftables' ? 4 : 5;
    if (mode !== 'nftables') await w!.writer.setEndpoints(MOVING.name, [{ ip: podIP(before) }]);
    await startAndSync(mode, before);

    const clean = await diff(mode);
    fig.add(`${mode}: synced: exit ${clean.code}${clean.code === 0 ? '' : `:\n${clean.stdout.trim()}${clean.stderr.trim()}`}`);
    expect({ code: clean.code, out: clean.stdout + clean.stderr }).toMatchObject({ code: 0 });

    await w!.proxy!.signal('SIGTERM');
    await w!.writer.setEndpoints(MOVING.name, [{ ip: podIP(6) }]);
    await sleep(1000); // the write is in the API server
    const changed = await diff(mode);
    fig.add(`${mode}: proxy stopped, moving changed: exit ${changed.code}:\n${changed.stdout.trim()}`);
    expect(changed.code).toBe(1);
    expect(changed.stdout).toContain('moving');
    expect(changed.stdout).not.toContain('stable');
    const asJson = await diff(mode, true);
    expect(asJson.code).toBe(1);
    expect(JSON.stringify(JSON.parse(asJson.stdout))).toContain('moving');

    await startAndSync(mode, 6);
    const again = await diff(mode);
    fig.add(`${mode}: synced again: exit ${again.code}${again.code === 0 ? '' : `:\n${again.stdout.trim()}${again.stderr.trim()}`}`);
    expect({ code: again.code, out: again.stdout + again.stderr }).toMatchObject({ code: 0 });
  }, 180_000);
});
