/**
 * A TCP relay on 127.0.0.1 in front of the API server, to partition one client from it
 * while the test keeps talking to the server directly. TLS passes through untouched.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface Relay {
  /** https://127.0.0.1:PORT, to use as the client's server URL. */
  readonly url: string;
  /** Drops every open connection and refuses new ones (accepted, then reset). */
  cut(): void;
  restore(): void;
  /** Client connections open now. */
  connections(): number;
  close(): Promise<void>;
}

export async function startRelay(targetPort: number): Promise<Relay> {
  const sockets = new Set<Socket>();
  const clients = new Set<Socket>();
  let open = true;
  const server: Server = createServer((client) => {
    if (!open) { client.resetAndDestroy(); return; }
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    sockets.add(client);
    sockets.add(upstream);
    clients.add(client);
    const drop = (): void => {
      clients.delete(client);
      sockets.delete(client);
      sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `https://127.0.0.1:${port}`,
    cut(): void {
      open = false;
      for (const s of sockets) s.resetAndDestroy();
      sockets.clear();
      clients.clear();
    },
    restore(): void {
      open = true;
    },
    connections(): number {
      return clients.size;
    },
    async close(): Promise<void> {
      open = false;
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
