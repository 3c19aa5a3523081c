// Unix-socket → TCP relay, run inside the control-plane namespace with `ip netns exec`:
// argv: SOCKET_PATH HOST PORT. A Unix socket is a file, so the test process in the
// machine's namespace reaches the API server through it without any link to the
// machine's namespace. TLS passes through untouched. Prints "ready" once listening.
import net from 'node:net';
import { rmSync } from 'node:fs';

const [path, host, port] = process.argv.slice(2);
rmSync(path, { force: true });
const server = net.createServer((client) => {
  const upstream = net.createConnection({ host, port: Number(port) });
  const drop = () => { client.destroy(); upstream.destroy(); };
  client.on('error', drop).on('close', drop);
  upstream.on('error', drop).on('close', drop);
  client.pipe(upstream);
  upstream.pipe(client);
});
server.listen(path, () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => { server.close(); process.exit(0); });
