/**
 * Takeover between modes under continuous traffic (issue 11 item 6/7): the proxy runs in
 * one mode, is stopped (its rules stay), and the proxy in another mode starts on the
 * same node. The new mode's rules serve, the old mode's rules are removed (kpx removes
 * them after its first sync, so no request fails in between), and foreign rules — an
 * nftables table and an iptables chain another program owns — stay.
 *  1. iptables (nft flavour) → nftables;
 *  2. nftables → iptables (legacy flavour).
 * Upstream kube-proxy does the same at start (cmd/kube-proxy/app/server_linux.go
 * platformCleanup: iptables and ipvs leftovers when the mode is nftables, nftables
 * leftovers when it is iptables or ipvs), with the `iptables` on its PATH.
 * Topology: ./README.md.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { failures, withoutLoneTimeouts, type Req } from './judge.js';
import { Figures, okFrom, sleep, summary, waitServing } from './steps.js';
import { E2E, podIP } from './topology.js';
import type { Traffic } from './traffic.js';
import type { ProxyKind, ProxyMode } from './proxy.js';
import { World } from './world.js';

const STABLE = { name: 'stable', clusterIP: '10.96.102.10', type: 'NodePort', nodePort: 30100 } as const;
const MOVING = { name: 'moving', clusterIP: '10.96.102.20' };
/** Left by "another program": must survive every takeover. */
const FOREIGN_NFT_TABLE = 'kpxe_foreign';
const FOREIGN_CHAIN = 'KPXE-FOREIGN';

let w: World | undefined;
const fig = new Figures('takeover between modes', () => w);

beforeAll(async () => {
  w = await World.create('nftables');
  await w.writer.createService(STABLE);
  await w.writer.setEndpoints(STABLE.name, [2, 3, 4].map((h) => ({ ip: podIP(h) })));
  await w.writer.createService(MOVING);
  await w.writer.setEndpoints(MOVING.name, [{ ip: podIP(5) }]);
  await w.nft(['add', 'table', 'ip', FOREIGN_NFT_TABLE]);
  for (const fl of ['nft', 'legacy'] as const) await w.iptables(fl, ['-w', '-t', 'nat', '-N', FOREIGN_CHAIN]);
}, 300_000);

afterAll(async () => {
  fig.print();
  await w?.dispose();
}, 60_000);

/**
 * Chains kube-proxy shares with kubelet and never deletes (pkg/proxy/iptables/cleanup.go
 * leaves them): kubelet's flavour hint and canary, KUBE-FIREWALL (the localhost-martian
 * drop both create) and KUBE-MARK-DROP.
 */
const SHARED_CHAINS = new Set(['KUBE-IPTABLES-HINT', 'KUBE-KUBELET-CANARY', 'KUBE-FIREWALL', 'KUBE-MARK-DROP']);

/** kube-proxy's own KUBE-* (and kpx's KPX-*) chains of an iptables flavour, both families, every table. */
async function kubeChains(fl: 'nft' | 'legacy'): Promise<string[]> {
  const dumps = await Promise.all((['iptables', 'ip6tables'] as const).map((t) => w!.iptables(fl, [], t, '-save')));
  return dumps.join('').split('\n').filter((l) => l.startsWith(':KUBE-') || l.startsWith(':KPX-'))
    .map((l) => l.split(' ')[0]!.slice(1)).filter((c) => !SHARED_CHAINS.has(c));
}

/** kube-proxy's nftables tables present (`ip kube-proxy`, `ip6 kube-proxy`). */
async function kubeTables(): Promise<string[]> {
  return (await w!.nft(['list', 'tables'])).split('\n').filter((l) => / kube-proxy$/.test(l)).map((l) => l.trim());
}

/** What the old mode left, as text: empty when it is all gone. */
async function leftovers(old: ProxyMode): Promise<string[]> {
  if (old === 'nftables') return kubeTables();
  return kubeChains(old === 'iptables-nft' ? 'nft' : 'legacy');
}

async function foreignStays(): Promise<void> {
  expect(await w!.nft(['list', 'tables'])).toContain(`table ip ${FOREIGN_NFT_TABLE}`);
  for (const fl of ['nft', 'legacy'] as const) expect(await w!.iptables(fl, ['-w', '-t', 'nat', '-S'])).toContain(`-N ${FOREIGN_CHAIN}`);
}

