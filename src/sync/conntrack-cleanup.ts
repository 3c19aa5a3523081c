/**
 * UDP conntrack cleanup, the pure part: which UDP flows are stale after a sync.
 *
 * Upstream: k8s.io/kubernetes pkg/proxy/conntrack/cleanup.go `CleanStaleEntries` (the
 * conntrack reconciler, v1.32+), with kubernetes#139629 (a Service scaled to zero is
 * no longer skipped: its frontends get an empty endpoint set) and #141371 (the
 * frontends of a deleted Service are cleaned once, with an empty endpoint set).
 *
 * A UDP flow is stale when its ORIGINAL destination is a UDP Service frontend and its
 * REPLY source is not a serving endpoint of that frontend:
 * - `ClusterIP:port`, every `externalIP:port`, every LoadBalancer VIP `:port`
 *   (upstream: `serviceIPEndpointIPs`, keyed by IP and port since #130484);
 * - a NodePort: original destination port = nodePort (upstream: `serviceNodePortEndpointIPs`,
 *   any destination address). kpx also requires the original destination to be one of
 *   the addresses NodePorts are served on (`FamilyState.nodePortIPs`): a pod talking UDP
 *   to some outside host on port 30053 is not a NodePort flow and is left alone.
 * Serving endpoints are every endpoint of the Service port with `serving` (any node,
 * ready or terminating: traffic policies and topology are not looked at, as upstream —
 * a flow to a serving endpoint stays where it is). kpx compares the reply source
 * `ip:port` where upstream compares the IP only: a flow DNATed to a port the endpoint no
 * longer serves on (targetPort changed) is stale too.
 *
 * A frontend without serving endpoints has an empty set: every flow to it is stale,
 * those DNATed to a removed endpoint (#139628: one-way senders refresh them forever) and
 * those that were never DNATed (reply source = the frontend itself, made before the
 * rules existed; #48370). Never a blanket flush: flows to anything else are never touched.
 *
 * The index is kept incrementally from `SyncResult.affected` (rebuilt on 'all').
 */
import { parseIPSloppy } from '../model/ip.js';
import { IP_FAMILIES, type IPFamily, type ServicePort } from '../model/types.js';
import type { ModelReader } from './types.js';

/** One conntrack entry as the cleanup needs it (UDP only). */
export interface UdpFlow {
  readonly family: IPFamily;
  readonly origSrc: string;
  readonly origDst: string;
  readonly origSport: number;
  readonly origDport: number;
  readonly replySrc: string;
  readonly replySport: number;
}

/**
 * One deletion: every UDP flow with this original destination and port and this reply
 * source and port. All flows matching it are stale by the same decision (the decision
 * depends on nothing else), so one `conntrack -D` per group is exact.
 */
export interface StaleGroup {
  readonly family: IPFamily;
  readonly origDst: string;
  readonly origDport: number;
  readonly replySrc: string;
  readonly replySport: number;
  /** How many listed flows fell into it. */
  readonly flows: number;
  /** The frontend that made it stale, e.g. `10.96.0.10:53` or `nodePort 30053`. */
  readonly frontend: string;
}

type Owners = Map<string, ReadonlySet<string>>;

/** Frontend keys: `ip|port` (Service IPs) and `np|family|port` (NodePorts). */
function ipKey(ip: string, port: number): string {
  return `${ip}|${port}`;
}
function nodePortKey(family: IPFamily, port: number): string {
  return `np|${family}|${port}`;
}
function endpointKey(ip: string, port: number): string {
  return `${ip}|${port}`;
}

const PLAIN_IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const parsed = new Map<string, { readonly family: IPFamily; readonly text: string } | null>();

/**
 * An address with its family in canonical text, or undefined. Fast path for plain IPv4
 * (what conntrack prints and the model holds); other forms parsed once and remembered.
 */
export function parseAddress(ip: string): { readonly family: IPFamily; readonly text: string } | undefined {
  if (PLAIN_IPV4.test(ip)) return { family: 'ipv4', text: ip };
  let p = parsed.get(ip);
  if (p === undefined) {
    const full = parseIPSloppy(ip);
    p = full ? { family: full.family, text: full.text } : null;
    if (parsed.size >= 65_536) parsed.clear();
    parsed.set(ip, p);
  }
  return p ?? undefined;
}

function canonical(ip: string): string {
  return parseAddress(ip)?.text ?? ip;
}

function familyOfKey(key: string): IPFamily {
  if (key.startsWith('np|')) return key.startsWith('np|ipv6|') ? 'ipv6' : 'ipv4';
  return key.includes(':') ? 'ipv6' : 'ipv4';
}

/** The frontends (keys) and serving endpoints of one UDP Service port. */
function frontendsOf(sp: ServicePort): { keys: string[]; endpoints: Set<string> } {
  const endpoints = new Set(sp.allEndpoints.filter((e) => e.serving).map((e) => endpointKey(canonical(e.ip), e.port)));
  const ips = [sp.clusterIP, ...sp.externalIPs, ...sp.loadBalancerIPs].filter((ip) => ip !== '');
  const keys = [...new Set(ips.map((ip) => ipKey(canonical(ip), sp.port)))];
  if (sp.nodePort !== undefined && sp.nodePort > 0) keys.push(nodePortKey(sp.family, sp.nodePort));
  return { keys, endpoints };
}

export interface IndexUpdate {
  /** A UDP frontend was added, changed or removed: a cleanup run is due. */
  readonly changed: boolean;
}

/**
 * UDP frontends → serving endpoints, both families. Several Service ports claiming one
 * frontend (the model resolves such conflicts; kept here so that one owner leaving does
 * not forget the other) count together: a flow to any claimant's endpoint is kept.
 */
