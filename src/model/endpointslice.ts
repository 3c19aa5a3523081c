/**
 * EndpointSlice objects → validated endpoints per Service port, merged across slices as
 * kube-proxy's endpoint-slice cache does (first address of each endpoint; a duplicate
 * ip:port keeps its readiest copy; endpoints ordered by their `ip:port` string).
 *
 * Each rule names its upstream source: the API server's validation
 * (k8s.io/kubernetes pkg/apis/discovery/validation/validation.go, "API") and kube-proxy's
 * endpoint-slice cache (pkg/proxy/endpointslicecache.go, "proxy"). A bad endpoint costs
 * that endpoint, a bad port that port, a bad hint that hint; only a slice that cannot
 * be tied to a Service or read at all is skipped.
 */
import type { V1EndpointSlice } from '@kubernetes/client-node';
import { endpointString, specialIPKind, type ParsedIP } from './ip.js';
import { HEADLESS_LABEL, SERVICE_NAME_LABEL, SERVICE_PROXY_NAME_LABEL } from './labels.js';
import type { IPFamily, Problem, Protocol } from './types.js';
import { Checker, objectName, show } from './validate.js';

export { SERVICE_NAME_LABEL, HEADLESS_LABEL, endpointString };

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

/** hints.forZones / hints.forNodes names; a bad one is left out. */
function hintNames(c: Checker, path: string, v: unknown, check: 'labelValue' | 'dnsSubdomain'): string[] {
  const out: string[] = [];
  c.array(path, v)?.forEach((h, i) => {
    const n = c[check](`${path}[${i}].name`, (h as { name?: unknown } | null)?.name, 'ignore');
    if (n !== undefined) out.push(n);
  });
  return out;
}

function condition(v: unknown, absent: boolean): boolean {
  return v === undefined || v === null ? absent : v === true;
}

function notProxied(c: Checker, message: string): SliceParse {
  return { problems: [{ kind: 'EndpointSlice', object: c.object, path: 'metadata.labels', message, effect: 'not-proxied' }] };
}

/** One endpoint; undefined (with an `ignored` problem) when it cannot be used. */
function parseEndpoint(c: Checker, raw: unknown, path: string, family: IPFamily, addressType: string): SliceEndpoint | undefined {
  const e = (raw ?? {}) as Record<string, unknown>;
  // API: at least one address. proxy: an endpoint without one is skipped; the first counts.
  const addrs = Array.isArray(e['addresses']) ? (e['addresses'] as unknown[]) : [];
  if (addrs.length === 0) return c.ignore(`${path}.addresses`, 'endpoint without an address: ignored');
  // API: IsValidIPv4Address / IsValidIPv6Address (sloppy parse). proxy: an address of
  // the other family skips just that endpoint.
  const ip = c.ip(`${path}.addresses[0]`, addrs[0], 'ignore');
  if (!ip) return undefined;
  if (ip.family !== family) return c.ignore(`${path}.addresses[0]`, `${ip.text} is not an ${addressType} address: endpoint ignored`);
  // API: ValidateEndpointIP (no unspecified, loopback, link-local addresses).
  const special = specialIPKind(ip);
  if (special !== undefined) return c.ignore(`${path}.addresses[0]`, `${ip.text} is a ${special} address: endpoint ignored`);
  // API: ValidateNodeName (DNS-1123 subdomain). proxy: compared with the node's name.
  let nodeName: string | undefined;
  if (e['nodeName'] !== undefined && e['nodeName'] !== null) {
    nodeName = c.dnsSubdomain(`${path}.nodeName`, e['nodeName'], 'ignore');
    if (nodeName === undefined) return undefined;
  }
  // API: zone is not validated. proxy: carried as is (kpx prints it nowhere).
  const zone = typeof e['zone'] === 'string' ? e['zone'] : undefined;
  const hints = (e['hints'] ?? {}) as Record<string, unknown>;
  const cond = (e['conditions'] ?? {}) as Record<string, unknown>;
  return {
    ip,
    // proxy: newEndpointSliceInfo: ready and serving default to true, terminating to false.
    ready: condition(cond['ready'], true),
    serving: condition(cond['serving'], true),
    terminating: condition(cond['terminating'], false),
    ...(nodeName !== undefined ? { nodeName } : {}),
    ...(zone !== undefined ? { zone } : {}),
    // API: validateHints: forZones[].name IsValidLabelValue; forNodes[].name ValidateNodeName.
    zoneHints: hintNames(c, `${path}.hints.forZones`, hints['forZones'], 'labelValue'),
    nodeHints: hintNames(c, `${path}.hints.forNodes`, hints['forNodes'], 'dnsSubdomain'),
  };
}