async function until(what: string, timeoutMs: number, ok: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (await ok()) return Date.now();
    await sleep(200);
  }
  throw new Error(`${what}: not within ${timeoutMs} ms\n${w!.proxy?.tail() ?? ''}`);
}

function startTraffic(): { inside: Traffic; outside: Traffic } {
  return {
    inside: w!.traffic([
      { id: 'stable', proto: 'tcp', dst: STABLE.clusterIP, dport: 80 },
      { id: 'moving', proto: 'tcp', dst: MOVING.clusterIP, dport: 80 },
    ]),
    outside: w!.traffic([{ id: 'nodeport', proto: 'tcp', dst: E2E.nodeIP, dport: STABLE.nodePort }], 'ext'),
  };
}

/**
 * The proxy that leaves the old mode's rules: the one under test, or with
 * KPX_E2E_TAKEOVER_FROM=upstream kube-proxy itself (kube-proxy → kpx, as on a real node).
 */
function fromKind(): ProxyKind {
  const v = process.env['KPX_E2E_TAKEOVER_FROM'] ?? w!.kind;
  if (v !== 'kpx' && v !== 'upstream') throw new Error(`KPX_E2E_TAKEOVER_FROM must be kpx or upstream, not ${JSON.stringify(v)}`);
  return v;
}

async function takeover(from: ProxyMode, to: ProxyMode, moveTo: number): Promise<void> {
  if (!w!.proxy?.running) {
    w!.startProxy([], from, fromKind());
    await waitServing(w!, STABLE.clusterIP);
    await waitServing(w!, MOVING.clusterIP);
  }
  expect((await leftovers(from)).length).toBeGreaterThan(0);
  const { inside, outside } = startTraffic();
  await sleep(1000);
  await w!.proxy!.signal('SIGTERM');
  await sleep(1000);
  // The stopped proxy's rules keep serving.
  expect((await leftovers(from)).length).toBeGreaterThan(0);
  const startedAt = Date.now();
  w!.startProxy([], to);
  let left: string[] = [];
  const goneAt = await until(`the ${from} rules are removed by the ${to} proxy`, 60_000, async () => (left = await leftovers(from)).length === 0)
    .catch((err: unknown) => { throw new Error(`${String(err)}\nleft: ${left.join(' ')}`); });
  // The new mode serves a change (not only the old rules or conntrack entries).
  const since = Date.now();
  await w!.writer.setEndpoints(MOVING.name, [{ ip: podIP(moveTo) }]);
  const seen: Req = await inside.settled('moving', since, okFrom(moveTo), `moving answers from ${podIP(moveTo)} only`, 30_000);
  await sleep(1000);
  const reqs = [...await inside.stop(), ...await outside.stop()];
  fig.add(`${from} → ${to}: ${from} rules removed ${goneAt - startedAt} ms after the ${to} proxy started; change in the kernel ${Math.round(seen.t0 - since)} ms after the write; ` +
    `stable ${summary(inside, 'stable')}; nodeport ${summary(outside, 'nodeport')}; failed requests: ${failures(reqs).length}`);
  // Lone timeouts as on every iptables run (judge.ts withoutLoneTimeouts): set aside when an iptables proxy is involved.
  const { left: counted, lone } = withoutLoneTimeouts(reqs, failures(reqs));
  if (lone.length > 0) fig.add(`${from} → ${to}: lone timeouts set aside (iptables): ${lone.map((r) => `${r.id} #${r.seq}`).join(', ')}`);
  expect(counted).toEqual([]);
  expect(await leftovers(from)).toEqual([]);
  await foreignStays();
}

describe('takeover between modes under continuous traffic', () => {
  test('iptables (nft flavour) → nftables: iptables rules removed, no request fails', async () => {
    await takeover('iptables-nft', 'nftables', 6);
  }, 180_000);

  test('nftables → iptables (legacy flavour): nftables tables removed, no request fails', async () => {
    await w!.kubeletHint('legacy');
    await takeover('nftables', 'iptables-legacy', 7);
  }, 180_000);
});
