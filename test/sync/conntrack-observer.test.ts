/**
 * The UDP conntrack cleanup observer (src/sync/conntrack-observer.ts) on a FAKE conntrack
 * kernel (FakeConntrack below: a flow table that lists and deletes by the same filter
 * the real tool applies). The real tool and real packets: conntrack-netns.test.ts.
 */
import { Registry } from 'prom-client';
import type { IPFamily } from '../../src/model/types.js';
import { silentLogger, type Logger } from '../../src/observe/logger.js';
import { createMetrics } from '../../src/observe/metrics.js';
import type { UdpFlow } from '../../src/sync/conntrack-cleanup.js';
import { ConntrackCleanup } from '../../src/sync/conntrack-observer.js';
import { ConntrackError, ConntrackUnavailableError, type ConntrackKernel, type UdpFlowFilter } from '../../src/sync/kernel/conntrack.js';
import type { ModelReader, SyncResult } from '../../src/sync/types.js';
import { flow, modelOf, udpService, udpSlice } from './conntrack-fixtures.js';

/** Fake: a flow table; deleteUdp removes what `conntrack -D` with the same filter would. */
class FakeConntrack implements ConntrackKernel {
  flows: UdpFlow[] = [];
  calls: string[] = [];
  missing = false;
  failList = false;
  async version(): Promise<string> {
    if (this.missing) throw new ConntrackUnavailableError('conntrack not found');
    return '1.4.7';
  }
  async listUdp(family: IPFamily): Promise<{ flows: UdpFlow[]; unparsed: number }> {
    this.calls.push(`list ${family}`);
    if (this.failList) throw new ConntrackError(['-L'], 1, 'Operation not permitted');
    return { flows: this.flows.filter((f) => f.family === family), unparsed: 0 };
  }
  async deleteUdp(f: UdpFlowFilter): Promise<number> {
    this.calls.push(`delete ${f.origDst}:${f.origDport}<-${f.replySrc}:${f.replySport}`);
    const match = (x: UdpFlow): boolean => x.family === f.family && x.origDst === f.origDst && x.origDport === f.origDport && x.replySrc === f.replySrc && x.replySport === f.replySport;
    const n = this.flows.filter(match).length;
    this.flows = this.flows.filter((x) => !match(x));
    return n;
  }
}

function result(model: ModelReader, affected: ReadonlySet<string> | 'all'): SyncResult {
  return { kind: 'partial', kernelOps: 1, problems: [], timings: { model: 0, render: 0, diff: 0, apply: 0 }, model, affected };
}

const svc = udpService('dns', { clusterIPs: ['10.96.0.10'] });
const one = (ip: string): ModelReader => modelOf([svc], [udpSlice('dns', 'ipv4', ip === '' ? [] : [ip])]);
const C = '10.244.1.100';

function setup(opts: { resyncMs?: number; logger?: Logger } = {}): { ct: FakeConntrack; cleanup: ConntrackCleanup; registry: Registry; clock: { t: number } } {
  const ct = new FakeConntrack();
  const registry = new Registry();
  const clock = { t: 0 };
  const cleanup = new ConntrackCleanup({ kernel: ct, logger: opts.logger ?? silentLogger, metrics: createMetrics(registry), now: () => clock.t, resyncMs: opts.resyncMs ?? 0 });
  return { ct, cleanup, registry, clock };
}

async function metric(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  const v = m?.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value;
}

test('no UDP Service: never lists', async () => {
  const { ct, cleanup } = setup();
  await cleanup.probe();
  const tcp = udpService('web', { clusterIPs: ['10.96.0.80'], protocol: 'TCP' });
  await cleanup.afterSync(result(modelOf([tcp], []), 'all'));
  await cleanup.afterSync(result(modelOf([tcp], []), new Set(['ns/web'])));
  expect(ct.calls).toEqual([]);
});

