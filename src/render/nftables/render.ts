/**
 * `renderNftables(state) → NftRuleset`: the pure nftables renderer (layout: README.md).
 * No I/O; the same state always gives the same ruleset, elements sorted.
 */
import type { FamilyState, ProxyState } from '../../model/types.js';
import { baseChains, fixedChains, lbChain } from './chains.js';
import { addrSortKey, intervalElements } from './cidr.js';
import { Collector, collectServicePort } from './frontends.js';
import { N, TABLE_NAME, lbMapName, nftFamily, type LbKind } from './names.js';
import type { NftElement, NftFamily, NftMap, NftMapElement, NftRuleset, NftSet, NftTable, NftTypeSpec } from './types.js';

export const LB_KINDS: readonly LbKind[] = ['lb', 'lbc', 'np-lb', 'np-lbc'];

/**
 * A string that sorts like the key part: numbers and addresses numerically (fixed-width
 * hex), IPv4 before IPv6, a CIDR by address then prefix length, anything else by text.
 */
function sortKeyPart(part: string): string {
  if (/^\d+$/.test(part)) return `0${part.padStart(12, '0')}`;
  return addrSortKey(part) ?? `3${part}`;
}

/** Deterministic element order (decorate, sort, undecorate; key parts memoised). */
function sorter(): <T extends NftElement>(elements: Iterable<T>) => T[] {
  const memo = new Map<string, string>();
  const part = (p: string): string => {
    let k = memo.get(p);
    if (k === undefined) memo.set(p, (k = sortKeyPart(p)));
    return k;
  };
  return <T extends NftElement>(elements: Iterable<T>): T[] => {
    const decorated = [...elements].map((e) => ({ e, k: e.key.map(part).join('\u0000') }));
    decorated.sort((x, y) => (x.k < y.k ? -1 : x.k > y.k ? 1 : 0));
    return decorated.map((d) => d.e);
  };
}

/** The endpoint map `eps-N` (and friends) of one lb kind and endpoint count, without elements. */
export function lbMap(family: NftFamily, kind: LbKind, count: number): NftMap {
  const frontend = kind === 'lb' || kind === 'lbc' ? `${family} daddr . meta l4proto . th dport` : 'meta l4proto . th dport';
  const key: NftTypeSpec = { typeof: `${frontend} . numgen random mod ${count}` };
  return { name: lbMapName(kind, count), key, value: { typeof: `${family} daddr . th dport` }, flags: [], elements: [] };
}

/** A table for one family. */
export function renderFamily(fs: FamilyState): NftTable {
  const family: NftFamily = nftFamily(fs.family);
  const addr = family === 'ip' ? 'ipv4_addr' : 'ipv6_addr';
  const frontendType = `${addr} . inet_proto . inet_service`;
  const c = new Collector(addr);
  const sorted = sorter();
  for (const sp of fs.services) collectServicePort(c, sp, intervalElements);

  const setElements = (name: string): NftElement[] => sorted(c.sets.get(name)?.values() ?? []);
  const mapElements = (name: string): NftMapElement[] => sorted(c.maps.get(name)?.values() ?? []);
  const set = (name: string, type: string, interval = false): NftSet => ({
    name, key: { type }, flags: interval ? ['interval'] : [], elements: setElements(name),
  });
  const cidrSet = (name: string, cidrs: readonly string[]): NftSet => ({
    name, key: { type: addr }, flags: ['interval'], elements: intervalElements(cidrs).map((cidr) => ({ key: [cidr] })),
  });
  const vmap = (name: string, type: string): NftMap => ({
    name, key: { type }, value: { type: 'verdict' }, flags: [], elements: mapElements(name),
  });

  const sets: NftSet[] = [
    set(N.clusterIPs, addr),
    ...(fs.serviceCIDRs.length > 0 ? [cidrSet(N.serviceCIDRs, fs.serviceCIDRs)] : []),
    ...(fs.clusterCIDRs.length > 0 ? [cidrSet(N.podCIDRs, fs.clusterCIDRs)] : []),
    cidrSet(N.nodeportIPs, fs.nodePortAddresses),
    set(N.hairpin, `${addr} . ${addr}`),
    set(N.firewallIPs, frontendType),
    set(N.firewallAllow, `${frontendType} . ${addr}`, true),
    ...[...c.affinitySets.values()].sort((x, y) => (x.name < y.name ? -1 : 1)),
  ];

  const lbMaps: NftMap[] = [];
  const lbChains = [];
  for (const kind of LB_KINDS) {
    for (const count of [...c.lbCounts[kind]].sort((x, y) => x - y)) {
      lbMaps.push({ ...lbMap(family, kind, count), elements: mapElements(lbMapName(kind, count)) });
      lbChains.push(lbChain(kind, count));
    }
  }

  const maps: NftMap[] = [
    vmap(N.serviceIPs, frontendType),
    vmap(N.serviceNodeports, 'inet_proto . inet_service'),
    vmap(N.lb, frontendType),
    vmap(N.lbCluster, frontendType),
    vmap(N.npLb, 'inet_proto . inet_service'),
    vmap(N.npLbCluster, 'inet_proto . inet_service'),
    vmap(N.noEndpointServices, frontendType),
    vmap(N.noEndpointNodeports, 'inet_proto . inet_service'),
    ...lbMaps,
  ];

  const chains = [
    ...baseChains(),
    ...fixedChains(fs),
    ...lbChains,
    ...[...c.affinityChains.values()].sort((x, y) => (x.name < y.name ? -1 : 1)),
  ];
  return { family, name: TABLE_NAME, sets, maps, chains };
}

/**
 * One table per IP family that has a node IP or a service; the ipv4 table always
 * (so `kpx render` on an empty cluster still prints a loadable skeleton).
 */
export function renderNftables(state: ProxyState): NftRuleset {
  const tables = [renderFamily(state.ipv4)];
  if (state.ipv6.nodeIPs.length > 0 || state.ipv6.services.length > 0) tables.push(renderFamily(state.ipv6));
  return { tables };
}
