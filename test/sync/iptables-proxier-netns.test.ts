/**
 * The iptables proxier with the real adapter (both flavours) in private network
 * namespaces (never the machine's own): a sequence of incremental syncs over a changing
 * cluster leaves exactly what one fresh full sync of the final cluster leaves in another
 * namespace (iptables-save of filter, nat and mangle, normalised), next to a foreign
 * chain, a foreign rule and a DROP policy that stay untouched; a flushed table is
 * reported by the canary check and repaired by a full sync.
 */
import { checkPrerequisites, cleanupLeftovers, run } from '../kernel/harness.js';
import type { IPFamily } from '../../src/model/types.js';
import { createIptablesKernel, type IptablesKernel } from '../../src/sync/kernel/iptables.js';
import { FakeIptablesKernel } from '../../src/sync/kernel/iptables-fake.js';
import type { IptablesFlavour } from '../../src/sync/kernel/iptables-flavour.js';
import { createIptablesProxier } from '../../src/sync/iptables/index.js';
import { prng, randomCluster } from '../trace/random-cluster.js';
import { TestCluster } from './helpers.js';

const NS_A = `kpx-${process.pid}-921-ipta`;
const NS_B = `kpx-${process.pid}-922-iptb`;
const inNs = (ns: string): readonly string[] => ['ip', 'netns', 'exec', ns];
const FLAVOURS: readonly IptablesFlavour[] = ['nft', 'legacy'];

async function mustRun(cmd: string, args: readonly string[]): Promise<void> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

async function freshNs(ns: string): Promise<void> {
  await run('ip', ['netns', 'del', ns]);
  await mustRun('ip', ['netns', 'add', ns]);
}

/** A foreign chain with a rule, a foreign jump in a built-in chain, a DROP policy. */
async function addForeign(ns: string, flavour: IptablesFlavour): Promise<void> {
  const ipt = [...inNs(ns), `iptables-${flavour}`, '-w', '5'];
  const [cmd, ...rest] = ipt;
  await mustRun(cmd!, [...rest, '-t', 'nat', '-N', 'CNI-HOSTPORT']);
  await mustRun(cmd!, [...rest, '-t', 'nat', '-A', 'CNI-HOSTPORT', '-p', 'tcp', '--dport', '8443', '-j', 'DNAT', '--to-destination', '10.1.1.1:443']);
  await mustRun(cmd!, [...rest, '-t', 'nat', '-A', 'PREROUTING', '-j', 'CNI-HOSTPORT']);
  await mustRun(cmd!, [...rest, '-t', 'filter', '-P', 'FORWARD', 'DROP']);
}

/** iptables-save of a family's tables, normalised by the fake (sorted chains, no counters). */
async function saved(kernel: IptablesKernel, family: IPFamily = 'ipv4'): Promise<string> {
  const fake = new FakeIptablesKernel();
  for (const t of ['mangle', 'filter', 'nat']) await fake.restore(family, await kernel.save(family, t));
  return fake.dump(family);
}

beforeAll(async () => {
  await checkPrerequisites();
  await cleanupLeftovers();
});

afterAll(async () => {
  await run('ip', ['netns', 'del', NS_A]);
  await run('ip', ['netns', 'del', NS_B]);
});

describe.each(FLAVOURS)('iptables proxier on iptables-%s (real kernel, private namespaces)', (flavour) => {
  test('incremental syncs leave exactly what a fresh full sync of the final cluster leaves; foreign rules stay', async () => {
    const r = prng(99);
    let partials = 0;
    for (const seed of [3, 11]) {
      await freshNs(NS_A);
      await addForeign(NS_A, flavour);
      const kernelA = createIptablesKernel({ flavour, prefix: inNs(NS_A) });
      const base = randomCluster(seed);
      const cluster = new TestCluster(base.snapshot);
      const proxier = createIptablesProxier({ kernel: kernelA });
      expect((await proxier.sync({ view: cluster, changes: 'all', options: base.options })).kind).toBe('full');
      for (let step = 0; step < 5; step++) {
        const other = randomCluster(5000 + Math.floor(r() * 100000)).snapshot;
        const s = Math.floor(r() * 5);
        const key = `prop/svc${s}`;
        if (r() < 0.6) cluster.setService(key, other.services.find((x) => x.metadata?.name === `svc${s}`));
        cluster.setSlices(key, other.endpointSlices.filter((x) => x.metadata?.labels?.['kubernetes.io/service-name'] === `svc${s}`));
        const res = await proxier.sync({ view: cluster, changes: cluster.takeChanges(), options: base.options });
        if (res.kind === 'partial') partials++;

        await freshNs(NS_B);
        await addForeign(NS_B, flavour);
        const kernelB = createIptablesKernel({ flavour, prefix: inNs(NS_B) });
        await createIptablesProxier({ kernel: kernelB }).sync({ view: cluster, changes: 'all', options: base.options });
        const fresh = await saved(kernelB);
        expect(await saved(kernelA)).toEqual(fresh);
        expect(fresh).toMatch(/^:FORWARD DROP /m);
        expect(fresh).toMatch(/^-A CNI-HOSTPORT -p tcp -m tcp --dport 8443 -j DNAT --to-destination 10\.1\.1\.1:443$/m);
        expect(fresh).toMatch(/^-A PREROUTING -j CNI-HOSTPORT$/m);
      }
    }
    expect(partials).toBeGreaterThan(5);
  });

  test('a flushed nat table: the canary check reports it, a full sync repairs it; foreign rules elsewhere stay', async () => {
    await freshNs(NS_A);
    await addForeign(NS_A, flavour);
    const kernel = createIptablesKernel({ flavour, prefix: inNs(NS_A) });
    const base = randomCluster(20);
    const cluster = new TestCluster(base.snapshot);
    const proxier = createIptablesProxier({ kernel });
    await proxier.sync({ view: cluster, changes: 'all', options: base.options });
    const before = await saved(kernel);
    expect(await proxier.checkCanaries()).toEqual([]);
    await mustRun('ip', [...inNs(NS_A).slice(1), `iptables-${flavour}`, '-t', 'nat', '-F']);
    await mustRun('ip', [...inNs(NS_A).slice(1), `iptables-${flavour}`, '-t', 'nat', '-X']);
    expect(await proxier.checkCanaries()).toEqual(['ipv4/nat']);
    // What the controller's drift() does: forget, then a full sync.
    proxier.invalidate();
    expect((await proxier.sync({ view: cluster, changes: { services: new Set(), node: false }, options: base.options })).kind).toBe('full');
    expect(await proxier.checkCanaries()).toEqual([]);
    // The foreign nat chain was flushed away by the test itself; everything of kpx is back.
    const strip = (s: string): string => s.split('\n').filter((l) => !/CNI-HOSTPORT/.test(l)).join('\n');
    expect(strip(await saved(kernel))).toEqual(strip(before));
  });
});
