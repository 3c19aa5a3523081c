/**
 * Services, EndpointSlices and Nodes as a cluster writes them. There is no kubelet or
 * controller-manager here: the test is the EndpointSlice controller, so it writes the
 * slices itself, with the `endpoints.kubernetes.io/last-change-trigger-time` annotation
 * the real controller sets (k8s.io/kubernetes pkg/controller/endpointslice, via
 * endpointslice's reconciler: the time of the Service/Pod change that caused the write).
 */
import type { V1EndpointSlice, V1Node, V1Service, V1ServicePort } from '@kubernetes/client-node';
import type { Api } from './controlplane.js';
import { E2E, NODE_NAME, OTHER_NODE_NAME } from './topology.js';

export const NAMESPACE = 'e2e';
export const SERVICE_PORT = 80;

export interface ServiceSpec {
  readonly name: string;
  readonly clusterIP: string;
  readonly type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
  readonly nodePort?: number;
  readonly externalIPs?: readonly string[];
  readonly externalTrafficPolicy?: 'Cluster' | 'Local';
  readonly affinity?: boolean;
  /** Also a UDP port 80 (named "dns"), next to TCP port 80 ("http"). */
  readonly udp?: boolean;
  /** Also a TCP port 81 (named "alt", same target port). */
  readonly alt?: boolean;
  readonly internalTrafficPolicy?: 'Cluster' | 'Local';
  readonly loadBalancerSourceRanges?: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
}

export function service(s: ServiceSpec): V1Service {
  const type = s.type ?? 'ClusterIP';
  const ports: V1ServicePort[] = [
    { name: 'http', protocol: 'TCP', port: SERVICE_PORT, targetPort: E2E.podPort, ...(s.nodePort !== undefined ? { nodePort: s.nodePort } : {}) },
    ...(s.udp === true ? [{ name: 'dns', protocol: 'UDP', port: SERVICE_PORT, targetPort: E2E.podPort }] : []),
    ...(s.alt === true ? [{ name: 'alt', protocol: 'TCP', port: SERVICE_PORT + 1, targetPort: E2E.podPort }] : []),
  ];
  return {
    apiVersion: 'v1', kind: 'Service',
    metadata: { namespace: NAMESPACE, name: s.name, ...(s.labels !== undefined ? { labels: { ...s.labels } } : {}) },
    spec: {
      type, clusterIP: s.clusterIP, clusterIPs: [s.clusterIP], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack',
      selector: { app: s.name },
      ports,
      ...(s.externalIPs !== undefined ? { externalIPs: [...s.externalIPs] } : {}),
      ...(type !== 'ClusterIP' ? { externalTrafficPolicy: s.externalTrafficPolicy ?? 'Cluster' } : {}),
      ...(s.internalTrafficPolicy !== undefined ? { internalTrafficPolicy: s.internalTrafficPolicy } : {}),
      ...(s.loadBalancerSourceRanges !== undefined ? { loadBalancerSourceRanges: [...s.loadBalancerSourceRanges] } : {}),
      sessionAffinity: s.affinity === true ? 'ClientIP' : 'None',
      ...(s.affinity === true ? { sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } } } : {}),
    },
  };
}

export interface Endpoint {
  readonly ip: string;
  /** Default this node. */
  readonly node?: string;
  readonly ready?: boolean;
  /** Default: ready. */
  readonly serving?: boolean;
  readonly terminating?: boolean;
}

export function endpointSlice(svc: string, eps: readonly Endpoint[], udp = false, triggerTime = new Date(), alt = false): V1EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: {
      namespace: NAMESPACE, name: `${svc}-e2e`,
      labels: { 'kubernetes.io/service-name': svc, 'endpointslice.kubernetes.io/managed-by': 'e2e.kpx.dev' },
      annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': triggerTime.toISOString() },
    },
    addressType: 'IPv4',
    endpoints: eps.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: e.ready ?? true, serving: e.serving ?? e.ready ?? true, terminating: e.terminating ?? false },
      nodeName: e.node ?? NODE_NAME,
    })),
    ports: [
      { name: 'http', protocol: 'TCP', port: E2E.podPort },
      ...(udp ? [{ name: 'dns', protocol: 'UDP', port: E2E.podPort }] : []),
      ...(alt ? [{ name: 'alt', protocol: 'TCP', port: E2E.podPort }] : []),
    ],
  };
}

