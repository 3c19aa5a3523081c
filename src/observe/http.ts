/**
 * The two HTTP servers of `kpx run`: health (`/healthz`, `/livez`, kube-proxy's
 * --healthz-bind-address, default 0.0.0.0:10256) and metrics (`/metrics`,
 * --metrics-bind-address, default 127.0.0.1:10249).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { Counter, Registry } from 'prom-client';
import type { ProxyHealth } from './health.js';

export interface BindAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * `host:port`, `[v6]:port`, or a bare host (then `defaultPort`, as upstream's
 * AppendPortIfNeeded). Returns an error message for anything else.
 */
export function parseBindAddress(text: string, defaultPort: number): BindAddress | string {
  let host = text;
  let port = String(defaultPort);
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (v6 !== null) {
    host = v6[1] ?? '';
    if (v6[2] !== undefined) port = v6[2];
  } else if (isIP(text) === 0) {
    const i = text.lastIndexOf(':');
    if (i < 0) return `"${text}" is not an IP address or IP:port`;
    host = text.slice(0, i);
    port = text.slice(i + 1);
  }
  if (host !== '' && isIP(host) === 0) return `"${host}" is not an IP address`;
  if (!/^\d+$/.test(port) || Number(port) > 65535) return `"${port}" is not a port number`;
  return { host: host === '' ? '0.0.0.0' : host, port: Number(port) };
}

export interface RunningServer {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  close(): Promise<void>;
}

/** Starts `server` on `addr` (`ipv6Only`: an IPv6 socket that does not take IPv4 too). */
export function listen(server: Server, addr: BindAddress & { readonly ipv6Only?: boolean }): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: addr.port, host: addr.host, ...(addr.ipv6Only === true ? { ipv6Only: true } : {}) }, () => {
      server.off('error', reject);
      const a = server.address();
      const port = typeof a === 'object' && a !== null ? a.port : addr.port;
      resolve({
        port,
        close: () => new Promise((done) => {
          server.closeAllConnections();
          server.close(() => done());
        }),
      });
    });
  });
}

function sendJSON(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff' });
  res.end(JSON.stringify(body));
}

/** kube-proxy's kubeproxy_proxy_healthz_total / kubeproxy_proxy_livez_total, by status code. */
export interface HealthCounters {
  readonly healthzTotal: Counter<'code'>;
  readonly livezTotal: Counter<'code'>;
}

export function serveHealth(addr: BindAddress, health: ProxyHealth, counters?: HealthCounters): Promise<RunningServer> {
  return listen(createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz' || path === '/livez') {
      const r = health.report(path === '/healthz');
      (path === '/healthz' ? counters?.healthzTotal : counters?.livezTotal)?.inc({ code: String(r.status) });
      sendJSON(res, r.status, r.body);
      return;
    }
    res.writeHead(404).end('404 page not found\n');
  }), addr);
}

export function serveMetrics(addr: BindAddress, registry: Registry): Promise<RunningServer> {
  return listen(createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      registry.metrics().then((text) => {
        res.writeHead(200, { 'Content-Type': registry.contentType }).end(text);
      }, (err: unknown) => {
        res.writeHead(500).end(`${err instanceof Error ? err.message : String(err)}\n`);
      });
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200).end('ok');
      return;
    }
    res.writeHead(404).end('404 page not found\n');
  }), addr);
}
