/** Objects and polling for the watch tests (which talk to a real API server). */
import {
  CoreV1Api, DiscoveryV1Api,
  type KubeConfig, type V1EndpointSlice, type V1Node, type V1Service,
} from '@kubernetes/client-node';
import { buildProxyState } from '../../src/model/index.js';
import type { BuildResult, ServicePort } from '../../src/model/index.js';
import type { WatchLayer, WatchLogger } from '../../src/watch/index.js';

export const NODE = 'node-a';

export interface Clients {
  readonly core: CoreV1Api;
  readonly discovery: DiscoveryV1Api;
}

export function clients(kc: KubeConfig): Clients {
  return { core: kc.makeApiClient(CoreV1Api), discovery: kc.makeApiClient(DiscoveryV1Api) };
}

export function service(ns: string, name: string, clusterIP: string, ports: { name: string; port: number }[],
  labels: Record<string, string> = {}): V1Service {
  return {
    apiVersion: 'v1', kind: 'Service',
    metadata: { namespace: ns, name, labels },
    spec: { type: 'ClusterIP', clusterIP, ports: ports.map((p) => ({ name: p.name, port: p.port, protocol: 'TCP', targetPort: p.port })) },
  };
}

export interface EP { ip: string; ready?: boolean; node?: string }

export function slice(ns: string, name: string, svc: string, endpoints: EP[], ports: { name: string; port: number }[],
  opts: { addressType?: 'IPv4' | 'IPv6' | 'FQDN'; labels?: Record<string, string> } = {}): V1EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: {
      namespace: ns, name,
      labels: { 'kubernetes.io/service-name': svc, 'endpointslice.kubernetes.io/managed-by': 'kpx-test', ...opts.labels },
    },
    addressType: opts.addressType ?? 'IPv4',
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: e.ready ?? true },
      ...(e.node !== undefined ? { nodeName: e.node } : {}),
    })),
    ports: ports.map((p) => ({ name: p.name, port: p.port, protocol: 'TCP' })),
  };
}

export function node(name: string, ip: string, labels: Record<string, string> = {}): V1Node {
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name, labels },
    status: { addresses: [{ type: 'InternalIP', address: ip }, { type: 'Hostname', address: name }] },
  };
}

export async function createNamespace(c: Clients, name: string): Promise<void> {
  await c.core.createNamespace({ body: { metadata: { name } } });
}

/** Polls `check` until it returns a value other than undefined/false, or throws after `timeoutMs`. */
export async function eventually<T>(what: string, check: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const start = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const v = check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() - start > timeoutMs) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last !== undefined ? `: ${String(last)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Accumulates what the layer reports, as a sync loop would: every apply()'s Service keys
 * are added to `changed` until the test takes them.
 */
export class Observer {
  changed = new Set<string>();
  nodeChanged = false;
  notifications = 0;
  notifiedBeforeSync = false;
  private readonly off: () => void;

  constructor(private readonly layer: WatchLayer, private readonly nodeName = NODE) {
    this.off = layer.onChange(() => {
      this.notifications++;
      if (!layer.synced) this.notifiedBeforeSync = true;
    });
  }

  /** apply() now; returns the model built from the committed snapshot. */
  build(): BuildResult {
    const cs = this.layer.apply();
    for (const k of cs.services) this.changed.add(k);
    if (cs.node) this.nodeChanged = true;
    return buildProxyState(this.layer.snapshot(), { nodeName: this.nodeName });
  }

  /** Applies until `check(model)` holds. */
  until<T>(what: string, check: (r: BuildResult) => T | undefined | false, timeoutMs?: number): Promise<T> {
    return eventually(what, () => check(this.build()), timeoutMs);
  }

  take(): string[] {
    const out = [...this.changed].sort();
    this.changed.clear();
    return out;
  }

  close(): void {
    this.off();
  }
}

export function port(r: BuildResult, key: string): ServicePort | undefined {
  return r.state.ipv4.services.find((p) => p.key === key);
}

export function endpoints(r: BuildResult, key: string): string[] | undefined {
  return port(r, key)?.allEndpoints.map((e) => `${e.ip}:${e.port}${e.ready ? '' : ' (not ready)'}`).sort();
}

/** KPX_TEST_LOG=1 prints the layer's log lines (restarts, sync) to stderr. */
export function testLogger(): WatchLogger | undefined {
  if (!process.env['KPX_TEST_LOG']) return undefined;
  const line = (level: string) => (fields: Record<string, unknown>, message: string): void => {
    process.stderr.write(`${new Date().toISOString()} ${level} ${message} ${JSON.stringify(fields)}\n`);
  };
  return { info: line('info'), warn: line('warn') };
}
