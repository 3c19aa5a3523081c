/**
 * A Service object → the family-independent facts kube-proxy uses, validated.
 * Returns undefined (with problems) for a Service that is skipped.
 */
import type { V1Service } from '@kubernetes/client-node';
import type { ParsedCIDR, ParsedIP } from './ip.js';
import type { Problem, Protocol } from './types.js';
import { Checker, objectName } from './validate.js';

export const SERVICE_PROXY_NAME_LABEL = 'service.kubernetes.io/service-proxy-name';
export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10800;
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

export function parseService(svc: V1Service): ServiceParse {
  const c = new Checker('Service', objectName(svc.metadata));
  const meta = svc.metadata;
  const namespace = c.dnsLabel('metadata.namespace', meta?.namespace ?? 'default');
  const name = c.dnsLabel('metadata.name', meta?.name);
  if (!c.ok) return { problems: c.problems };
  if (meta?.labels && SERVICE_PROXY_NAME_LABEL in meta.labels) {
    return notProxied(svc, `labelled ${SERVICE_PROXY_NAME_LABEL}: handled by another proxy`);
  }
  const spec = svc.spec ?? {};
  const type = c.oneOf('spec.type', spec.type, ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] as const, 'ClusterIP');
  if (type === 'ExternalName') return notProxied(svc, 'ExternalName Service: nothing to proxy');
  const rawIPs = spec.clusterIPs && spec.clusterIPs.length > 0 ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
  if (rawIPs.length === 0 || rawIPs[0] === '' || rawIPs[0] === 'None') {
    return c.ok ? notProxied(svc, 'no cluster IP (headless or not yet allocated): nothing to proxy') : { problems: c.problems };
  }
  const clusterIPs: ParsedIP[] = [];
  c.array('spec.clusterIPs', rawIPs)?.forEach((v, i) => {
    const ip = c.ip(`spec.clusterIPs[${i}]`, v);
    if (!ip) return;
    if (clusterIPs.some((o) => o.family === ip.family)) c.fail(`spec.clusterIPs[${i}]`, `a second ${ip.family} cluster IP`);
    else clusterIPs.push(ip);
  });

  const ports: ParsedServicePort[] = [];
  const rawPorts = c.array('spec.ports', spec.ports) ?? [];
  if (rawPorts.length === 0) c.fail('spec.ports', 'a Service needs at least one port');
  const seen = new Set<string>();
  rawPorts.forEach((raw, i) => {
    const p = (raw ?? {}) as Record<string, unknown>;
    const path = `spec.ports[${i}]`;
    const portName = p['name'] === undefined || p['name'] === null || p['name'] === '' ? '' : c.dnsLabel(`${path}.name`, p['name']);
    const protocol = c.protocol(`${path}.protocol`, p['protocol']);
    const port = c.port(`${path}.port`, p['port']);
    let nodePort: number | undefined;
    if ((type === 'NodePort' || type === 'LoadBalancer') && p['nodePort'] !== undefined && p['nodePort'] !== null && p['nodePort'] !== 0) {
      nodePort = c.port(`${path}.nodePort`, p['nodePort']);
    }
    if (portName === undefined || !protocol || !port) return;
    const id = `${portName}/${protocol}`;
    if (seen.has(id)) { c.fail(`${path}.name`, `duplicate port name ${JSON.stringify(portName)} for ${protocol}`); return; }
    seen.add(id);
    ports.push(nodePort === undefined ? { name: portName, protocol, port } : { name: portName, protocol, port, nodePort });
  });

  const externalIPs: ParsedIP[] = [];
  c.array('spec.externalIPs', spec.externalIPs)?.forEach((v, i) => {
    const ip = c.ip(`spec.externalIPs[${i}]`, v);
    if (ip) externalIPs.push(ip);
  });

  const loadBalancerIPs: ParsedIP[] = [];
  if (type === 'LoadBalancer') {
    c.array('status.loadBalancer.ingress', svc.status?.loadBalancer?.ingress)?.forEach((raw, i) => {
      const ing = (raw ?? {}) as Record<string, unknown>;
      if (ing['ip'] === undefined || ing['ip'] === '') return; // hostname-only ingress: nothing to program
      const ip = c.ip(`status.loadBalancer.ingress[${i}].ip`, ing['ip']);
      // ipMode Proxy: the load balancer delivers to the node, not to the VIP; kube-proxy leaves the VIP alone.
      if (ip && ing['ipMode'] !== 'Proxy') loadBalancerIPs.push(ip);
    });
  }

  const loadBalancerSourceRanges: ParsedCIDR[] = [];
  c.array('spec.loadBalancerSourceRanges', spec.loadBalancerSourceRanges)?.forEach((v, i) => {
    // kube-proxy tolerates stray white space here, as users paste the ranges.
    const cidr = c.cidr(`spec.loadBalancerSourceRanges[${i}]`, v);
    if (cidr) loadBalancerSourceRanges.push(cidr);
  });

  const etp = c.oneOf('spec.externalTrafficPolicy', spec.externalTrafficPolicy, ['Cluster', 'Local'] as const, 'Cluster');
  const itp = c.oneOf('spec.internalTrafficPolicy', spec.internalTrafficPolicy, ['Cluster', 'Local'] as const, 'Cluster');
  const externallyAccessible = type === 'NodePort' || type === 'LoadBalancer' || externalIPs.length > 0;

  let healthCheckNodePort: number | undefined;
  if (type === 'LoadBalancer' && etp === 'Local' && spec.healthCheckNodePort) {
    healthCheckNodePort = c.port('spec.healthCheckNodePort', spec.healthCheckNodePort);
  }

  const affinity = c.oneOf('spec.sessionAffinity', spec.sessionAffinity, ['None', 'ClientIP'] as const, 'None');
  let affinityTimeoutSeconds: number | undefined;
  if (affinity === 'ClientIP') {
    const t = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT_SECONDS;
    if (typeof t === 'number' && Number.isInteger(t) && t >= 1 && t <= MAX_AFFINITY_TIMEOUT_SECONDS) affinityTimeoutSeconds = t;
    else c.fail('spec.sessionAffinityConfig.clientIP.timeoutSeconds', `must be 1-${MAX_AFFINITY_TIMEOUT_SECONDS} seconds`);
  }

  if (!c.ok || !namespace || !name || !type) return { problems: c.problems };
  const service: ParsedService = {
    namespace,
    name,
    type,
    clusterIPs,
    ports,
    externalIPs,
    loadBalancerIPs,
    loadBalancerSourceRanges,
    externalPolicyLocal: etp === 'Local' && externallyAccessible,
    internalPolicyLocal: itp === 'Local',
    ...(healthCheckNodePort !== undefined ? { healthCheckNodePort } : {}),
    ...(affinityTimeoutSeconds !== undefined ? { affinityTimeoutSeconds } : {}),
  };
  return { service, problems: c.problems };
}
