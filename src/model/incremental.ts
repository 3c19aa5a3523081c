/**
 * The model, kept up to date per Service: the same ProxyState buildProxyState gives,
 * recomputing only the Services that changed.
 *
 * Per Service key (`namespace/name`) it caches the parse of the Service and its slices
 * and the ServicePorts per family before conflict resolution. Conflicts (conflicts.ts:
 * a frontend claimed by two Service ports goes to the first in key order) are resolved
 * per connected group: a changed Service is re-resolved together with every Service
 * that claims, or claimed, one of its frontends, transitively. Services outside that
 * group share no frontend with it, so their result cannot change.
 *
 * Order: build.ts sorts ports by `namespace/name:port` key. Names never contain `:`,
 * so the ports of one Service are contiguous and Services sort by `namespace/name:`.
 */
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { buildProxyState, servicePorts } from './build.js';
import { resolveConflicts } from './conflicts.js';
import { SERVICE_NAME_LABEL, parseEndpointSlice, type ParsedSlice } from './endpointslice.js';
import { parseNode, type NodeInfo } from './node.js';
import { parseService } from './service.js';
import type { ClusterSnapshot } from './snapshot.js';
import type { Endpoint, FamilyState, IPFamily, Problem, ProxyOptions, ProxyState, ServicePort } from './types.js';

const FAMILIES: readonly IPFamily[] = ['ipv4', 'ipv6'];

/** A Service as the watch layer holds it: the object (if any) and every slice labelled for it. */
export interface ServiceSource {
  readonly service: V1Service | undefined;
  readonly slices: readonly V1EndpointSlice[];
}

type PerFamily<T> = Record<IPFamily, T>;

interface Entry {
  readonly order: string;
  readonly problems: readonly Problem[];
  /** Before conflict resolution, sorted as build.ts sorts. */
  readonly ports: PerFamily<readonly ServicePort[]>;
  readonly claims: readonly string[];
  resolved: PerFamily<readonly ServicePort[]>;
  conflicts: Problem[];
}

const byPortKey = (a: ServicePort, b: ServicePort): number =>
  a.key < b.key ? -1 : a.key > b.key ? 1 : a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : 0;

/** The key build.ts gives a raw Service. */
export function serviceKeyOf(svc: V1Service): string {
  return `${svc.metadata?.namespace ?? 'default'}/${svc.metadata?.name ?? ''}`;
}

/** Slices whose label is unreadable are kept under this key (their problems still count). */
const UNLABELLED = '\u0000unlabelled';

/**
 * The model copies each endpoint into every list it is in (all, cluster, local); at 10k
 * Services × 10 endpoints that is 20 MB of identical objects. Keep one object per
 * endpoint (only where the copies are equal) and the internal/external lists pointing at
 * the same arrays as before.
 */
function shareEndpoints(sp: ServicePort): ServicePort {
  const canon = new Map<string, Endpoint>();
  for (const e of sp.allEndpoints) canon.set(`${e.ip}|${e.port}`, e);
  const same = (a: Endpoint, b: Endpoint): boolean => a.ready === b.ready && a.serving === b.serving &&
    a.terminating === b.terminating && a.local === b.local && a.nodeName === b.nodeName && a.zone === b.zone;
  const share = (list: readonly Endpoint[]): readonly Endpoint[] => list.map((e) => {
    const c = canon.get(`${e.ip}|${e.port}`);
    return c !== undefined && same(c, e) ? c : e;
  });
  const clusterEndpoints = share(sp.clusterEndpoints);
  const localEndpoints = share(sp.localEndpoints);
  const pick = (list: readonly Endpoint[]): readonly Endpoint[] =>
    list === sp.clusterEndpoints ? clusterEndpoints : list === sp.localEndpoints ? localEndpoints : share(list);
  return { ...sp, clusterEndpoints, localEndpoints, internalEndpoints: pick(sp.internalEndpoints), externalEndpoints: pick(sp.externalEndpoints) };
}

function sameProblems(a: readonly Problem[], b: readonly Problem[]): boolean {
  return a.length === b.length && a.every((p, i) => {
    const q = b[i]!;
    return p.kind === q.kind && p.object === q.object && p.path === q.path && p.message === q.message && p.effect === q.effect;
  });
}

