/**
 * The healthCheckNodePort servers of externalTrafficPolicy Local LoadBalancer Services:
 * a SyncObserver that, after every successful sync, opens and closes servers as the plan
 * (service-health-plan.ts) says and updates the local endpoint counts they report.
 *
 * Each server answers any path and method (upstream's handler is not a mux) with the
 * Service's name, its local ready endpoint count N and the proxy's own health, header
 * `X-Load-Balancing-Endpoint-Weight: N`, 200 iff N > 0 and the proxy is healthy, else
 * 503 (k8s.io/kubernetes pkg/proxy/healthcheck/service_health.go hcHandler).
 *
 * A server that cannot listen on one of its addresses closes the ones it opened, logs
 * one error (repeats of the same failure at debug), counts it, posts a Warning Event
 * `FailedToStartServiceHealthcheck` (action `Listen`) about the Service, and is tried
 * again after the next sync — as upstream, whose SyncServices does not keep it. The
 * other servers are not affected.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Counter } from 'prom-client';
import { IP_FAMILIES } from '../model/types.js';
import type { SyncObserver, SyncResult } from './types.js';
import type { EventReport } from '../watch/events.js';
import { listen, type RunningServer } from '../observe/http.js';
import type { Logger } from '../observe/logger.js';
import {
  healthCheckBody, listenAddresses, localReadyEndpoints, planServers, targetId, targetOf,
  type WantedServer,
} from '../observe/service-health-plan.js';

export const FAILED_TO_START_REASON = 'FailedToStartServiceHealthcheck';

export interface ServiceHealthDeps {
  /** The proxy's own health (ProxyHealth.isHealthy: no Node eligibility). */
  readonly health: { isHealthy(): boolean };
  readonly logger: Logger;
  readonly nodeName: string;
  /** Where Events go (EventRecorder.record); none: not reported. */
  readonly events?: { record(r: EventReport): void };
  /** The Service's UID, for the Event's `regarding` (so `kubectl describe` finds it). */
  readonly uidOf?: (key: string) => string | undefined;
  readonly bindFailures?: Pick<Counter, 'inc'>;
}

interface Instance extends WantedServer {
  /** Read by the handlers on every request. */
  localEndpoints: number;
  readonly servers: RunningServer[];
}

/** What one server reports now (tests and diagnostics). */
export interface ServerState {
  readonly key: string;
  readonly family: string;
  readonly port: number;
  readonly addresses: readonly string[];
  readonly localEndpoints: number;
}

export class ServiceHealthServers implements SyncObserver {
  readonly name = 'service health check servers';
  /** Wanted servers with their latest counts, kept incrementally from `affected`. */
  private readonly wanted = new Map<string, WantedServer & { localEndpoints: number }>();
  private readonly running = new Map<string, Instance>();
  /** The last failure logged per server id, so a repeat is logged at debug only. */
  private readonly lastFailure = new Map<string, string>();

  constructor(private readonly deps: ServiceHealthDeps) {}

  async afterSync(result: SyncResult): Promise<void> {
    this.updateWanted(result);
    const plan = planServers(this.running, this.wanted);
    for (const id of plan.close) await this.close(id);
    for (const id of plan.open) await this.open(id);
    for (const id of this.lastFailure.keys()) if (!this.wanted.has(id)) this.lastFailure.delete(id);
    for (const [id, w] of this.wanted) {
      const inst = this.running.get(id);
      if (inst !== undefined) inst.localEndpoints = w.localEndpoints;
    }
  }

  /** Closes every server (at shutdown). */
  async stop(): Promise<void> {
    for (const id of [...this.running.keys()]) await this.close(id);
  }

  servers(): ServerState[] {
    return [...this.running.values()].map((i) => ({
      key: i.target.key, family: i.target.family, port: i.target.port, addresses: i.addresses, localEndpoints: i.localEndpoints,
    }));
  }

  private updateWanted(result: SyncResult): void {
    const m = result.model;
    const addresses = Object.fromEntries(IP_FAMILIES.map((f) => [f, listenAddresses(m.family(f))]));
    let keys: Iterable<string>;
    if (result.affected === 'all') {
      this.wanted.clear();
      keys = m.keys();
    } else {
      keys = result.affected;
    }
    for (const key of keys) {
      for (const f of IP_FAMILIES) {
        const ports = m.ports(key, f);
        const target = targetOf(key, f, ports);
        const id = targetId(key, f);
        if (target === undefined) this.wanted.delete(id);
        else this.wanted.set(id, { target, addresses: addresses[f]!, localEndpoints: localReadyEndpoints(ports) });
      }
    }
    // Addresses follow the node's (NodePort addresses can change without a Service change).
    for (const [id, w] of this.wanted) {
      const a = addresses[w.target.family]!;
      if (a.length !== w.addresses.length || a.some((x, i) => x !== w.addresses[i])) this.wanted.set(id, { ...w, addresses: a });
    }
  }

  private async close(id: string): Promise<void> {
    const inst = this.running.get(id);
    if (inst === undefined) return;
    this.running.delete(id);
    await Promise.all(inst.servers.map((s) => s.close()));
    this.deps.logger.info({ service: inst.target.key, family: inst.target.family, port: inst.target.port }, 'health check server closed');
  }

  private async open(id: string): Promise<void> {
    const w = this.wanted.get(id);
    if (w === undefined) return;
    const { target } = w;
    const inst: Instance = { target, addresses: w.addresses, localEndpoints: w.localEndpoints, servers: [] };
    for (const host of w.addresses) {
      const server = createServer((_req: IncomingMessage, res: ServerResponse) => this.answer(inst, res));
      try {
        inst.servers.push(await listen(server, { host, port: target.port, ipv6Only: target.family === 'ipv6' }));
      } catch (err) {
        server.close();
        await Promise.all(inst.servers.map((s) => s.close()));
        this.failed(id, w, host, err as NodeJS.ErrnoException);
        return;
      }
    }
    this.lastFailure.delete(id);
    this.running.set(id, inst);
    this.deps.logger.info({ service: target.key, family: target.family, port: target.port, addresses: w.addresses }, 'health check server listening');
  }

  private failed(id: string, w: WantedServer, host: string, err: NodeJS.ErrnoException): void {
    const { target } = w;
    this.deps.bindFailures?.inc();
    const what = `${host}|${err.code ?? err.message}`;
    const fields = { service: target.key, family: target.family, port: target.port, address: host, error: err.message };
    if (this.lastFailure.get(id) === what) {
      this.deps.logger.debug(fields, 'health check server still cannot listen; retried after the next sync');
    } else {
      this.lastFailure.set(id, what);
      this.deps.logger.error(fields, 'health check server cannot listen; retried after the next sync');
    }
    const uid = this.deps.uidOf?.(target.key);
    this.deps.events?.record({
      regarding: { kind: 'Service', apiVersion: 'v1', namespace: target.namespace, name: target.name, ...(uid !== undefined ? { uid } : {}) },
      type: 'Warning',
      reason: FAILED_TO_START_REASON,
      action: 'Listen',
      note: `node ${this.deps.nodeName} failed to start healthcheck "${target.key}" on port ${target.port}: ${err.message}`,
    });
  }

  private answer(inst: Instance, res: ServerResponse): void {
    const healthy = this.deps.health.isHealthy();
    const n = inst.localEndpoints;
    res.writeHead(n > 0 && healthy ? 200 : 503, {
      'Content-Type': 'application/json',
      'X-Content-Type-Options': 'nosniff',
      'X-Load-Balancing-Endpoint-Weight': String(n),
    });
    res.end(healthCheckBody(inst.target, n, healthy));
  }
}
