/**
 * Localhost NodePorts in iptables mode (upstream: pkg/proxy/iptables/proxier.go
 * NewProxier): when the IPv4 NodePort addresses include 127.0.0.1, kube-proxy sets
 * `net.ipv4.conf.all.route_localnet=1` so that a packet to 127.0.0.1:NODEPORT may be
 * DNATed to a pod (the KUBE-FIREWALL rule then drops martian 127/8 traffic from
 * outside). Written to /proc/sys of the namespace kpx runs in.
 */
import { writeFile } from 'node:fs/promises';
import { cidrContains, parseCIDR, parseIP } from '../model/index.js';
import { NODEPORT_ALL, NODEPORT_PRIMARY } from '../model/index.js';

export const ROUTE_LOCALNET = '/proc/sys/net/ipv4/conf/all/route_localnet';

/**
 * The --nodeport-addresses values (keywords or CIDRs) reach 127.0.0.1: `all`, an IPv4
 * CIDR holding it, or no IPv4 CIDR at all (that family then takes every local address).
 */
export function localhostNodePorts(values: readonly string[]): boolean {
  if (values.includes(NODEPORT_PRIMARY)) return false;
  if (values.length === 0 || values.includes(NODEPORT_ALL)) return true;
  const loopback = parseIP('127.0.0.1')!;
  const v4 = values.map((v) => parseCIDR(v)).filter((c) => c !== undefined && c.ip.family === 'ipv4');
  return v4.length === 0 || v4.some((c) => cidrContains(c!, loopback));
}

export async function enableRouteLocalnet(write: (path: string, value: string) => Promise<void> = writeFile): Promise<void> {
  await write(ROUTE_LOCALNET, '1');
}
