// Probe client for the kernel harness, run inside a namespace with `ip netns exec`.
// stdin: JSON { "groups": [{ "id": "...", "concurrency": 40, "probes": [
//   { "proto": "tcp"|"udp", "dst": "10.96.1.10", "dport": 80, "src"?: "10.200.0.2", "timeoutMs": 1500 }] }] }
// stdout: JSON { "<group id>": [result, ...] } with result one of
//   { "kind": "answer", "endpoint": "10.244.1.2:8080", "peerSeen": "10.244.1.100" }
//   { "kind": "refused" }        TCP RST / ICMP port unreachable (ECONNREFUSED)
//   { "kind": "timeout" }        nothing came back in time
//   { "kind": "error", "code": "EHOSTUNREACH" }  any other error
// Groups run concurrently; probes inside a group run with the group's concurrency
// (1 = strictly one after another, e.g. for session affinity).
import net from 'node:net';
import dgram from 'node:dgram';

function parseAnswer(text) {
  const [endpoint, peerSeen] = text.trim().split(/\s+/);
  if (!endpoint || !peerSeen) return { kind: 'error', code: `BADANSWER ${JSON.stringify(text)}` };
  return { kind: 'answer', endpoint, peerSeen };
}

function errorResult(err) {
  return err.code === 'ECONNREFUSED' ? { kind: 'refused' } : { kind: 'error', code: err.code ?? err.message };
}

function tcpProbe({ dst, dport, src, timeoutMs }) {
  return new Promise((resolve) => {
    let data = '';
    let done = false;
    const finish = (r) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const opts = { host: dst, port: dport };
    if (src) opts.localAddress = src;
    const sock = net.connect(opts);
    const timer = setTimeout(() => finish({ kind: 'timeout', connected: sock.readyState === 'open' }), timeoutMs);
    sock.setEncoding('utf8');
    sock.on('data', (d) => { data += d; });
    sock.on('end', () => finish(parseAnswer(data)));
    sock.on('error', (err) => finish(errorResult(err)));
  });
}

function udpProbe({ dst, dport, src, timeoutMs }) {
  return new Promise((resolve) => {
    const sock = dgram.createSocket(dst.includes(':') ? 'udp6' : 'udp4');
    let done = false;
    const finish = (r) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try { sock.close(); } catch { /* already closed */ }
      resolve(r);
    };
    const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
    sock.on('message', (msg) => finish(parseAnswer(msg.toString('utf8'))));
    sock.on('error', (err) => finish(errorResult(err)));
    const go = () => sock.connect(dport, dst, (err) => {
      if (err) return finish(errorResult(err));
      sock.send('probe', (e) => { if (e) finish(errorResult(e)); });
    });
    if (src) sock.bind({ address: src, port: 0 }, go);
    else go();
  });
}

async function runGroup({ concurrency, probes }) {
  const results = new Array(probes.length);
  let next = 0;
  const worker = async () => {
    while (next < probes.length) {
      const i = next++;
      const p = probes[i];
      results[i] = await (p.proto === 'udp' ? udpProbe(p) : tcpProbe(p));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, probes.length)) }, worker));
  return results;
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', async () => {
  const { groups } = JSON.parse(input);
  const out = {};
  await Promise.all(groups.map(async (g) => { out[g.id] = await runGroup(g); }));
  process.stdout.write(JSON.stringify(out));
});
