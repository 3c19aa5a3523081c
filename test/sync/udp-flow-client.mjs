// A long-lived UDP flow for the conntrack tests, run inside a namespace with `ip netns exec`.
// argv[2]: JSON { "dst": "10.96.0.53", "dport": 53, "sport": 40053, "src"?: "10.244.1.100", "intervalMs": 50 }
// One connected socket bound to a fixed source port sends a datagram every intervalMs
// (the same 5-tuple for the whole run: one conntrack entry). Prints one JSON line per
// event: {"t": ms, "kind": "answer", "endpoint": "10.244.1.2:5353"} or
// {"t": ms, "kind": "error", "code": "ECONNREFUSED"} (ICMP port unreachable: a reject rule).
// Stops on SIGTERM.
import dgram from 'node:dgram';

const o = JSON.parse(process.argv[2] ?? '{}');
const sock = dgram.createSocket(o.dst.includes(':') ? 'udp6' : 'udp4');
const out = (e) => process.stdout.write(`${JSON.stringify({ t: Date.now(), ...e })}\n`);
sock.on('message', (msg) => out({ kind: 'answer', endpoint: msg.toString().trim().split(/\s+/)[0] }));
sock.on('error', (err) => out({ kind: 'error', code: err.code ?? err.message }));
sock.bind({ port: o.sport, ...(o.src ? { address: o.src } : {}) }, () => {
  sock.connect(o.dport, o.dst, () => {
    out({ kind: 'started' });
    let n = 0;
    setInterval(() => sock.send(`ping ${n++}`, (err) => { if (err) out({ kind: 'error', code: err.code ?? err.message }); }), o.intervalMs ?? 50);
  });
});
process.on('SIGTERM', () => process.exit(0));
