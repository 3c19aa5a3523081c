/**
 * What the Service health check servers should be, decided from the model (pure).
 *
 * Upstream (k8s.io/kubernetes pkg/proxy/healthcheck/service_health.go, v1.36):
 * - one server per Service with a healthCheckNodePort — set on a ServicePort only for
 *   type LoadBalancer with externalTrafficPolicy Local (pkg/proxy/serviceport.go via
 *   apiservice.NeedsHealthCheck); every port of a Service shares it;
 * - per IP family (each family's proxier has its own ServiceHealthServer), listening on
 *   the --nodeport-addresses IPs of that family (NodePortAddresses.GetNodeIPs), or on the
 *   family's wildcard address when they match everything (MatchAll; since kubernetes#137370
 *   an IPv4 socket for IPv4 and an IPv6-only socket for IPv6, so dual-stack binds both);
 * - `localEndpoints` = distinct IPs of the Service's ready endpoints on this node, over
 *   all its ports (pkg/proxy/endpointsmap.go LocalReadyEndpoints: terminating endpoints
 *   do not count, so a node with only terminating ones fails the check);
 * - SyncServices closes a server whose Service is gone or whose port changed, keeps an
 *   unchanged one (its counts are updated in place) and opens new ones; a server that
 *   failed to start is not kept, so the next sync tries again.
 * kpx also reopens a server whose listen addresses changed (upstream reads them once).
 */
import type { FamilyState, IPFamily, ServicePort } from '../model/types.js';

/** One health check server: a Service in one family. */
export interface HealthCheckTarget {
  /** `namespace/name`. */
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly family: IPFamily;
  readonly port: number;
}

const WILDCARD: Readonly<Record<IPFamily, string>> = { ipv4: '0.0.0.0', ipv6: '::' };
const ZERO_CIDR: Readonly<Record<IPFamily, string>> = { ipv4: '0.0.0.0/0', ipv6: '::/0' };

/** `key|family`: one server's identity. */
export function targetId(key: string, family: IPFamily): string {
  return `${key}|${family}`;
}

/** The health check target of a Service's ports in one family, undefined when it needs none. */
export function targetOf(key: string, family: IPFamily, ports: readonly ServicePort[]): HealthCheckTarget | undefined {
  const p = ports.find((sp) => sp.healthCheckNodePort !== undefined && sp.healthCheckNodePort > 0);
  if (p === undefined) return undefined;
  return { key, namespace: p.namespace, name: p.name, family, port: p.healthCheckNodePort! };
}

/** Distinct IPs of ready endpoints on this node, over all the Service's ports. */
export function localReadyEndpoints(ports: readonly ServicePort[]): number {
  const ips = new Set<string>();
  for (const p of ports) for (const e of p.allEndpoints) if (e.local && e.ready) ips.add(e.ip);
  return ips.size;
}

/** Where a family's health check servers listen: the NodePort IPs, or the wildcard when every address is one. */
export function listenAddresses(state: Pick<FamilyState, 'family' | 'nodePortAddresses' | 'nodePortIPs'>): string[] {
  if (state.nodePortAddresses.includes(ZERO_CIDR[state.family])) return [WILDCARD[state.family]];
  return [...state.nodePortIPs].sort();
}

/** A wanted server: its target and addresses. */
export interface WantedServer {
  readonly target: HealthCheckTarget;
  readonly addresses: readonly string[];
}

export interface ServerPlan {
  /** Ids of running servers to close (Service gone, port or addresses changed). */
  readonly close: readonly string[];
  /** Ids to open (new, changed, or failed before). */
  readonly open: readonly string[];
}

function sameServer(a: WantedServer, b: WantedServer): boolean {
  return a.target.port === b.target.port && a.addresses.length === b.addresses.length &&
    a.addresses.every((x, i) => x === b.addresses[i]);
}

/** Diff of running servers against wanted ones (both keyed by targetId). */
export function planServers(running: ReadonlyMap<string, WantedServer>, wanted: ReadonlyMap<string, WantedServer>): ServerPlan {
  const close: string[] = [];
  const open: string[] = [];
  for (const [id, r] of running) {
    const w = wanted.get(id);
    if (w === undefined || !sameServer(r, w)) close.push(id);
  }
  for (const [id, w] of wanted) {
    const r = running.get(id);
    if (r === undefined || !sameServer(r, w)) open.push(id);
  }
  return { close, open };
}

/**
 * The body upstream prints (a Go template, dedented: tab-indented JSON), which is what
 * JSON.stringify with a tab indent produces.
 */
export function healthCheckBody(target: Pick<HealthCheckTarget, 'namespace' | 'name'>, localEndpoints: number, proxyHealthy: boolean): string {
  return JSON.stringify({
    service: { namespace: target.namespace, name: target.name },
    localEndpoints,
    serviceProxyHealthy: proxyHealthy,
  }, null, '\t');
}
