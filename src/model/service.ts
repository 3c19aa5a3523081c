/**
 * A Service object → the family-independent facts kube-proxy uses, validated.
 * Returns undefined (with problems) for a Service that is skipped.
 *
 * Each rule names its upstream source: the API server's validation
 * (k8s.io/kubernetes pkg/apis/core/validation/validation.go, "API") and what kube-proxy
 * does with the field (pkg/proxy/servicechangetracker.go, serviceport.go, "proxy").
 * kpx accepts everything the API server accepts. What it refuses costs the least it
 * can: a bad value is left out ("ignored"); the Service is skipped only when nothing
 * sensible is left (no name, no cluster IP, no port) or leaving a value out would open
 * more than the Service asked for (a source range).
 */
import type { V1Service } from '@kubernetes/client-node';
import { specialIPKind, type ParsedCIDR, type ParsedIP } from './ip.js';
import { SERVICE_PROXY_NAME_LABEL } from './labels.js';
import type { Problem, Protocol } from './types.js';
import { Checker, objectName, show } from './validate.js';

export { SERVICE_PROXY_NAME_LABEL };
/** API defaulting (pkg/apis/core/v1/defaults.go) of sessionAffinityConfig.clientIP.timeoutSeconds. */
export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10800;
/** API: validateClientIPAffinityConfig, core.MaxClientIPServiceAffinitySeconds. */
const MAX_AFFINITY_TIMEOUT_SECONDS = 86400;

export interface ParsedServicePort {
  readonly name: string;
  readonly protocol: Protocol;
  readonly port: number;
  readonly nodePort?: number;
}

export interface ParsedService {
  readonly namespace: string;
  readonly name: string;
  readonly type: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
  readonly clusterIPs: readonly ParsedIP[];
  readonly ports: readonly ParsedServicePort[];
  readonly externalIPs: readonly ParsedIP[];
  readonly loadBalancerIPs: readonly ParsedIP[];
  readonly loadBalancerSourceRanges: readonly ParsedCIDR[];
  readonly externalPolicyLocal: boolean;
  readonly internalPolicyLocal: boolean;
  readonly healthCheckNodePort?: number;
  readonly affinityTimeoutSeconds?: number;
}

export interface ServiceParse {
  readonly service?: ParsedService;
  readonly problems: readonly Problem[];
}

function notProxied(svc: V1Service, message: string): ServiceParse {
  return {
    problems: [{ kind: 'Service', object: objectName(svc.metadata), path: '', message, effect: 'not-proxied' }],
  };
}

const absent = (v: unknown): boolean => v === undefined || v === null || v === '';

/** spec.ports: each bad port is left out; duplicates of a (name, protocol) pair too. */
function parsePorts(c: Checker, raw: unknown, allocatesNodePorts: boolean): ParsedServicePort[] {
  const ports: ParsedServicePort[] = [];
  const seen = new Set<string>();
  (c.array('spec.ports', raw) ?? []).forEach((item, i) => {
    const p = (item ?? {}) as Record<string, unknown>;
    const path = `spec.ports[${i}]`;
    // API: ValidateServicePort → ValidateDNS1123Label(name) (required when >1 port).
    const name = absent(p['name']) ? '' : c.dnsLabel(`${path}.name`, p['name'], 'ignore');
    // API: supportedPortProtocols; absent is defaulted to TCP.
    const protocol = c.protocol(`${path}.protocol`, p['protocol'], 'ignore');
    // API: ValidatePortNum (1-65535).
    const port = c.port(`${path}.port`, p['port'], 'ignore');
    // API: nodePort is 0 (unallocated) or ValidatePortNum, and only for NodePort and
    // LoadBalancer types; kube-proxy programs any non-zero one, kpx only those types'.
    let nodePort: number | undefined;
    if (allocatesNodePorts && !absent(p['nodePort']) && p['nodePort'] !== 0) {
      nodePort = c.port(`${path}.nodePort`, p['nodePort'], 'ignore');
    }
    if (name === undefined || !protocol || !port) return;
    // API: port names are unique; proxy: one ServicePortName per (name, protocol).
    const id = `${name}/${protocol}`;
    if (seen.has(id)) { c.ignore(`${path}.name`, `duplicate port name ${show(name)} for ${protocol}: port ignored`); return; }
    seen.add(id);
    ports.push(nodePort === undefined ? { name, protocol, port } : { name, protocol, port, nodePort });
  });
  return ports;
}

