/**
 * Foreign iptables state that kpx's output, cleanup and diff must leave alone: a CNI
 * plugin's hostport and masquerade rules, an administrator's chain, rule and DROP policy
 * (safe-load.test.ts, cleanup.test.ts). Each entry is one `iptables`/`ip6tables` argument list.
 */
export type ForeignRules = Readonly<Record<'ipv4' | 'ipv6', readonly (readonly string[])[]>>;

export const FOREIGN: ForeignRules = {
  ipv4: [
    ['-t', 'filter', '-P', 'FORWARD', 'DROP'],
    ['-t', 'filter', '-A', 'INPUT', '-s', '192.0.2.1/32', '-p', 'tcp', '--dport', '22', '-j', 'ACCEPT'],
    ['-t', 'filter', '-N', 'ADMIN-FORWARD'],
    ['-t', 'filter', '-A', 'ADMIN-FORWARD', '-s', '198.51.100.0/24', '-j', 'ACCEPT'],
    ['-t', 'filter', '-A', 'FORWARD', '-j', 'ADMIN-FORWARD'],
    ['-t', 'nat', '-N', 'CNI-HOSTPORT'],
    ['-t', 'nat', '-A', 'CNI-HOSTPORT', '-p', 'tcp', '--dport', '8081', '-j', 'DNAT', '--to-destination', '10.88.0.5:80'],
    ['-t', 'nat', '-A', 'PREROUTING', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'CNI-HOSTPORT'],
    ['-t', 'nat', '-A', 'OUTPUT', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'CNI-HOSTPORT'],
    ['-t', 'nat', '-A', 'POSTROUTING', '-s', '10.88.0.0/16', '!', '-d', '10.88.0.0/16', '-j', 'MASQUERADE'],
  ],
  ipv6: [
    ['-t', 'filter', '-P', 'FORWARD', 'DROP'],
    ['-t', 'filter', '-A', 'INPUT', '-s', '2001:db8::1/128', '-p', 'tcp', '--dport', '22', '-j', 'ACCEPT'],
    ['-t', 'nat', '-N', 'CNI-HOSTPORT'],
    ['-t', 'nat', '-A', 'CNI-HOSTPORT', '-p', 'tcp', '--dport', '8081', '-j', 'DNAT', '--to-destination', '[fd00:88::5]:80'],
    ['-t', 'nat', '-A', 'PREROUTING', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'CNI-HOSTPORT'],
    ['-t', 'nat', '-A', 'OUTPUT', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'CNI-HOSTPORT'],
  ],
};

/** kubelet's own KUBE-* chains (IPv4), as kubelet writes them: not kube-proxy's, never cleaned up. */
export const KUBELET_IPV4: readonly (readonly string[])[] = [
  ['-t', 'filter', '-N', 'KUBE-FIREWALL'],
  // kubelet's KUBE-FIREWALL, as kubelet writes it (kube-proxy ensures the same chain and jumps).
  ['-t', 'filter', '-A', 'KUBE-FIREWALL', '!', '-s', '127.0.0.0/8', '-d', '127.0.0.0/8', '-m', 'comment', '--comment', 'block incoming localnet connections',
    '-m', 'conntrack', '!', '--ctstate', 'RELATED,ESTABLISHED,DNAT', '-j', 'DROP'],
  ['-t', 'filter', '-A', 'INPUT', '-j', 'KUBE-FIREWALL'],
  ['-t', 'filter', '-A', 'OUTPUT', '-j', 'KUBE-FIREWALL'],
  ['-t', 'nat', '-N', 'KUBE-MARK-DROP'],
  ['-t', 'nat', '-A', 'KUBE-MARK-DROP', '-j', 'MARK', '--set-xmark', '0x8000/0x8000'],
  ['-t', 'mangle', '-N', 'KUBE-KUBELET-CANARY'],
  ['-t', 'mangle', '-N', 'KUBE-IPTABLES-HINT'],
];