export function node(name: string, ip: string): V1Node {
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    status: { addresses: [{ type: 'InternalIP', address: ip }, { type: 'Hostname', address: name }] },
  };
}

const isStatus = (err: unknown, code: number): boolean => (err as { code?: number }).code === code;

async function retrying<T>(what: string, f: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await f();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: ${String((err as { body?: unknown }).body ?? err)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** The test's writes, as a cluster's controllers would make them. */
export class Writer {
  constructor(private readonly api: Api) {}

  async setup(): Promise<void> {
    await this.api.core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
    await this.api.core.createNode({ body: node(NODE_NAME, E2E.nodeIP) });
    await this.api.core.createNode({ body: node(OTHER_NODE_NAME, '10.100.0.11') });
  }

  /** Creates the Service (retrying while its ClusterIP or NodePort is still being released). */
  async createService(s: ServiceSpec): Promise<void> {
    await retrying(`create service ${s.name}`, () => this.api.core.createNamespacedService({ namespace: NAMESPACE, body: service(s) }));
  }

  /** Replaces the Service's spec with `s` (keeps the allocated fields the API server owns). */
  async updateService(s: ServiceSpec): Promise<void> {
    await retrying(`update service ${s.name}`, async () => {
      const cur = await this.api.core.readNamespacedService({ name: s.name, namespace: NAMESPACE });
      const want = service(s);
      const body: V1Service = { ...cur, spec: { ...cur.spec, ...want.spec } };
      if (want.spec?.sessionAffinity === 'None' && body.spec) delete body.spec.sessionAffinityConfig;
      if (want.spec?.type === 'ClusterIP' && body.spec) { delete body.spec.externalTrafficPolicy; }
      await this.api.core.replaceNamespacedService({ name: s.name, namespace: NAMESPACE, body });
    });
  }

  async deleteService(name: string): Promise<void> {
    await this.api.core.deleteNamespacedService({ name, namespace: NAMESPACE });
  }

  /** Creates or replaces the Service's one EndpointSlice. Returns the trigger time written. */
  async setEndpoints(svc: string, eps: readonly Endpoint[], udp = false, alt = false): Promise<Date> {
    const t = new Date();
    const body = endpointSlice(svc, eps, udp, t, alt);
    const name = body.metadata!.name!;
    await retrying(`endpoints of ${svc}`, async () => {
      try {
        const cur = await this.api.discovery.readNamespacedEndpointSlice({ name, namespace: NAMESPACE });
        body.metadata!.resourceVersion = cur.metadata!.resourceVersion!;
        await this.api.discovery.replaceNamespacedEndpointSlice({ name, namespace: NAMESPACE, body });
      } catch (err) {
        if (!isStatus(err, 404)) throw err;
        delete body.metadata!.resourceVersion;
        await this.api.discovery.createNamespacedEndpointSlice({ namespace: NAMESPACE, body });
      }
    });
    return t;
  }

  async deleteEndpoints(svc: string): Promise<void> {
    await this.api.discovery.deleteNamespacedEndpointSlice({ name: `${svc}-e2e`, namespace: NAMESPACE }).catch((err: unknown) => {
      if (!isStatus(err, 404)) throw err;
    });
  }

  /** Sets status.loadBalancer.ingress (what a cloud controller does). */
  async setLoadBalancerIPs(svc: string, ips: readonly string[]): Promise<void> {
    await retrying(`load balancer status of ${svc}`, async () => {
      const cur = await this.api.core.readNamespacedService({ name: svc, namespace: NAMESPACE });
      const body: V1Service = { ...cur, status: { loadBalancer: { ingress: ips.map((ip) => ({ ip, ipMode: 'VIP' })) } } };
      await this.api.core.replaceNamespacedServiceStatus({ name: svc, namespace: NAMESPACE, body });
    });
  }
}