function claimsOf(ports: PerFamily<readonly ServicePort[]>): string[] {
  return FAMILIES.flatMap((f) => ports[f].flatMap((sp) => [
    ...[sp.clusterIP, ...sp.externalIPs, ...sp.loadBalancerIPs].map((ip) => `${f}|${ip}|${sp.protocol}|${sp.port}`),
    ...(sp.nodePort !== undefined ? [`${f}|nodeport|${sp.protocol}|${sp.nodePort}`] : []),
  ]));
}

export class IncrementalModel {
  private readonly entries = new Map<string, Entry>();
  private readonly claimants = new Map<string, Set<string>>();
  private base: { state: ProxyState; problems: readonly Problem[] };
  private node: NodeInfo;
  private flatProblems: Problem[] | undefined;

  /** Builds everything from a snapshot (first sync, a Node or options change). Throws OptionsError. */
  constructor(snapshot: ClusterSnapshot, readonly options: ProxyOptions) {
    const empty = buildProxyState({ services: [], endpointSlices: [], ...(snapshot.node ? { node: snapshot.node } : {}) }, options);
    this.base = { state: empty.state, problems: empty.problems };
    this.node = parseNode(options.nodeName, snapshot.node).info;
    const sources = new Map<string, { service: V1Service | undefined; slices: V1EndpointSlice[] }>();
    const source = (key: string): { service: V1Service | undefined; slices: V1EndpointSlice[] } => {
      let s = sources.get(key);
      if (!s) sources.set(key, (s = { service: undefined, slices: [] }));
      return s;
    };
    for (const svc of snapshot.services) source(serviceKeyOf(svc)).service = svc;
    for (const slice of snapshot.endpointSlices) {
      const label = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
      source(typeof label === 'string' ? `${slice.metadata?.namespace ?? 'default'}/${label}` : UNLABELLED).slices.push(slice);
    }
    this.update(sources.keys(), (key) => sources.get(key) ?? { service: undefined, slices: [] });
  }

  /**
   * Recomputes the given Services from their sources. Returns every Service key whose
   * resolved ports may have changed (the changed ones plus their conflict groups).
   */
  update(keys: Iterable<string>, source: (key: string) => ServiceSource): Set<string> {
    const changed = new Set(keys);
    const oldClaims = new Map<string, readonly string[]>();
    for (const key of changed) {
      const old = this.entries.get(key);
      if (old) {
        oldClaims.set(key, old.claims);
        for (const id of old.claims) this.claimants.get(id)?.delete(key);
        if (old.conflicts.length > 0) this.flatProblems = undefined;
      }
      const entry = this.compute(key, source(key));
      // A headless Service's slices change often and it always has its problem: the
      // flat list (O(Services) to rebuild) is rebuilt only when a problem changed.
      if (!sameProblems(old?.problems ?? [], entry.problems)) this.flatProblems = undefined;
      if (entry.problems.length === 0 && entry.claims.length === 0) this.entries.delete(key);
      else this.entries.set(key, entry);
      for (const id of entry.claims) {
        let set = this.claimants.get(id);
        if (!set) this.claimants.set(id, (set = new Set()));
        set.add(key);
      }
      for (const id of old?.claims ?? []) if (this.claimants.get(id)?.size === 0) this.claimants.delete(id);
    }
    // The conflict group: everything sharing a frontend, old or new, transitively.
    const group = new Set<string>();
    const queue = [...changed];
    while (queue.length > 0) {
      const key = queue.pop()!;
      if (group.has(key)) continue;
      group.add(key);
      for (const id of [...(this.entries.get(key)?.claims ?? []), ...(oldClaims.get(key) ?? [])]) {
        for (const other of this.claimants.get(id) ?? []) if (!group.has(other)) queue.push(other);
      }
    }
    this.resolve(group);
    return group;
  }

