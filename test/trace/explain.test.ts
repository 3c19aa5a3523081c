/** `kpx explain` end to end through main() with injected streams (the CLI contract in DESIGN.md). */
import { describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { parseArgs } from '../../src/cli/args.js';
import { main } from '../../src/cli/main.js';
import { ROOT, SCENARIOS } from '../helpers/scenarios.js';

const EXAMPLE = ['-f', join(ROOT, 'examples'), '--node-name', 'node-a', '--cluster-cidr', '10.244.0.0/16'];

async function kpx(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: (t) => { out += t; }, stderr: (t) => { err += t; } });
  return { code, out, err };
}

describe('kpx explain', () => {
  it('explains a NodePort with externalTrafficPolicy Local from outside: the local endpoint, client IP kept', async () => {
    const r = await kpx(['explain', ...EXAMPLE, '--src', '203.0.113.7', '--dst', '10.100.0.10', '--dport', '30080']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('arriving from outside (prerouting hooks); backend nftables');
    expect(r.out).toMatch(/100%\s+dnat to 10\.244\.1\.10:8080, client IP kept/);
    expect(r.out).toContain('np-external-local');
  });

  it('prints exactly the contract\'s JSON', async () => {
    const r = await kpx(['explain', ...EXAMPLE, '--backend', 'iptables', '--src', '10.244.1.50', '--dst', '10.96.10.1', '--dport', '80', '--output', 'json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { outcomes: Record<string, unknown>[]; path: unknown[] };
    expect(Object.keys(j).sort()).toEqual(['outcomes', 'path']);
    expect(j.outcomes.map((o) => Object.keys(o))).toEqual(j.outcomes.map(() => ['verdict', 'endpoint', 'probability', 'masquerade']));
    expect(j.outcomes.map((o) => o['endpoint'])).toEqual(['10.244.1.10:8080', '10.244.2.10:8080', '10.244.2.11:8080']);
    expect(j.outcomes.reduce((s, o) => s + (o['probability'] as number), 0)).toBeCloseTo(1, 9);
    expect(j.outcomes.every((o) => o['masquerade'] === false)).toBe(true);
    expect(j.path.length).toBeGreaterThan(0);
  });

  it('rejects a Service without endpoints; reject outcomes carry no endpoint', async () => {
    const r = await kpx(['explain', ...EXAMPLE, '--src', '10.244.1.50', '--dst', '10.96.10.5', '--dport', '9000', '--output', 'json']);
    expect(JSON.parse(r.out).outcomes).toEqual([{ verdict: 'reject', probability: 1, masquerade: false }]);
  });

  it('traces a source that is a node IP as locally generated (output hooks)', async () => {
    const r = await kpx(['explain', ...EXAMPLE, '--src', '10.100.0.10', '--dst', '10.96.10.1', '--dport', '80']);
    expect(r.out).toContain('generated on the node (output hooks)');
    expect(r.out).toContain('output hook: ip kube-proxy nat-output');
    expect(r.out).not.toContain('prerouting hook');
    expect(r.out).toMatch(/33\.33%\s+dnat to 10\.244\.2\.10:8080, masqueraded/);
  });

  it('says "none" for a packet that is not a Service packet, and prints IPv6 endpoints as [ip]:port', async () => {
    const none = await kpx(['explain', ...EXAMPLE, '--src', '10.244.1.50', '--dst', '8.8.8.8', '--dport', '53', '--proto', 'udp', '--output', 'json']);
    expect(JSON.parse(none.out).outcomes).toEqual([{ verdict: 'none', probability: 1, masquerade: false }]);
    const v6 = await kpx(['explain', '-f', join(SCENARIOS, 'dual-stack', 'cluster.yaml'), '--node-name', 'node-a',
      '--src', 'fd00:10:244:1::100', '--dst', 'fd00:10:96::c20', '--dport', '80', '--output', 'json']);
    expect(JSON.parse(v6.out).outcomes.map((o: { endpoint: string }) => o.endpoint)).toEqual(['[fd00:10:244:1::3]:8080', '[fd00:10:244:2::3]:8080']);
  });

  describe('--backend ipvs', () => {
    const IPVS = [...EXAMPLE, '--backend', 'ipvs'];

    it('NodePort Local from outside: IPVS at LOCAL_IN picks the local endpoint, client IP kept', async () => {
      const r = await kpx(['explain', ...IPVS, '--src', '203.0.113.7', '--dst', '10.100.0.10', '--dport', '30080']);
      expect(r.code).toBe(0);
      expect(r.out).toContain('backend ipvs');
      expect(r.out).toMatch(/100%\s+dnat to 10\.244\.1\.10:8080, client IP kept/);
      expect(r.out).toContain('input hook: IPVS ip_vs_remote_request (LOCAL_IN)');
      expect(r.out).toContain('KUBE-NODE-PORT-LOCAL-TCP');
    });

    it('a virtual server without real servers is rejected (IPVS answers port unreachable)', async () => {
      const r = await kpx(['explain', ...IPVS, '--src', '10.244.1.50', '--dst', '10.96.10.5', '--dport', '9000', '--output', 'json']);
      expect(JSON.parse(r.out).outcomes).toEqual([{ verdict: 'reject', probability: 1, masquerade: false }]);
    });

    it('a source bound on kube-ipvs0 is the node\'s own: traced at LOCAL_OUT, masqueraded', async () => {
      const r = await kpx(['explain', ...IPVS, '--src', '10.96.10.1', '--dst', '10.96.10.1', '--dport', '80']);
      expect(r.out).toContain('generated on the node (output hooks)');
      expect(r.out).toContain('output hook: IPVS ip_vs_local_request (LOCAL_OUT)');
      expect(r.out).toMatch(/33\.33%\s+dnat to 10\.244\.2\.10:8080, masqueraded/);
    });

    it('an unserved port of a kube-ipvs0 address is rejected by KUBE-IPVS-FILTER', async () => {
      const r = await kpx(['explain', ...IPVS, '--src', '10.244.1.50', '--dst', '10.96.10.1', '--dport', '81']);
      expect(r.out).toMatch(/100%\s+reject/);
      expect(r.out).toContain('-m set --match-set KUBE-IPVS-IPS dst -j REJECT');
    });
  });

  it.each([
    [['--dst', '10.96.10.1', '--dport', '80'], '--src, --dst and --dport are required'],
    [['--src', '10.0.0.1', '--dst', 'fd00::1', '--dport', '80'], 'different IP families'],
    [['--src', '10.0.0.1', '--dst', '10.96.10.1', '--dport', '0'], '--dport must be 1..65535'],
    [['--src', '10.0.0.1', '--dst', '10.96.10.1', '--dport', '80', '--proto', 'icmp'], '--proto must be one of'],
    [['--src', '10.0.0.1', '--dst', '10.96.10.1', '--dport', '80', '--output', 'yaml'], '--output must be text or json'],
    [['--src', '10.0.0.1', '--dst', '10.96.10.1', '--dport', '80', '--out', 'x'], 'unknown flag --out'],
  ])('usage error for %j', async (extra, message) => {
    const r = await kpx(['explain', ...EXAMPLE, ...extra]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
  });

  it('parses every render option plus the packet; --backend defaults to nftables', () => {
    const r = parseArgs(['explain', '-f', 'x.yaml', '--masquerade-all', '--service-cidr', '10.96.0.0/16', '--src', '1.2.3.4', '--dst', '10.96.0.1', '--dport', '443']);
    expect(r).toEqual({
      ok: true,
      value: {
        command: 'explain',
        args: {
          backend: 'nftables', files: ['x.yaml'], clusterCIDRs: [], nodePortAddresses: [], serviceCIDRs: ['10.96.0.0/16'],
          masqueradeAll: true, src: '1.2.3.4', dst: '10.96.0.1', dport: 443, proto: 'tcp', output: 'text',
        },
      },
    });
    expect(parseArgs(['explain', '--help'])).toEqual({ ok: true, value: { command: 'help', topic: 'explain' } });
  });
});

describe('kpx render / explain --ipvs-scheduler', () => {
  it('sets the scheduler of every virtual server; explain says plainly that it cannot predict a hashing scheduler', async () => {
    const r = await kpx(['render', '--backend', 'ipvs', ...EXAMPLE, '--ipvs-scheduler', 'sh']);
    expect(r.code).toBe(0);
    const services = r.out.split('\n').filter((l) => /^-A (-t|-u|--sctp-service) /.test(l));
    expect(services.length).toBeGreaterThan(0);
    expect(services.every((l) => / -s sh( |$)/.test(l))).toBe(true);
    const e = await kpx(['explain', '--backend', 'ipvs', ...EXAMPLE, '--src', '10.244.1.50', '--dst', '10.96.10.1', '--dport', '80', '--ipvs-scheduler', 'sh']);
    expect(e).toMatchObject({ code: 1, out: '' });
    expect(e.err).toMatch(/^kpx: cannot explain this ruleset: .*scheduler sh/);
  });
});
