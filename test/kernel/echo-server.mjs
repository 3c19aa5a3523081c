// Echo servers for the kernel harness, run inside a pod namespace with `ip netns exec`.
// argv[2]: JSON [{ "ip": "10.244.1.2", "port": 8080, "proto": "tcp" | "udp" }, ...]
// Every listener answers with "<address:port reached> <peer ip seen>\n" (IPv6 as [ip]:port)
// and then closes (TCP) or just replies (UDP). Prints "ready" once all listeners are bound.
import net from 'node:net';
import dgram from 'node:dgram';

const specs = JSON.parse(process.argv[2] ?? '[]');
const hostPort = (ip, port) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);
const plain = (ip) => (ip.startsWith('::ffff:') ? ip.slice(7) : ip);

function listenTcp({ ip, port }) {
  return new Promise((resolve, reject) => {
    const server = net.createServer((sock) => {
      sock.on('error', () => {});
      sock.end(`${hostPort(ip, port)} ${plain(sock.remoteAddress ?? '?')}\n`);
    });
    server.once('error', reject);
    server.listen({ host: ip, port, ipv6Only: ip.includes(':'), backlog: 1024 }, () => resolve());
  });
}

function listenUdp({ ip, port }) {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket({ type: ip.includes(':') ? 'udp6' : 'udp4', ipv6Only: ip.includes(':') });
    sock.on('message', (_msg, rinfo) => {
      sock.send(`${hostPort(ip, port)} ${plain(rinfo.address)}\n`, rinfo.port, rinfo.address);
    });
    sock.once('error', reject);
    sock.bind({ address: ip, port }, () => {
      sock.removeListener('error', reject);
      sock.on('error', (err) => process.stderr.write(`udp ${hostPort(ip, port)}: ${err.message}\n`));
      resolve();
    });
  });
}

Promise.all(specs.map((s) => (s.proto === 'udp' ? listenUdp(s) : listenTcp(s)))).then(
  () => process.stdout.write('ready\n'),
  (err) => {
    process.stderr.write(`echo-server: ${err.message}\n`);
    process.exit(1);
  },
);
process.on('SIGTERM', () => process.exit(0));