export function parseEndpointSlice(s: V1EndpointSlice): SliceParse {
  const c = new Checker('EndpointSlice', objectName(s.metadata));
  // API: ValidateObjectMeta: namespace DNS-1123 label; ValidateEndpointSliceName (DNS-1123 subdomain).
  const namespace = c.dnsLabel('metadata.namespace', s.metadata?.namespace ?? 'default');
  const name = c.dnsSubdomain('metadata.name', s.metadata?.name);
  const labels = s.metadata?.labels ?? {};
  if (!c.ok) return { problems: c.problems };
  // proxy: the informers' selectors (!service.kubernetes.io/headless,
  // !service.kubernetes.io/service-proxy-name); slices inherit their Service's labels.
  if (HEADLESS_LABEL in labels) return notProxied(c, 'headless Service slice: nothing to proxy');
  if (SERVICE_PROXY_NAME_LABEL in labels) return notProxied(c, `labelled ${SERVICE_PROXY_NAME_LABEL}: handled by another proxy`);
  // proxy: endpointSliceCacheKeys needs the label; a Service name is a DNS-1123 label.
  const serviceName = c.dnsLabel(`metadata.labels["${SERVICE_NAME_LABEL}"]`, labels[SERVICE_NAME_LABEL]);
  // API: validateAddressType (IPv4, IPv6, FQDN). proxy: FQDN slices are not proxied.
  const addressType = s.addressType as unknown;
  let family: IPFamily | undefined;
  if (addressType === 'IPv4') family = 'ipv4';
  else if (addressType === 'IPv6') family = 'ipv6';
  else if (addressType === 'FQDN') return notProxied(c, 'FQDN endpoints: nothing to proxy');
  else c.fail('addressType', `unknown address type ${show(addressType)}`);
  if (!family || !serviceName) return { problems: c.problems };

  const ports: { name: string; protocol: Protocol; port: number }[] = [];
  c.array('ports', s.ports)?.forEach((raw, i) => {
    const p = (raw ?? {}) as Record<string, unknown>;
    const path = `ports[${i}]`;
    // API: validatePorts: name DNS-1123 label when non-empty; protocol TCP, UDP or SCTP.
    const portName = p['name'] === undefined || p['name'] === null || p['name'] === '' ? '' : c.dnsLabel(`${path}.name`, p['name'], 'ignore');
    const protocol = c.protocol(`${path}.protocol`, p['protocol'], 'ignore');
    // API: the port number is not range-checked. proxy: nil or 0 → "Ignoring invalid endpoint port".
    if (p['port'] === undefined || p['port'] === null || p['port'] === 0) {
      c.ignore(`${path}.port`, 'no port number: this port is not proxied');
      return;
    }
    const port = c.port(`${path}.port`, p['port'], 'ignore');
    if (portName !== undefined && protocol && port) ports.push({ name: portName, protocol, port });
  });

  const endpoints: SliceEndpoint[] = [];
  c.array('endpoints', s.endpoints)?.forEach((raw, i) => {
    const ep = parseEndpoint(c, raw, `endpoints[${i}]`, family, addressType as string);
    if (ep) endpoints.push(ep);
  });

  if (!c.ok || !namespace || !name) return { problems: c.problems };
  return { slice: { namespace, name, serviceName, family, ports, endpoints }, problems: c.problems };
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
