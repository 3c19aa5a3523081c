import { parseGoDuration, parseRunArgs, type RunArgs } from '../../src/cli/run-args.js';
import { nodeNameFor } from '../../src/cli/run.js';

function ok(argv: string[]): RunArgs {
  const r = parseRunArgs(argv);
  if (!r.ok) throw new Error(r.error);
  return r.args;
}

function err(argv: string[]): string {
  const r = parseRunArgs(argv);
  if (r.ok) throw new Error(`accepted ${argv.join(' ')}`);
  return r.error;
}

test("kube-proxy's defaults", () => {
  const a = ok([]);
  expect(a.proxyMode).toBe('nftables');
  expect(a.syncPeriodMs).toBe(30_000);
  expect(a.minSyncPeriodMs).toBe(1_000);
  expect(a.healthz).toEqual({ host: '0.0.0.0', port: 10256 });
  expect(a.metrics).toEqual({ host: '127.0.0.1', port: 10249 });
  expect(a.masqueradeBit).toBe(14);
  expect(a.conntrack).toEqual({ maxPerCore: 32768, min: 131072, tcpEstablishedTimeout: 86400, tcpCloseWaitTimeout: 3600 });
  expect(a.nodePortAddresses).toEqual([]);
});

test('both --flag=value and --flag value; comma lists; booleans', () => {
  const a = ok(['--kubeconfig', 'k', '--hostname-override=Node-A', '--proxy-mode', 'nftables',
    '--cluster-cidr', '10.244.0.0/16,fd00:10:244::/56', '--nodeport-addresses=primary,10.0.0.0/8',
    '--masquerade-all', '--masquerade-bit=13', '-v', '4', '--healthz-bind-address', '127.0.0.1:0', '--metrics-bind-address=']);
  expect(a.kubeconfig).toBe('k');
  expect(a.hostnameOverride).toBe('Node-A');
  expect(a.clusterCIDRs).toEqual(['10.244.0.0/16', 'fd00:10:244::/56']);
  expect(a.nodePortAddresses).toEqual(['primary', '10.0.0.0/8']);
  expect(a.masqueradeAll).toBe(true);
  expect(a.masqueradeBit).toBe(13);
  expect(a.verbosity).toBe(4);
  expect(a.healthz).toEqual({ host: '127.0.0.1', port: 0 });
  expect(a.metrics).toBeUndefined();
  expect(ok(['--v=2', '--masquerade-all=false']).masqueradeAll).toBe(false);
  expect(ok(['--healthz-bind-address', '[::1]:9']).healthz).toEqual({ host: '::1', port: 9 });
  expect(ok(['--healthz-bind-address', '10.0.0.1']).healthz).toEqual({ host: '10.0.0.1', port: 10256 });
});

test('sync periods: the mode pair, then --sync-period/--min-sync-period win', () => {
  expect(ok(['--iptables-sync-period', '1m0s', '--iptables-min-sync-period=500ms'])).toMatchObject({ syncPeriodMs: 60_000, minSyncPeriodMs: 500 });
  // ipvs flags do not apply to nftables mode
  expect(ok(['--ipvs-min-sync-period', '5s'])).toMatchObject({ minSyncPeriodMs: 1_000 });
  expect(ok(['--iptables-min-sync-period', '5s', '--min-sync-period', '0'])).toMatchObject({ minSyncPeriodMs: 0 });
  expect(err(['--min-sync-period', '1m', '--sync-period', '30s'])).toMatch(/must not exceed/);
});

test('conntrack flags: 0 leaves alone; durations to seconds', () => {
  expect(ok(['--conntrack-max-per-core=0', '--conntrack-tcp-timeout-established', '0', '--conntrack-tcp-timeout-close-wait=1h0m0s']).conntrack)
    .toEqual({ maxPerCore: 0, min: 131072, tcpEstablishedTimeout: 0, tcpCloseWaitTimeout: 3600 });
});

