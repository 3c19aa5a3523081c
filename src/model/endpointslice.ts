/**
 * EndpointSlice objects → validated endpoints per Service port, merged across slices as
 * kube-proxy's endpoint-slice cache does (first address of each endpoint; a duplicate
 * ip:port keeps its readiest copy; endpoints ordered by their `ip:port` string).
 */
import type { V1EndpointSlice } from '@kubernetes/client-node';
import type { ParsedIP } from './ip.js';
import type { IPFamily, Problem, Protocol } from './types.js';
import { Checker, objectName } from './validate.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';

/** An endpoint before it is tied to a port. */
export interface SliceEndpoint {
  readonly ip: ParsedIP;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  readonly nodeName?: string;
  readonly zone?: string;
  readonly zoneHints: readonly string[];
  readonly nodeHints: readonly string[];
}

export interface ParsedSlice {
  readonly namespace: string;
  readonly name: string;
  readonly serviceName: string;
  readonly family: IPFamily;
  readonly ports: readonly { readonly name: string; readonly protocol: Protocol; readonly port: number }[];
  readonly endpoints: readonly SliceEndpoint[];
}

export interface SliceParse {
  readonly slice?: ParsedSlice;
  readonly problems: readonly Problem[];
}

function names(c: Checker, path: string, v: unknown): string[] {
  const out: string[] = [];
  c.array(path, v)?.forEach((h, i) => {
    const n = c.dnsSubdomain(`${path}[${i}].name`, (h as { name?: unknown } | null)?.name);
    if (n) out.push(n);
  });
  return out;
}

function condition(v: unknown, absent: boolean): boolean {
  return v === undefined || v === null ? absent : v === true;
}

export function parseEndpointSlice(s: V1EndpointSlice): SliceParse {
  const c = new Checker('EndpointSlice', objectName(s.metadata));
  const namespace = c.dnsLabel('metadata.namespace', s.metadata?.namespace ?? 'default');
  const name = c.dnsSubdomain('metadata.name', s.metadata?.name);
  const labels = s.metadata?.labels ?? {};
  if (!c.ok) return { problems: c.problems };
  if (HEADLESS_LABEL in labels) {
    return { problems: [{ kind: 'EndpointSlice', object: c.object, path: `metadata.labels`, message: 'headless Service slice: nothing to proxy', effect: 'not-proxied' }] };
  }
  const serviceName = c.dnsLabel(`metadata.labels["${SERVICE_NAME_LABEL}"]`, labels[SERVICE_NAME_LABEL]);
  const addressType = s.addressType as unknown;
  let family: IPFamily | undefined;
  if (addressType === 'IPv4') family = 'ipv4';
  else if (addressType === 'IPv6') family = 'ipv6';
  else if (addressType === 'FQDN') c.fail('addressType', 'FQDN endpoints cannot be proxied');
  else c.fail('addressType', `unknown address type ${JSON.stringify(addressType)}`);
  // Without a usable address type the endpoints cannot be read: one problem is enough.
  if (!family) return { problems: c.problems };

  const ports: { name: string; protocol: Protocol; port: number }[] = [];
  c.array('ports', s.ports)?.forEach((raw, i) => {
    const p = (raw ?? {}) as Record<string, unknown>;
    const path = `ports[${i}]`;
    const portName = p['name'] === undefined || p['name'] === null || p['name'] === '' ? '' : c.dnsLabel(`${path}.name`, p['name']);
    const protocol = c.protocol(`${path}.protocol`, p['protocol']);
    if (p['port'] === undefined || p['port'] === null) {
      c.ignore(`${path}.port`, 'no port number: this port is not proxied');
      return;
    }
    const port = c.port(`${path}.port`, p['port']);
    if (portName !== undefined && protocol && port) ports.push({ name: portName, protocol, port });
  });

  const endpoints: SliceEndpoint[] = [];
  c.array('endpoints', s.endpoints)?.forEach((raw, i) => {
    const e = (raw ?? {}) as Record<string, unknown>;
    const path = `endpoints[${i}]`;
    const addrs = c.array(`${path}.addresses`, e['addresses']) ?? [];
    if (addrs.length === 0) { c.ignore(`${path}.addresses`, 'endpoint without an address'); return; }
    const ip = c.ip(`${path}.addresses[0]`, addrs[0]);
    if (ip && family && ip.family !== family) c.fail(`${path}.addresses[0]`, `${ip.text} is not an ${addressType as string} address`);
    const cond = (e['conditions'] ?? {}) as Record<string, unknown>;
    const nodeName = e['nodeName'] === undefined || e['nodeName'] === null ? undefined : c.dnsSubdomain(`${path}.nodeName`, e['nodeName']);
    const zone = e['zone'] === undefined || e['zone'] === null ? undefined : c.dnsSubdomain(`${path}.zone`, e['zone']);
    const hints = (e['hints'] ?? {}) as Record<string, unknown>;
    const zoneHints = names(c, `${path}.hints.forZones`, hints['forZones']);
    const nodeHints = names(c, `${path}.hints.forNodes`, hints['forNodes']);
    if (!ip) return;
    endpoints.push({
      ip,
      ready: condition(cond['ready'], true),
      serving: condition(cond['serving'], true),
      terminating: condition(cond['terminating'], false),
      ...(nodeName !== undefined ? { nodeName } : {}),
      ...(zone !== undefined ? { zone } : {}),
      zoneHints,
      nodeHints,
    });
  });

  if (!c.ok || !namespace || !name || !serviceName || !family) return { problems: c.problems };
  return { slice: { namespace, name, serviceName, family, ports, endpoints }, problems: c.problems };
}

/** `ip:port`, IPv6 as `[ip]:port` — kube-proxy's endpoint string. */
export function endpointString(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function rank(e: SliceEndpoint): number {
  return e.ready ? 2 : e.serving ? 1 : 0;
}

/**
 * Endpoints of one Service port in one family, merged over the Service's slices.
 * A slice port matches a Service port by name and protocol.
 */
export function endpointsForPort(
  slices: readonly ParsedSlice[],
  family: IPFamily,
  portName: string,
  protocol: Protocol,
): { readonly ep: SliceEndpoint; readonly port: number }[] {
  const byKey = new Map<string, { ep: SliceEndpoint; port: number }>();
  for (const s of slices) {
    if (s.family !== family) continue;
    const sp = s.ports.find((p) => p.name === portName && p.protocol === protocol);
    if (!sp) continue;
    for (const ep of s.endpoints) {
      const key = endpointString(ep.ip.text, sp.port);
      const prev = byKey.get(key);
      if (!prev || rank(ep) > rank(prev.ep)) byKey.set(key, { ep, port: sp.port });
    }
  }
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
}