  private compute(key: string, src: ServiceSource): Entry {
    const problems: Problem[] = [];
    const parsed = src.service ? parseService(src.service) : undefined;
    if (parsed) problems.push(...parsed.problems);
    const slices: ParsedSlice[] = [];
    const sorted = [...src.slices].sort((a, b) =>
      `${a.metadata?.namespace}/${a.metadata?.name}`.localeCompare(`${b.metadata?.namespace}/${b.metadata?.name}`));
    for (const raw of sorted) {
      const r = parseEndpointSlice(raw);
      problems.push(...r.problems);
      if (!r.slice) continue;
      const sliceKey = `${r.slice.namespace}/${r.slice.serviceName}`;
      if (!src.service) {
        problems.push({ kind: 'EndpointSlice', object: `${r.slice.namespace}/${r.slice.name}`, path: `metadata.labels["kubernetes.io/service-name"]`, message: `Service ${sliceKey} does not exist`, effect: 'skipped' });
        continue;
      }
      slices.push(r.slice);
    }
    const svc = parsed?.service;
    const ports: PerFamily<readonly ServicePort[]> = {
      ipv4: svc ? servicePorts(svc, slices, 'ipv4', this.node).map(shareEndpoints).sort(byPortKey) : [],
      ipv6: svc ? servicePorts(svc, slices, 'ipv6', this.node).map(shareEndpoints).sort(byPortKey) : [],
    };
    return { order: `${key}:`, problems, ports, claims: claimsOf(ports), resolved: ports, conflicts: [] };
  }

  private resolve(group: ReadonlySet<string>): void {
    const members = [...group].map((k) => this.entries.get(k)).filter((e): e is Entry => e !== undefined)
      .sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
    if (members.length === 1) {
      const e = members[0]!;
      // Alone, only a Service's own ports can collide: resolve just those.
      const v4 = resolveConflicts(e.ports.ipv4);
      const v6 = resolveConflicts(e.ports.ipv6);
      if (e.conflicts.length > 0 || v4.problems.length + v6.problems.length > 0) this.flatProblems = undefined;
      e.resolved = { ipv4: v4.ports, ipv6: v6.ports };
      e.conflicts = [...v4.problems, ...v6.problems];
      return;
    }
    const byName = new Map<string, Entry>();
    for (const e of members) {
      byName.set(e.order.slice(0, -1), e);
      e.resolved = { ipv4: [], ipv6: [] };
      e.conflicts = [];
    }
    this.flatProblems = undefined;
    for (const f of FAMILIES) {
      const { ports, problems } = resolveConflicts(members.flatMap((e) => e.ports[f]));
      for (const sp of ports) {
        const e = byName.get(`${sp.namespace}/${sp.name}`);
        if (e) e.resolved[f] = [...e.resolved[f], sp];
      }
      for (const p of problems) byName.get(p.object)?.conflicts.push(p);
    }
  }

  /** A Service's ports in one family after conflict resolution. */
  ports(key: string, family: IPFamily): readonly ServicePort[] {
    return this.entries.get(key)?.resolved[family] ?? [];
  }

  /** Every Service key with ports or problems. */
  keys(): IterableIterator<string> {
    return this.entries.keys();
  }

  /** The family's state without its services (node addresses, CIDRs, masquerade). */
  family(family: IPFamily): FamilyState {
    return this.base.state[family];
  }

  /** The whole state, as buildProxyState would give it (sorts every Service: O(n log n)). */
  state(): ProxyState {
    const sorted = [...this.entries.values()].sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
    const fam = (f: IPFamily): FamilyState => ({ ...this.base.state[f], services: sorted.flatMap((e) => e.resolved[f]) });
    return { nodeName: this.base.state.nodeName, ipv4: fam('ipv4'), ipv6: fam('ipv6') };
  }

  /** Every problem known (node, options, every Service and slice, conflicts), deduplicated. */
  problems(): readonly Problem[] {
    if (this.flatProblems) return this.flatProblems;
    const seen = new Set<string>();
    const all = [...this.base.problems, ...[...this.entries.values()].flatMap((e) => [...e.problems, ...e.conflicts])];
    this.flatProblems = all.filter((p) => {
      const k = `${p.kind}|${p.object}|${p.path}|${p.message}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
    return this.flatProblems;
  }
}