/** spec.clusterIPs (spec.clusterIP when absent): one per family; a bad one costs its family. */
function parseClusterIPs(c: Checker, raw: readonly unknown[]): ParsedIP[] {
  const clusterIPs: ParsedIP[] = [];
  // API: validateClusterIPs: each IsValidIPForLegacyField (sloppy), at most one per family.
  // proxy: GetClusterIPByFamily takes the first of each family.
  raw.forEach((v, i) => {
    const ip = c.ip(`spec.clusterIPs[${i}]`, v, 'ignore');
    if (!ip) return;
    if (clusterIPs.some((o) => o.family === ip.family)) c.ignore(`spec.clusterIPs[${i}]`, `a second ${ip.family} cluster IP: ignored`);
    else clusterIPs.push(ip);
  });
  if (clusterIPs.length === 0) c.fail('spec.clusterIPs', 'no valid cluster IP');
  return clusterIPs;
}

/** spec.externalIPs: a bad one is left out. */
function parseExternalIPs(c: Checker, raw: unknown): ParsedIP[] {
  const out: ParsedIP[] = [];
  c.array('spec.externalIPs', raw)?.forEach((v, i) => {
    const path = `spec.externalIPs[${i}]`;
    // API: IsValidIPForLegacyField + ValidateNonSpecialIP. proxy: MapIPsByIPFamily skips
    // what does not parse. kpx also leaves out special addresses (never routable to a
    // Service, and 127.0.0.1:80 would capture the node's own loopback traffic).
    const ip = c.ip(path, v, 'ignore');
    if (!ip) return;
    const special = specialIPKind(ip);
    if (special !== undefined) c.ignore(path, `${ip.text} is a ${special} address: ignored`);
    else out.push(ip);
  });
  return out;
}

/**
 * status.loadBalancer.ingress, for any Service type that has it (proxy: newBaseServiceInfo
 * reads it regardless of type). proxy: only ingress with an IP and ipMode unset or VIP
 * (IsVIPMode); ipMode Proxy means the load balancer delivers to the node, not the VIP.
 */
function parseIngress(c: Checker, raw: unknown): ParsedIP[] {
  const out: ParsedIP[] = [];
  c.array('status.loadBalancer.ingress', raw)?.forEach((item, i) => {
    const ing = (item ?? {}) as Record<string, unknown>;
    if (absent(ing['ip'])) return; // hostname-only ingress: nothing to program
    // API: ValidateLoadBalancerStatus: IsValidIPForLegacyField; ipMode VIP or Proxy.
    const ip = c.ip(`status.loadBalancer.ingress[${i}].ip`, ing['ip'], 'ignore');
    const mode = ing['ipMode'];
    if (ip && (mode === undefined || mode === null || mode === 'VIP')) out.push(ip);
  });
  return out;
}

/** API: externalTrafficPolicy / internalTrafficPolicy are Cluster or Local. proxy: only `Local` is Local. */
function policyLocal(c: Checker, path: string, v: unknown): boolean {
  if (absent(v) || v === 'Cluster') return false;
  if (v === 'Local') return true;
  c.ignore(path, `must be Cluster or Local, got ${show(v)}: treated as Cluster, as kube-proxy does`);
  return false;
}

