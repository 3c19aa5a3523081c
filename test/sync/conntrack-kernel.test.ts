/**
 * The conntrack adapter (src/sync/kernel/conntrack.ts) against the real tool, in a
 * private namespace (`ip netns add`, deleted at the end, also on failure): listing per
 * family, exact deletion, "0 flow entries have been deleted" as 0, a missing or failing
 * tool. Needs root, iproute2 and conntrack.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { checkPrerequisites, run } from '../kernel/harness.js';
import { ConntrackError, ConntrackUnavailableError, createConntrackKernel } from '../../src/sync/kernel/conntrack.js';

const NS = `kpxct-${process.pid}`;
const prefix = ['ip', 'netns', 'exec', NS];

async function insert(args: string[]): Promise<void> {
  const r = await run('ip', [...prefix.slice(1), 'conntrack', '-I', '-p', 'udp', '-t', '120', ...args]);
  if (r.code !== 0) throw new Error(`conntrack -I ${args.join(' ')}: ${r.stderr}`);
}

beforeAll(async () => {
  await checkPrerequisites();
  const r = await run('ip', ['netns', 'add', NS]);
  if (r.code !== 0) throw new Error(r.stderr);
  await insert(['-s', '10.244.1.100', '-d', '10.96.0.10', '--sport', '4000', '--dport', '53', '-r', '10.244.2.2', '-q', '10.244.1.100', '--reply-port-src', '5353', '--reply-port-dst', '4000']);
  await insert(['-s', '10.244.1.100', '-d', '10.96.0.10', '--sport', '4001', '--dport', '53', '-r', '10.244.2.3', '-q', '10.244.1.100', '--reply-port-src', '5353', '--reply-port-dst', '4001']);
  await insert(['-s', 'fd00:10:244:1::100', '-d', 'fd00:10:96::a', '--sport', '4000', '--dport', '53', '-r', 'fd00:10:244:2::2', '-q', 'fd00:10:244:1::100', '--reply-port-src', '5353', '--reply-port-dst', '4000']);
}, 30_000);

afterAll(async () => {
  await run('ip', ['netns', 'del', NS]);
});

test('lists UDP flows per family, parsed', async () => {
  const ct = createConntrackKernel({ prefix });
  expect(await ct.version()).toMatch(/^\d+\.\d+/);
  const v4 = await ct.listUdp('ipv4');
  expect(v4.unparsed).toBe(0);
  expect(v4.flows.map((f) => `${f.origSrc}:${f.origSport}>${f.origDst}:${f.origDport}<${f.replySrc}:${f.replySport}`).sort())
    .toEqual(['10.244.1.100:4000>10.96.0.10:53<10.244.2.2:5353', '10.244.1.100:4001>10.96.0.10:53<10.244.2.3:5353']);
  const v6 = await ct.listUdp('ipv6');
  expect(v6.flows).toEqual([{ family: 'ipv6', origSrc: 'fd00:10:244:1::100', origDst: 'fd00:10:96::a', origSport: 4000, origDport: 53, replySrc: 'fd00:10:244:2::2', replySport: 5353 }]);
});

test('deletes exactly the filtered flows; nothing matching is 0, not an error', async () => {
  const ct = createConntrackKernel({ prefix });
  const filter = { family: 'ipv4' as const, origDst: '10.96.0.10', origDport: 53, replySrc: '10.244.2.2', replySport: 5353 };
  expect(await ct.deleteUdp(filter)).toBe(1);
  expect(await ct.deleteUdp(filter)).toBe(0);
  expect(await ct.deleteUdp({ ...filter, replySrc: '10.244.2.3', replySport: 53 })).toBe(0); // right IP, wrong port: kept
  expect((await ct.listUdp('ipv4')).flows.map((f) => f.replySrc)).toEqual(['10.244.2.3']);
  expect(await ct.deleteUdp({ family: 'ipv6', origDst: 'fd00:10:96::a', origDport: 53, replySrc: 'fd00:10:244:2::2', replySport: 5353 })).toBe(1);
  expect((await ct.listUdp('ipv6')).flows).toEqual([]);
});

test('a missing tool is ConntrackUnavailableError; a failing one a ConntrackError', async () => {
  await expect(createConntrackKernel({ binary: '/nonexistent/conntrack' }).version()).rejects.toThrow(ConntrackUnavailableError);
  await expect(createConntrackKernel({ binary: '/nonexistent/conntrack' }).listUdp('ipv4')).rejects.toThrow(ConntrackUnavailableError);
  await expect(createConntrackKernel({ binary: 'false' }).version()).rejects.toThrow(ConntrackUnavailableError);
  await expect(createConntrackKernel({ binary: 'false' }).listUdp('ipv4')).rejects.toThrow(ConntrackError);
  await expect(createConntrackKernel({ binary: 'false' }).deleteUdp({ family: 'ipv4', origDst: '10.96.0.10', origDport: 53, replySrc: '10.244.2.2', replySport: 5353 })).rejects.toThrow(ConntrackError);
});
