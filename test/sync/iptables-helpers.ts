/** Shared by the iptables proxier tests: the reference a fresh full load of a cluster gives. */
import { buildProxyState } from '../../src/model/build.js';
import type { ProxyOptions } from '../../src/model/types.js';
import { iptablesJumps, renderIptablesFamilies, toIptablesRestore } from '../../src/render/iptables/index.js';
import type { ClusterSnapshot } from '../../src/model/snapshot.js';
import type { IptablesKernel } from '../../src/sync/kernel/iptables.js';

/**
 * Loads what `kpx render --backend iptables` prints for the cluster (the renderer's own
 * `--noflush` input and its jumps, last first) plus the canary chains into `kernel`.
 */
export async function loadReference(kernel: IptablesKernel, snap: ClusterSnapshot, options: ProxyOptions, threshold?: number): Promise<void> {
  const state = buildProxyState(snap, options).state;
  for (const r of renderIptablesFamilies(state, threshold !== undefined ? { largeClusterEndpointsThreshold: threshold } : {})) {
    const canary = '*mangle\n:KUBE-PROXY-CANARY - [0:0]\nCOMMIT\n';
    const input = toIptablesRestore(r).replace(/^COMMIT$/gm, ':KUBE-PROXY-CANARY - [0:0]\nCOMMIT');
    await kernel.restore(r.family, canary + input);
    for (const j of [...iptablesJumps(r)].reverse()) await kernel.ensureRule(r.family, j.table, j.chain, j.args);
  }
}
