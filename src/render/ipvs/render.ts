/**
 * `renderIpvs(state) → IpvsFamilyRuleset`: the pure IPVS renderer, kube-proxy's IPVS-mode
 * layout (README.md). No I/O; the same state always gives the same result, services in
 * the model's (sorted) order.
 *
 * Which real servers each frontend gets comes from the model:
 * - a cluster IP: `internalEndpoints`;
 * - external IPs, LB IPs, NodePorts: `externalEndpoints`; when those are empty because a
 *   Local policy has no local endpoint (`externalNoEndpoints: 'drop'`), `clusterEndpoints`,
 *   for the traffic the model short-circuits (pods, the node); everything else is dropped
 *   in filter before IPVS sees it (`KPX-DROP-EXTERNAL`);
 * - no endpoint at all: no real server, and IPVS itself answers ICMP port unreachable
 *   (the model's REJECT); an internal DROP (`internalNoEndpoints: 'drop'`) is a filter
 *   DROP via `KPX-DROP`.
 */
import { compareIPs, parseIP } from '../../model/index.js';
import type { Endpoint, FamilyState, IPFamily, ProxyState, ServicePort } from '../../model/types.js';
import { renderGlue, type OutFilterEntry } from './glue.js';
import { SET_INFO, setName, type SetRole } from './names.js';
import type {
  FrontendKind, Ipset, IpvsFamilyRuleset, IpvsRenderOptions, IpvsRuleset, IpvsScheduler, RealServer, VirtualServer,
} from './types.js';

export const DEFAULT_SCHEDULER: IpvsScheduler = 'rr';

/** `ip,proto:port` (IPv6 addresses as they are: ipset parses them before the comma). */
const ipPort = (ip: string, proto: string, port: number): string => `${ip},${proto}:${port}`;

/** Set entries collected per role, deduplicated. */
class SetEntries {
  private readonly m = new Map<SetRole, Set<string>>();
  add(role: SetRole, entry: string): void {
    let s = this.m.get(role);
    if (!s) this.m.set(role, (s = new Set()));
    s.add(entry);
  }
  list(role: SetRole): string[] {
    return [...(this.m.get(role) ?? [])].sort(compareEntries);
  }
  entries(): Map<SetRole, string[]> {
    return new Map([...this.m].map(([role, s]) => [role, [...s]]));
  }
}

/** Numeric ports sort as numbers, everything else by address then text. */
export function compareEntries(a: string, b: string): number {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return Number(a) - Number(b);
  const ia = a.split(',')[0]!;
  const ib = b.split(',')[0]!;
  const byIP = ia === ib ? 0 : parseIP(ia) && parseIP(ib) ? compareIPs(ia, ib) : ia < ib ? -1 : 1;
  if (byIP !== 0) return byIP;
  return a < b ? -1 : a > b ? 1 : 0;
}