test('ipvs flags: scheduler, strict ARP, exclude CIDRs, timeouts in seconds', () => {
  expect(ok([]).ipvs).toEqual({ scheduler: 'rr', strictARP: false, excludeCIDRs: [], timeouts: { tcp: 0, tcpfin: 0, udp: 0 } });
  expect(ok(['--proxy-mode=ipvs', '--ipvs-scheduler', 'mh', '--ipvs-strict-arp', '--ipvs-exclude-cidrs', '10.1.0.0/16,fd00::/64',
    '--ipvs-tcp-timeout', '15m0s', '--ipvs-tcpfin-timeout=30s', '--ipvs-udp-timeout', '500ms']).ipvs).toEqual({
    scheduler: 'mh', strictARP: true, excludeCIDRs: ['10.1.0.0/16', 'fd00::/64'], timeouts: { tcp: 900, tcpfin: 30, udp: 0 },
  });
  expect(ok(['--ipvs-scheduler=']).ipvs.scheduler).toBe('rr');
  expect(err(['--ipvs-scheduler', 'fifo'])).toMatch(/--ipvs-scheduler must be one of rr, /);
  expect(err(['--ipvs-exclude-cidrs', '10.1.0.1'])).toMatch(/--ipvs-exclude-cidrs: "10.1.0.1" is not a CIDR/);
  expect(err(['--ipvs-udp-timeout', '5'])).toMatch(/--ipvs-udp-timeout/);
});

test('errors name the flag', () => {
  expect(err(['--proxy-mode', 'userspace'])).toMatch(/--proxy-mode must be one of nftables, iptables, ipvs/);
  expect(err(['--cluster-cidr', '10.0.0.0'])).toMatch(/--cluster-cidr: "10.0.0.0" is not a CIDR/);
  expect(err(['--nodeport-addresses', 'eth0'])).toMatch(/--nodeport-addresses/);
  expect(err(['--sync-period', '30'])).toMatch(/--sync-period: "30" is not a duration/);
  expect(err(['--masquerade-bit', '32'])).toMatch(/0..31/);
  expect(err(['--bogus'])).toBe('unknown flag --bogus');
  expect(err(['--kubeconfig'])).toBe('--kubeconfig needs a value');
  expect(err(['--healthz-bind-address', 'nohost:1'])).toMatch(/--healthz-bind-address/);
});

test('Go durations', () => {
  expect(parseGoDuration('1m0s')).toBe(60_000);
  expect(parseGoDuration('1h2m3.5s')).toBe(3_723_500);
  expect(parseGoDuration('250ms')).toBe(250);
  expect(parseGoDuration('0')).toBe(0);
  expect(parseGoDuration('1')).toBeUndefined();
  expect(parseGoDuration('-1s')).toBeUndefined();
});

test('node name: --hostname-override, else $NODE_NAME, else the host name; lower-cased', () => {
  expect(nodeNameFor(ok(['--hostname-override', 'Node-X']), { NODE_NAME: 'y' }, () => 'h')).toBe('node-x');
  expect(nodeNameFor(ok([]), { NODE_NAME: 'Node-Y' }, () => 'h')).toBe('node-y');
  expect(nodeNameFor(ok([]), {}, () => 'Host-Z')).toBe('host-z');
});

test('--iptables-flavour: auto by default, nft or legacy; anything else is a usage error', () => {
  expect(ok([]).iptablesFlavour).toBe('auto');
  expect(ok(['--proxy-mode', 'iptables', '--iptables-flavour', 'legacy']).iptablesFlavour).toBe('legacy');
  expect(ok(['--iptables-flavour=nft']).iptablesFlavour).toBe('nft');
  expect(err(['--iptables-flavour', 'xtables'])).toBe('--iptables-flavour must be one of auto, nft, legacy, got "xtables"');
});

test('--cleanup (kube-proxy CleanupAndExit): set only when given', () => {
  expect(ok(['--cleanup']).cleanup).toBe(true);
  expect(ok(['--cleanup=false']).cleanup).toBeUndefined();
  expect(ok([]).cleanup).toBeUndefined();
});
