/**
 * This node's local addresses, as upstream serves NodePorts on them: the addresses of
 * the interfaces of the network namespace kpx runs in (os.networkInterfaces(), read
 * again on every sync — it is cheap). Loopback and IPv6 link-local addresses are left
 * out: nftables mode never serves NodePorts on localhost, and a link-local address is
 * not reachable as a node address. The model filters them by --nodeport-addresses.
 */
import { networkInterfaces } from 'node:os';

type Interfaces = ReturnType<typeof networkInterfaces>;

export function localAddresses(read: () => Interfaces = networkInterfaces): string[] {
  const out = new Set<string>();
  for (const addrs of Object.values(read())) {
    for (const a of addrs ?? []) {
      if (a.internal) continue;
      if (a.family === 'IPv6' && /^fe[89ab]/i.test(a.address)) continue;
      if (a.family === 'IPv4' && a.address.startsWith('127.')) continue;
      out.add(a.address);
    }
  }
  return [...out].sort();
}