test('endpoint replaced: the old flow is deleted, the serving one kept, counted and timed', async () => {
  const { ct, cleanup, registry, clock } = setup();
  await cleanup.probe();
  await cleanup.afterSync(result(one('10.244.2.2'), 'all'));
  expect(ct.calls).toEqual(['list ipv4']); // IPv4 only: no IPv6 frontend
  ct.flows = [flow(C, 4000, '10.96.0.10', 53, '10.244.2.2', 5353), flow(C, 4001, '10.96.0.10', 53, '10.244.2.3', 5353), flow('10.244.1.101', 4000, '10.96.0.10', 53, '10.244.2.2', 5353)];
  ct.calls = [];
  clock.t = 1000;
  await cleanup.afterSync(result(one('10.244.2.3'), new Set(['ns/dns'])));
  expect(ct.calls).toEqual(['list ipv4', 'delete 10.96.0.10:53<-10.244.2.2:5353']);
  expect(ct.flows).toEqual([flow(C, 4001, '10.96.0.10', 53, '10.244.2.3', 5353)]);
  expect(cleanup.last).toEqual([{ family: 'ipv4', listed: 3, stale: 2, deleted: 2, ms: 0 }]);
  expect(await metric(registry, 'kubeproxy_conntrack_reconciler_deleted_entries_total', { ip_family: 'IPv4' })).toBe(2);
  expect(await registry.metrics()).toContain('kubeproxy_conntrack_reconciler_sync_duration_seconds_count{ip_family="IPv4"} 2');
});

test('scale 1 → 0: flows to the old endpoint are deleted (#139628)', async () => {
  const { ct, cleanup } = setup();
  await cleanup.afterSync(result(one('10.244.2.2'), 'all'));
  ct.flows = [flow(C, 4000, '10.96.0.10', 53, '10.244.2.2', 5353)];
  await cleanup.afterSync(result(one(''), new Set(['ns/dns'])));
  expect(ct.flows).toEqual([]);
});

test('nothing UDP changed and no resync due: no listing; resync due: listing', async () => {
  const { ct, cleanup, clock } = setup({ resyncMs: 30_000 });
  await cleanup.afterSync(result(one('10.244.2.2'), 'all'));
  ct.calls = [];
  clock.t = 10_000;
  await cleanup.afterSync(result(one('10.244.2.2'), new Set()));
  expect(ct.calls).toEqual([]);
  clock.t = 30_000;
  await cleanup.afterSync(result(one('10.244.2.2'), new Set()));
  expect(ct.calls).toEqual(['list ipv4']);
});

test('a failed listing is counted and retried at the next sync without any change', async () => {
  const { ct, cleanup, registry } = setup();
  await cleanup.afterSync(result(one('10.244.2.2'), 'all'));
  ct.failList = true;
  await cleanup.afterSync(result(one('10.244.2.3'), new Set(['ns/dns'])));
  expect(await metric(registry, 'kpx_conntrack_reconciler_errors_total', { reason: 'list' })).toBe(1);
  ct.failList = false;
  ct.flows = [flow(C, 4000, '10.96.0.10', 53, '10.244.2.2', 5353)];
  ct.calls = [];
  await cleanup.afterSync(result(one('10.244.2.3'), new Set()));
  expect(ct.calls).toEqual(['list ipv4', 'delete 10.96.0.10:53<-10.244.2.2:5353']);
  ct.calls = [];
  await cleanup.afterSync(result(one('10.244.2.3'), new Set()));
  expect(ct.calls).toEqual([]);
});

test('conntrack missing: one error at start, gauge 0, proxying goes on without listing', async () => {
  const errors: string[] = [];
  const logger: Logger = { ...silentLogger, error: (_f, m) => { errors.push(m); } };
  const { ct, cleanup, registry } = setup({ logger });
  ct.missing = true;
  expect(await cleanup.probe()).toBe(false);
  await cleanup.afterSync(result(one('10.244.2.2'), 'all'));
  await cleanup.afterSync(result(one('10.244.2.3'), new Set(['ns/dns'])));
  expect(ct.calls).toEqual([]);
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(/conntrack tool unavailable/);
  expect(await metric(registry, 'kpx_conntrack_tool_available')).toBe(0);
  expect(await metric(registry, 'kpx_conntrack_reconciler_errors_total', { reason: 'unavailable' })).toBe(1);
});