export function parseService(svc: V1Service): ServiceParse {
  const c = new Checker('Service', objectName(svc.metadata));
  const meta = svc.metadata;
  // API: ValidateObjectMeta → ValidateNamespaceName (DNS-1123 label).
  const namespace = c.dnsLabel('metadata.namespace', meta?.namespace ?? 'default');
  // API: ValidateServiceName: DNS-1035 label, DNS-1123 label with
  // RelaxedServiceNameValidation; kpx accepts the wider DNS-1123 label.
  const name = c.dnsLabel('metadata.name', meta?.name);
  if (!c.ok) return { problems: c.problems };
  // proxy: the Service informer's selector !service.kubernetes.io/service-proxy-name.
  if (meta?.labels && SERVICE_PROXY_NAME_LABEL in meta.labels) {
    return notProxied(svc, `labelled ${SERVICE_PROXY_NAME_LABEL}: handled by another proxy`);
  }
  const spec = svc.spec ?? {};
  // API: supportedServiceType; absent is defaulted to ClusterIP.
  const type = c.oneOf('spec.type', spec.type, ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] as const, 'ClusterIP');
  // proxy: ShouldSkipService: ExternalName, and no cluster IP ("" or "None").
  if (type === 'ExternalName') return notProxied(svc, 'ExternalName Service: nothing to proxy');
  if (!type) return { problems: c.problems };
  const rawIPs = spec.clusterIPs && spec.clusterIPs.length > 0 ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
  if (rawIPs.length === 0 || rawIPs[0] === '' || rawIPs[0] === 'None') {
    return notProxied(svc, 'no cluster IP (headless or not yet allocated): nothing to proxy');
  }
  const clusterIPs = parseClusterIPs(c, c.array('spec.clusterIPs', rawIPs) ?? []);

  // API: at least one port for a Service with a cluster IP.
  const ports = parsePorts(c, spec.ports, type === 'NodePort' || type === 'LoadBalancer');
  if (ports.length === 0) c.fail('spec.ports', 'no valid port: a Service needs at least one');

  const externalIPs = parseExternalIPs(c, spec.externalIPs);
  const loadBalancerIPs = parseIngress(c, svc.status?.loadBalancer?.ingress);

  // API: validateLoadBalancerSourceRanges (TrimSpace, IsValidCIDRForLegacyField); proxy:
  // TrimSpace + MapCIDRsByIPFamily (ParseCIDRSloppy). An invalid range skips the Service
  // (fail closed): kube-proxy would drop just that range, which can leave no range at
  // all and so no firewall.
  const loadBalancerSourceRanges: ParsedCIDR[] = [];
  c.array('spec.loadBalancerSourceRanges', spec.loadBalancerSourceRanges)?.forEach((v, i) => {
    const cidr = c.cidr(`spec.loadBalancerSourceRanges[${i}]`, v);
    if (cidr) loadBalancerSourceRanges.push(cidr);
  });

  const externalLocal = policyLocal(c, 'spec.externalTrafficPolicy', spec.externalTrafficPolicy);
  const internalPolicyLocal = policyLocal(c, 'spec.internalTrafficPolicy', spec.internalTrafficPolicy);
  // apiservice.ExternallyAccessible: NodePort, LoadBalancer, or any type with externalIPs.
  const externallyAccessible = type === 'NodePort' || type === 'LoadBalancer' || externalIPs.length > 0;

  // proxy: NeedsHealthCheck (LoadBalancer + Local); a zero or bad port means no health check.
  let healthCheckNodePort: number | undefined;
  if (type === 'LoadBalancer' && externalLocal && !absent(spec.healthCheckNodePort) && spec.healthCheckNodePort !== 0) {
    healthCheckNodePort = c.port('spec.healthCheckNodePort', spec.healthCheckNodePort, 'ignore');
  }

  // API: sessionAffinity None or ClientIP; proxy: affinity only for ClientIP.
  const affinity = spec.sessionAffinity;
  if (!absent(affinity) && affinity !== 'None' && affinity !== 'ClientIP') {
    c.ignore('spec.sessionAffinity', `must be None or ClientIP, got ${show(affinity)}: treated as None, as kube-proxy does`);
  }
  let affinityTimeoutSeconds: number | undefined;
  if (affinity === 'ClientIP') {
    const t = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT_SECONDS;
    if (typeof t === 'number' && Number.isInteger(t) && t >= 1 && t <= MAX_AFFINITY_TIMEOUT_SECONDS) affinityTimeoutSeconds = t;
    else {
      c.ignore('spec.sessionAffinityConfig.clientIP.timeoutSeconds', `must be 1-${MAX_AFFINITY_TIMEOUT_SECONDS} seconds, got ${show(t)}: the default ${DEFAULT_AFFINITY_TIMEOUT_SECONDS} is used`);
      affinityTimeoutSeconds = DEFAULT_AFFINITY_TIMEOUT_SECONDS;
    }
  }

  if (!c.ok || !namespace || !name) return { problems: c.problems };
  const service: ParsedService = {
    namespace,
    name,
    type,
    clusterIPs,
    ports,
    externalIPs,
    loadBalancerIPs,
    loadBalancerSourceRanges,
    externalPolicyLocal: externalLocal && externallyAccessible,
    internalPolicyLocal,
    ...(healthCheckNodePort !== undefined ? { healthCheckNodePort } : {}),
    ...(affinityTimeoutSeconds !== undefined ? { affinityTimeoutSeconds } : {}),
  };
  return { service, problems: c.problems };
}