export class UdpFrontendIndex {
  private readonly frontends = new Map<string, Owners>();
  /** Service key → the (owner, frontend key) pairs it contributed. */
  private readonly byService = new Map<string, { readonly owner: string; readonly key: string }[]>();
  private nodePortIPs: Record<IPFamily, ReadonlySet<string>> = { ipv4: new Set(), ipv6: new Set() };
  /** Frontends that disappeared and still wait for one successful cleanup with no endpoints. */
  private readonly gone = new Set<string>();

  update(model: ModelReader, affected: ReadonlySet<string> | 'all'): IndexUpdate {
    const before = affected === 'all' ? new Set(this.frontends.keys()) : new Set<string>();
    let changed = false;
    const nodePortIPs = {
      ipv4: new Set(model.family('ipv4').nodePortIPs.map(canonical)),
      ipv6: new Set(model.family('ipv6').nodePortIPs.map(canonical)),
    };
    for (const f of IP_FAMILIES) {
      if (!sameSet(nodePortIPs[f], this.nodePortIPs[f])) changed ||= this.hasNodePorts(f);
    }
    this.nodePortIPs = nodePortIPs;

    const keys = affected === 'all' ? [...new Set([...this.byService.keys(), ...model.keys()])] : [...affected];
    if (affected === 'all') {
      this.frontends.clear();
      this.byService.clear();
    }
    for (const svc of keys) {
      const removed = this.remove(svc);
      for (const k of removed) before.add(k);
      const added = this.add(svc, model);
      if (removed.length > 0 || added) changed = true;
    }
    for (const k of before) {
      if (this.frontends.has(k)) this.gone.delete(k);
      else { this.gone.add(k); changed = true; }
    }
    return { changed };
  }

  /** Whether a family has anything to clean (a UDP frontend, or one that went away). */
  wants(family: IPFamily): boolean {
    for (const k of this.frontends.keys()) if (familyOfKey(k) === family) return true;
    for (const k of this.gone) if (familyOfKey(k) === family) return true;
    return false;
  }

  /** A cleanup of `family` succeeded: the frontends that went away are done with. */
  cleaned(family: IPFamily): void {
    for (const k of this.gone) if (familyOfKey(k) === family) this.gone.delete(k);
  }

  /** Number of UDP frontends (tests, logs). */
  get size(): number {
    return this.frontends.size;
  }

  /**
   * The pure decision: which of `flows` are stale, grouped by (orig dst, orig dport,
   * reply src, reply sport). A flow that matches both an IP frontend and a NodePort is
   * stale when either says so (as upstream's two filters), and counted once.
   */
  stale(flows: Iterable<UdpFlow>): StaleGroup[] {
    const groups = new Map<string, { g: Omit<StaleGroup, 'flows'>; n: number }>();
    for (const flow of flows) {
      const origDst = canonical(flow.origDst);
      const replySrc = canonical(flow.replySrc);
      const frontend = this.verdict(flow.family, origDst, flow.origDport, endpointKey(replySrc, flow.replySport));
      if (frontend === undefined) continue;
      const id = `${origDst}|${flow.origDport}|${replySrc}|${flow.replySport}`;
      const entry = groups.get(id);
      if (entry) entry.n++;
      else {
        groups.set(id, {
          g: { family: flow.family, origDst, origDport: flow.origDport, replySrc, replySport: flow.replySport, frontend }, n: 1,
        });
      }
    }
    return [...groups.values()].map(({ g, n }) => ({ ...g, flows: n }));
  }

  /** The frontend a flow (canonical addresses) is stale for, or undefined when it is not stale. */
  private verdict(family: IPFamily, dst: string, dport: number, reply: string): string | undefined {
    if (this.isStale(ipKey(dst, dport), reply)) return family === 'ipv6' ? `[${dst}]:${dport}` : `${dst}:${dport}`;
    if (this.nodePortIPs[family].has(dst) && this.isStale(nodePortKey(family, dport), reply)) return `nodePort ${dport}`;
    return undefined;
  }

  private isStale(key: string, reply: string): boolean {
    const owners = this.frontends.get(key);
    if (owners === undefined) return this.gone.has(key);
    for (const eps of owners.values()) if (eps.has(reply)) return false;
    return true;
  }

  private hasNodePorts(family: IPFamily): boolean {
    for (const k of this.frontends.keys()) if (k.startsWith(`np|${family}|`)) return true;
    return false;
  }

  /** Drops a Service's contributions; returns the frontend keys it had. */
  private remove(svc: string): string[] {
    const had = this.byService.get(svc);
    if (had === undefined) return [];
    this.byService.delete(svc);
    for (const { owner, key } of had) {
      const owners = this.frontends.get(key);
      owners?.delete(owner);
      if (owners?.size === 0) this.frontends.delete(key);
    }
    return had.map((h) => h.key);
  }

  /** Adds a Service's UDP ports from the model; true when it has any. */
  private add(svc: string, model: ModelReader): boolean {
    const contributed: { owner: string; key: string }[] = [];
    for (const family of IP_FAMILIES) {
      for (const sp of model.ports(svc, family)) {
        if (sp.protocol !== 'udp') continue;
        const owner = `${sp.key}|${family}`;
        const { keys, endpoints } = frontendsOf(sp);
        for (const key of keys) {
          let owners = this.frontends.get(key);
          if (owners === undefined) this.frontends.set(key, owners = new Map());
          owners.set(owner, endpoints);
          contributed.push({ owner, key });
        }
      }
    }
    if (contributed.length > 0) this.byService.set(svc, contributed);
    return contributed.length > 0;
  }
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
