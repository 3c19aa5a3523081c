/**
 * Property: random sequences of changes applied incrementally leave exactly what a
 * fresh full build gives — the model (state and problems) and the kernel state (a fake
 * kernel after incremental transactions == a fake kernel loaded with the full renderer's
 * script for the final cluster).
 */
import { buildProxyState } from '../../src/model/build.js';
import { renderNftables, toNftScript } from '../../src/render/nftables/index.js';
import { FakeNftKernel } from '../../src/sync/kernel/nft-fake.js';
import { createNftablesProxier } from '../../src/sync/nftables/index.js';
import type { Problem } from '../../src/model/types.js';
import { prng, randomCluster } from '../trace/random-cluster.js';
import { TestCluster, withoutPendingDeletes } from './helpers.js';

const sortedProblems = (ps: readonly Problem[]): string[] => ps.map((p) => JSON.stringify(p)).sort();

async function reference(cluster: TestCluster, options: Parameters<typeof buildProxyState>[1]): Promise<string> {
  const k = new FakeNftKernel();
  await k.apply(toNftScript(renderNftables(buildProxyState(cluster.snapshot(), options).state)));
  return k.dump();
}

const kinds = new Map<string, number>();
afterAll(() => {
  // The property is about partial transactions: most steps must have been partial.
  expect(kinds.get('partial') ?? 0).toBeGreaterThan(5 * (kinds.get('full') ?? 0));
});

describe('incremental sync == full build + render', () => {
  for (let seed = 1; seed <= 40; seed++) {
    test(`seed ${seed}`, async () => {
      const r = prng(seed * 7919);
      const base = randomCluster(seed);
      const cluster = new TestCluster(base.snapshot);
      const options = base.options;
      const kernel = new FakeNftKernel();
      const proxier = createNftablesProxier({ kernel });
      const first = await proxier.sync({ view: cluster, changes: 'all', options });
      expect(first.kind).toBe('full');
      for (let step = 0; step < 12; step++) {
        // Take Service `s` (and its slices) from another random cluster: frontends,
        // node ports and external IPs of different seeds collide, so conflicts flip.
        const other = randomCluster(1000 + Math.floor(r() * 100000)).snapshot;
        const s = Math.floor(r() * 5);
        const key = `prop/svc${s}`;
        const what = r();
        if (what < 0.55) {
          cluster.setService(key, other.services.find((x) => x.metadata?.name === `svc${s}`));
          cluster.setSlices(key, other.endpointSlices.filter((x) => x.metadata?.labels?.['kubernetes.io/service-name'] === `svc${s}`));
        } else if (what < 0.75) {
          cluster.setSlices(key, other.endpointSlices.filter((x) => x.metadata?.labels?.['kubernetes.io/service-name'] === `svc${s}`));
        } else if (what < 0.9) {
          cluster.setService(key, undefined);
        } else {
          const ip = `10.100.0.${10 + Math.floor(r() * 3)}`;
          cluster.setNode({ ...cluster.nodeObject!, status: { addresses: [{ type: 'InternalIP', address: ip }] } });
        }
        const changes = cluster.takeChanges();
        const res = await proxier.sync({ view: cluster, changes, options });
        kinds.set(res.kind, (kinds.get(res.kind) ?? 0) + 1);
        const full = buildProxyState(cluster.snapshot(), options);
        expect(proxier.model!.state()).toEqual(full.state);
        expect(sortedProblems(res.problems)).toEqual(sortedProblems(full.problems));
        const ref = await reference(cluster, options);
        expect(withoutPendingDeletes(kernel.dump(), ref)).toEqual(ref);
        // Nothing changed since: no kernel call.
        const calls = kernel.calls;
        const again = await proxier.sync({ view: cluster, changes: { services: new Set([key]), node: false }, options });
        expect(again.kind).toBe('noop');
        expect(kernel.calls).toBe(calls);
      }
    });
  }
});