function realServers(eps: readonly Endpoint[]): RealServer[] {
  const seen = new Set<string>();
  const out: RealServer[] = [];
  for (const ep of eps) {
    const k = `${ep.ip} ${ep.port}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push({ ip: ep.ip, port: ep.port, weight: 1 });
  }
  return out;
}

/**
 * The node addresses NodePort virtual servers listen on: the model's nodePortIPs (local
 * addresses inside --nodeport-addresses), loopback excluded as upstream's IPVS proxier
 * does (a virtual server on 127.0.0.1 is never reached).
 */
export function nodePortIPs(fs: FamilyState): string[] {
  const out: string[] = [];
  for (const ip of fs.nodePortIPs) {
    const p = parseIP(ip);
    if (!p || p.family !== fs.family || out.includes(p.text)) continue;
    if (p.text === '::1' || p.text.startsWith('127.')) continue;
    out.push(p.text);
  }
  return out;
}

/**
 * One Service's share of a family's IPVS state: its virtual servers, the set entries and
 * kube-ipvs0 addresses it needs, and its KUBE-IPVS-OUT-FILTER entries. `renderIpvs` is
 * the union of these over every Service plus the glue; the IPVS proxier (src/sync/ipvs)
 * keeps one per Service and recomputes only the changed ones.
 */
export interface ServicePieces {
  readonly virtualServers: readonly VirtualServer[];
  /** Set entries by role (not sorted; the same entry may come from several Services). */
  readonly entries: ReadonlyMap<SetRole, readonly string[]>;
  /** Addresses to bind on kube-ipvs0 (also the KUBE-IPVS-IPS entries). */
  readonly addresses: readonly string[];
  readonly outFilter: readonly OutFilterEntry[];
}

/** The pieces of some ServicePorts of a family (renderIpvs: all of them; the proxier: one Service's). */
export function renderServicePieces(fs: FamilyState, ports: readonly ServicePort[], options: IpvsRenderOptions = {}): ServicePieces {
  const scheduler = options.scheduler ?? DEFAULT_SCHEDULER;
  const sets = new SetEntries();
  const vss: VirtualServer[] = [];
  const bind = new Set<string>();
  const outFilter: OutFilterEntry[] = [];
  const nodeIPs = new Set(fs.nodeIPs.map((ip) => parseIP(ip)?.text));
  const npIPs = nodePortIPs(fs);
  const vs = (sp: ServicePort, frontend: FrontendKind, address: string, port: number, eps: readonly Endpoint[]): void => {
    vss.push({
      family: fs.family, protocol: sp.protocol, address, port, scheduler,
      ...(sp.affinityTimeoutSeconds !== undefined ? { persistenceSeconds: sp.affinityTimeoutSeconds } : {}),
      schedulerFlags: scheduler === 'mh' ? ['mh-port'] : [],
      realServers: realServers(eps),
      service: sp.key,
      frontend,
    });
  };

  for (const sp of ports) {
    const proto = sp.protocol;
    // Where external traffic goes; see the file comment for the Local-without-local case.
    const externalEps = sp.externalEndpoints.length > 0 || sp.externalNoEndpoints !== 'drop' ? sp.externalEndpoints : sp.clusterEndpoints;
    const externalDrop = sp.externalNoEndpoints === 'drop';

    // Hairpin: a local endpoint reaching its own Service is masqueraded.
    for (const ep of sp.allEndpoints) if (ep.local) sets.add('loopBack', `${ipPort(ep.ip, proto, ep.port)},${ep.ip}`);

    sets.add('clusterIP', ipPort(sp.clusterIP, proto, sp.port));
    if (sp.internalNoEndpoints === 'drop') sets.add('drop', ipPort(sp.clusterIP, proto, sp.port));
    vs(sp, 'cluster-ip', sp.clusterIP, sp.port, sp.internalEndpoints);
    bind.add(sp.clusterIP);

    for (const ip of sp.externalIPs) {
      sets.add(sp.externalPolicyLocal ? 'externalIPLocal' : 'externalIP', ipPort(ip, proto, sp.port));
      if (externalDrop) sets.add('dropExternal', ipPort(ip, proto, sp.port));
      vs(sp, 'external-ip', ip, sp.port, externalEps);
      if (!nodeIPs.has(ip)) bind.add(ip);
    }

    for (const ip of sp.loadBalancerIPs) {
      const entry = ipPort(ip, proto, sp.port);
      sets.add('loadBalancer', entry);
      if (sp.externalPolicyLocal) sets.add('loadBalancerLocal', entry);
      if (sp.loadBalancerSourceRanges.length > 0) {
        sets.add('loadBalancerFW', entry);
        for (const cidr of sp.loadBalancerSourceRanges) sets.add('loadBalancerSourceCIDR', `${entry},${cidr}`);
        // The LB IP itself as a source: traffic the node hairpins to its own LB IP.
        const extra = sp.firewallExtraSources.map((c) => c.split('/')[0]!).filter((s) => s === ip);
        for (const s of extra) sets.add('loadBalancerSourceIP', `${entry},${s}`);
        if (extra.length === 0) outFilter.push({ ip, protocol: proto, port: sp.port });
      }
      if (externalDrop) sets.add('dropExternal', entry);
      vs(sp, 'load-balancer', ip, sp.port, externalEps);
      if (!nodeIPs.has(ip)) bind.add(ip);
    }

    if (sp.nodePort !== undefined && npIPs.length > 0) {
      const np = sp.nodePort;
      const [all, local]: [SetRole, SetRole] = proto === 'tcp' ? ['nodePortTCP', 'nodePortLocalTCP']
        : proto === 'udp' ? ['nodePortUDP', 'nodePortLocalUDP'] : ['nodePortSCTP', 'nodePortLocalSCTP'];
      const entries = proto === 'sctp' ? npIPs.map((ip) => ipPort(ip, proto, np)) : [String(np)];
      for (const e of entries) {
        sets.add(all, e);
        if (sp.externalPolicyLocal) sets.add(local, e);
      }
      for (const ip of npIPs) {
        if (externalDrop) sets.add('dropExternal', ipPort(ip, proto, np));
        vs(sp, 'node-port', ip, np, externalEps);
      }
    }
    if (sp.healthCheckNodePort !== undefined) sets.add('healthCheckNodePort', String(sp.healthCheckNodePort));
  }

  return { virtualServers: vss, entries: sets.entries(), addresses: [...bind], outFilter };
}

/** Every set of the family with its entries, in SET_INFO order (empty ones included). */
export function familyIpsets(fs: FamilyState, entries: (role: SetRole) => readonly string[]): Ipset[] {
  return (Object.keys(SET_INFO) as SetRole[]).map((role) => ({
    name: setName(role, fs.family),
    type: SET_INFO[role].type,
    family: fs.family,
    comment: SET_INFO[role].comment,
    entries: entries(role),
  }));
}

export function renderIpvs(fs: FamilyState, options: IpvsRenderOptions = {}): IpvsFamilyRuleset {
  const p = renderServicePieces(fs, fs.services, options);
  const sets = new SetEntries();
  for (const [role, list] of p.entries) for (const e of list) sets.add(role, e);
  const addresses = [...p.addresses].sort(compareIPs);
  for (const a of addresses) sets.add('ipvsIPs', a);
  const ipsets = familyIpsets(fs, (role) => sets.list(role));
  return { family: fs.family, virtualServers: p.virtualServers, ipsets, tables: renderGlue(fs, ipsets, p.outFilter), addresses };
}

function familyInUse(state: ProxyState, family: IPFamily): boolean {
  return family === 'ipv4' || state[family].nodeIPs.length > 0 || state[family].services.length > 0;
}

/** ipv4 always (an empty cluster still gets a loadable skeleton), ipv6 when in use. */
export function renderIpvsFamilies(state: ProxyState, options: IpvsRenderOptions = {}): IpvsRuleset {
  return { families: (['ipv4', 'ipv6'] as const).filter((f) => familyInUse(state, f)).map((f) => renderIpvs(state[f], options)) };
}
