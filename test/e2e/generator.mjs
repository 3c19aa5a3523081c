// Continuous traffic generator for the e2e tests, run inside a namespace with `ip netns exec`.
// stdin, first line: JSON { "streams": [{ "id": "svc", "proto": "tcp"|"udp", "dst": "10.96.100.10",
//   "dport": 80, "intervalMs": 20, "timeoutMs": 1000 }], "maxDurationMs": 120000, "maxCount": 6000 }
// Every stream starts one request every intervalMs (they overlap when one is slow), each a
// new TCP connection or a new UDP socket, and stops after maxDurationMs or maxCount
// requests, or when stdin says "stop" (or closes). Then in-flight requests finish.
// stdout, one JSON line per finished request:
//   { "id", "seq", "t0", "t1", "kind": "ok"|"refused"|"timeout"|"error", "endpoint"?, "peer"?, "code"? }
// t0/t1 are epoch milliseconds (fractional) when the request started and finished;
// "endpoint" is the ip:port the echo server says was reached, "peer" the client address it saw.
// The first line is { "started": true } (sending has begun); a last line
// { "done": true, "sent": N } follows once everything has finished.
import net from 'node:net';
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';

const now = () => performance.timeOrigin + performance.now();

function parseAnswer(text) {
  const [endpoint, peer] = text.trim().split(/\s+/);
  return endpoint && peer ? { kind: 'ok', endpoint, peer } : { kind: 'error', code: `BADANSWER ${JSON.stringify(text)}` };
}

const failure = (err) => (err.code === 'ECONNREFUSED' ? { kind: 'refused' } : { kind: 'error', code: err.code ?? err.message });

function tcp({ dst, dport, timeoutMs }) {
  return new Promise((resolve) => {
    let data = '';
    let done = false;
    const sock = net.connect({ host: dst, port: dport });
    const finish = (r) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
    sock.setEncoding('utf8');
    sock.on('data', (d) => { data += d; });
    sock.on('end', () => finish(parseAnswer(data)));
    sock.on('error', (err) => finish(failure(err)));
  });
}

function udp({ dst, dport, timeoutMs }) {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    let done = false;
    const finish = (r) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try { sock.close(); } catch { /* closed */ }
      resolve(r);
    };
    const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
    sock.on('message', (msg) => finish(parseAnswer(msg.toString('utf8'))));
    sock.on('error', (err) => finish(failure(err)));
    sock.connect(dport, dst, (err) => {
      if (done) return;
      if (err) return finish(failure(err));
      sock.send('probe', (e) => { if (e) finish(failure(e)); });
    });
  });
}

let config = '';
let started = false;
let stopping = false;
let sent = 0;
const inflight = new Set();
const timers = [];

function stop() {
  if (stopping) return;
  stopping = true;
  for (const t of timers) clearInterval(t);
  Promise.all([...inflight]).then(() => {
    process.stdout.write(`${JSON.stringify({ done: true, sent })}\n`, () => process.exit(0));
  });
}

function start({ streams, maxDurationMs, maxCount }) {
  for (const s of streams) {
    let seq = 0;
    const fire = () => {
      if (stopping) return;
      if (sent >= maxCount) { stop(); return; }
      sent++;
      const mySeq = seq++;
      const t0 = now();
      const p = (s.proto === 'udp' ? udp(s) : tcp(s)).then((r) => {
        process.stdout.write(`${JSON.stringify({ id: s.id, seq: mySeq, t0, t1: now(), ...r })}\n`);
      });
      inflight.add(p);
      p.finally(() => inflight.delete(p));
    };
    timers.push(setInterval(fire, s.intervalMs));
    fire();
  }
  setTimeout(stop, maxDurationMs).unref();
  process.stdout.write(`${JSON.stringify({ started: true })}\n`);
}

process.on('uncaughtException', (err) => {
  process.stderr.write(`generator: ${err.stack ?? err}\n`);
});
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  config += d;
  const nl = config.indexOf('\n');
  if (!started && nl >= 0) {
    started = true;
    start(JSON.parse(config.slice(0, nl)));
    config = config.slice(nl + 1);
  }
  if (started && /stop/.test(config)) stop();
});
process.stdin.on('end', stop);
process.on('SIGTERM', stop);
