import { describe, expect, it } from '@jest/globals';
import { isCIDR, parseArgs, type RenderArgs } from '../../src/cli/args.js';

function render(argv: string[]): RenderArgs {
  const r = parseArgs(['render', ...argv]);
  if (!r.ok) throw new Error(r.error);
  if (r.value.command !== 'render') throw new Error(`got ${r.value.command}`);
  return r.value.args;
}

function error(argv: string[]): string {
  const r = parseArgs(argv);
  if (r.ok) throw new Error(`expected an error, got ${JSON.stringify(r.value)}`);
  return r.error;
}

describe('parseArgs', () => {
  it('parses the README command', () => {
    expect(render(['--backend', 'nftables', '-f', 'examples/', '--node-name', 'node-a', '--cluster-cidr', '10.244.0.0/16']))
      .toEqual({
        backend: 'nftables', files: ['examples/'], nodeName: 'node-a', clusterCIDRs: ['10.244.0.0/16'],
        nodePortAddresses: [], serviceCIDRs: [], masqueradeAll: false,
      });
  });

  it('accepts --flag=value, repeats, commas and every render option', () => {
    const a = render([
      '--backend=ipvs', '-f=a.yaml', '--filename', 'b/', '-f', '-',
      '--cluster-cidr=10.244.0.0/16,fd00:10:244::/56', '--cluster-cidr', '10.245.0.0/16',
      '--nodeport-addresses', 'primary', '--nodeport-addresses=192.168.0.0/16',
      '--service-cidr', '10.96.0.0/12', '--masquerade-all', '--masquerade-bit=15',
      '--kubeconfig', '/k', '--out', '/tmp/o',
    ]);
    expect(a).toEqual({
      backend: 'ipvs', files: ['a.yaml', 'b/', '-'],
      clusterCIDRs: ['10.244.0.0/16', 'fd00:10:244::/56', '10.245.0.0/16'],
      nodePortAddresses: ['primary', '192.168.0.0/16'], serviceCIDRs: ['10.96.0.0/12'],
      masqueradeAll: true, masqueradeBit: 15, kubeconfig: '/k', out: '/tmp/o',
    });
    expect(render(['--backend', 'iptables', '--masquerade-all=false']).masqueradeAll).toBe(false);
  });

  it('rejects unknown flags, bad values and missing values', () => {
    expect(error(['render', '--backend', 'nftables', '--bogus'])).toBe('unknown flag --bogus');
    expect(error(['render', '--backend', 'nftables', '--bogus=1'])).toBe('unknown flag --bogus');
    expect(error(['render', '--backend', 'bpf'])).toMatch(/--backend must be one of/);
    expect(error(['render', '-f', 'x'])).toMatch(/--backend is required/);
    expect(error(['render', '--backend'])).toBe('--backend needs a value');
    expect(error(['render', '--backend', 'nftables', '-f', '--node-name', 'a'])).toBe('-f needs a value');
    expect(error(['render', '--backend', 'nftables', '--backend', 'iptables'])).toMatch(/more than once/);
    expect(error(['render', '--backend', 'nftables', '--cluster-cidr', '10.244.0.0'])).toMatch(/not a CIDR/);
    expect(error(['render', '--backend', 'nftables', '--service-cidr', '10.0.0.0/33'])).toMatch(/not a CIDR/);
    expect(error(['render', '--backend', 'nftables', '--nodeport-addresses', 'every'])).toMatch(/is not a CIDR, "primary" or "all"/);
    expect(error(['render', '--backend', 'nftables', '--nodeport-addresses', 'fe80::1%eth0/64'])).toMatch(/is not a CIDR/);
    expect(error(['render', '--backend', 'nftables', '--masquerade-bit', '32'])).toMatch(/0\.\.31/);
    expect(error(['render', '--backend', 'nftables', '--masquerade-bit=x'])).toMatch(/0\.\.31/);
    expect(error(['render', '--backend', 'nftables', '--masquerade-all=yes'])).toMatch(/--masquerade-all/);
    expect(error(['render', '--backend', 'nftables', 'extra'])).toBe('unexpected argument "extra"');
    expect(error(['frobnicate'])).toBe('unknown command "frobnicate"');
    expect(error(['--bogus'])).toBe('unknown flag --bogus');
  });

  it('errors of render name their topic so main can point at render --help', () => {
    const r = parseArgs(['render', '--nope']);
    expect(r).toEqual({ ok: false, error: 'unknown flag --nope', topic: 'render' });
  });

  it('recognises help in every position', () => {
    expect(parseArgs(['--help'])).toEqual({ ok: true, value: { command: 'help' } });
    expect(parseArgs(['-h'])).toEqual({ ok: true, value: { command: 'help' } });
    expect(parseArgs(['help'])).toEqual({ ok: true, value: { command: 'help' } });
    expect(parseArgs(['help', 'render'])).toEqual({ ok: true, value: { command: 'help', topic: 'render' } });
    expect(parseArgs(['render', '--help'])).toEqual({ ok: true, value: { command: 'help', topic: 'render' } });
    // --help wins over other errors, such as a missing --backend.
    expect(parseArgs(['render', '-f', 'x', '-h'])).toEqual({ ok: true, value: { command: 'help', topic: 'render' } });
  });

  it('passes the other commands through', () => {
    expect(parseArgs(['diff', '-f', 'x'])).toEqual({ ok: true, value: { command: 'diff', argv: ['-f', 'x'] } });
    expect(parseArgs(['cleanup'])).toEqual({ ok: true, value: { command: 'cleanup', argv: [] } });
  });
});

describe('isCIDR', () => {
  it.each([
    ['10.0.0.0/8', true], ['0.0.0.0/0', true], ['1.2.3.4/32', true], ['fd00::/64', true], ['::/0', true],
    ['1.2.3.4', false], ['1.2.3.4/33', false], ['fd00::/129', false], ['x/8', false], ['1.2.3.4/', false], ['1.2.3.4/-1', false],
  ])('%s → %s', (s, ok) => {
    expect(isCIDR(s)).toBe(ok);
  });
});

describe('--ipvs-scheduler', () => {
  it('takes kube-proxy\'s scheduler names and nothing else', () => {
    expect(render(['--backend', 'ipvs', '--ipvs-scheduler', 'sh']).ipvsScheduler).toBe('sh');
    expect(render(['--backend', 'ipvs']).ipvsScheduler).toBeUndefined();
    expect(error(['render', '--backend', 'ipvs', '--ipvs-scheduler', 'fastest'])).toMatch(/--ipvs-scheduler must be one of rr, wrr/);
  });
});
