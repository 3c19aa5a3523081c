/**
 * Loads rendered scripts into a real kernel, inside a private network namespace (never
 * the machine's own). Never skipped: without root, `ip` or `nft` every test fails with
 * the reason (apt-get install -y iproute2 nftables; run as root).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { renderNftables, toNftCleanupScript, toNftScript } from '../../../src/render/nftables/index.js';
import type { ServicePort } from '../../../src/model/types.js';
import { ep, richState, sp, state } from './fixtures.js';

function run(cmd: string, args: readonly string[], input?: string): { code: number; out: string; err: string } {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return { code: r.status ?? -1, out: r.stdout ?? '', err: r.stderr ?? String(r.error ?? '') };
}

/** Why this suite cannot run here, or undefined when it can. */
function missingPrerequisite(): string | undefined {
  if (process.getuid?.() !== 0) return 'must run as root (it creates a network namespace)';
  if (run('ip', ['-V']).code !== 0) return '`ip` (iproute2) is missing: apt-get install -y iproute2';
  if (run('nft', ['--version']).code !== 0) return '`nft` is missing: apt-get install -y nftables';
  return undefined;
}

describe('nftables scripts in a real kernel (private netns)', () => {
  const ns = `kpx-nft-${randomBytes(4).toString('hex')}`;
  /** nft inside the namespace only. */
  const nft = (args: readonly string[], input?: string) => run('ip', ['netns', 'exec', ns, 'nft', ...args], input);
  const load = (script: string): void => {
    const check = nft(['-c', '-f', '-'], script);
    expect(check.err).toBe('');
    expect(check.code).toBe(0);
    const apply = nft(['-f', '-'], script);
    expect(apply.err).toBe('');
    expect(apply.code).toBe(0);
  };

  beforeAll(() => {
    const missing = missingPrerequisite();
    if (missing !== undefined) throw new Error(`kernel-load tests cannot run: ${missing}`);
    const r = run('ip', ['netns', 'add', ns]);
    if (r.code !== 0) throw new Error(`ip netns add ${ns}: ${r.err}`);
  });
  afterAll(() => {
    run('ip', ['netns', 'delete', ns]);
  });

  it('checks and loads the rich dual-stack ruleset, twice (atomic replace of an existing table)', () => {
    const script = toNftScript(renderNftables(richState()));
    load(script);
    load(script);
    const listed = nft(['list', 'tables']);
    expect(listed.out).toBe('table ip kube-proxy\ntable ip6 kube-proxy\n');
    const eps = nft(['list', 'map', 'ip', 'kube-proxy', 'eps-3']);
    expect(eps.out).toContain('172.30.0.1 . tcp . 80 . 2 comment "ns1/plain:p80" : 10.1.1.3 . 8080');
    const v6 = nft(['list', 'chain', 'ip6', 'kube-proxy', 'lb-2']);
    expect(v6.code).toBe(0);
  });

  it('keeps declared sets open for incremental element changes', () => {
    const add = nft(['-f', '-'], 'add element ip kube-proxy cluster-ips { 172.30.9.9 comment "ns/x" }\n');
    expect(add.err).toBe('');
    expect(nft(['list', 'set', 'ip', 'kube-proxy', 'cluster-ips']).out).toContain('172.30.9.9');
  });

  it('DNATs real connections: load balancing, NodePort, affinity, reject', () => {
    // veth pair inside the namespace: the node is 10.1.0.1, services route out of v0.
    for (const args of [
      ['link', 'set', 'lo', 'up'], ['link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1'], ['link', 'set', 'v0', 'up'],
      ['link', 'set', 'v1', 'up'], ['addr', 'add', '10.1.0.1/24', 'dev', 'v0'], ['route', 'add', '172.30.0.0/16', 'dev', 'v0'],
    ]) expect(run('ip', ['netns', 'exec', ns, 'ip', ...args]).err).toBe('');
    const eps = [ep('10.1.0.1', 8080, true), ep('10.1.0.1', 8081, true)];
    load(toNftScript(renderNftables(state({ nodeIPs: ['10.1.0.1'], nodePortAddresses: ['10.1.0.1/32'], services: [
      sp({ namespace: 'ns', name: 'a', clusterIP: '172.30.0.1', port: 80, nodePort: 30080, allEndpoints: eps }),
      sp({ namespace: 'ns', name: 'b', clusterIP: '172.30.0.2', port: 80, affinityTimeoutSeconds: 100, allEndpoints: eps }),
      sp({ namespace: 'ns', name: 'c', clusterIP: '172.30.0.3', port: 80 }),
    ] }))));
    // Servers answer with their port; the client counts answers per frontend.
    const program = `
      const net = require('node:net');
      for (const p of [8080, 8081]) net.createServer((c) => c.end(String(p))).listen(p, '10.1.0.1');
      const hit = (host, port) => new Promise((done) => {
        const s = net.connect({ host, port, timeout: 2000 }); let d = '';
        s.on('data', (b) => (d += b)); s.on('end', () => done(d));
        s.on('error', (e) => done(e.code)); s.on('timeout', () => { s.destroy(); done('timeout'); });
      });
      const count = async (host, port, n) => { const r = {}; for (let i = 0; i < n; i++) { const k = await hit(host, port); r[k] = (r[k] ?? 0) + 1; } return r; };
      setTimeout(async () => {
        const out = { cluster: await count('172.30.0.1', 80, 40), nodePort: await count('10.1.0.1', 30080, 40),
          affinity: await count('172.30.0.2', 80, 20), none: await hit('172.30.0.3', 80) };
        console.log(JSON.stringify(out)); process.exit(0);
      }, 200);`;
    const r = run('ip', ['netns', 'exec', ns, process.execPath, '-e', program]);
    expect(r.err).toBe('');
    const out = JSON.parse(r.out) as Record<string, Record<string, number> | string>;
    expect(Object.keys(out.cluster as object).sort()).toEqual(['8080', '8081']);
    expect(Object.keys(out.nodePort as object).sort()).toEqual(['8080', '8081']);
    expect(Object.values(out.affinity as object)).toEqual([20]);
    expect(out.none).toBe('ECONNREFUSED');
  });

  it('replaces a bigger ruleset with a smaller one and cleans up', () => {
    const services: ServicePort[] = Array.from({ length: 500 }, (_, i) =>
      sp({
        namespace: 'ns', name: `svc${i}`, clusterIP: `172.30.${i >> 8}.${i & 255}`, port: 80, nodePort: 30000 + i,
        allEndpoints: Array.from({ length: (i % 5) + 1 }, (_, k) => ep(`10.${k}.${i >> 8}.${i & 255}`, 8080)),
      }),
    );
    load(toNftScript(renderNftables(state({ nodeIPs: ['192.168.1.10'], nodePortAddresses: ['192.168.1.10/32'], services }))));
    expect(nft(['list', 'chain', 'ip', 'kube-proxy', 'lb-5']).code).toBe(0);
    load(toNftScript(renderNftables(state())));
    expect(nft(['list', 'chain', 'ip', 'kube-proxy', 'lb-5']).code).not.toBe(0);
    load(toNftCleanupScript());
    expect(nft(['list', 'tables']).out).toBe('');
    load(toNftCleanupScript()); // idempotent: nothing to delete is not an error
  });
});
