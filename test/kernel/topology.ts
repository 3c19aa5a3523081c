/**
 * The one address plan every scenario manifest and every packet-flow case uses.
 *
 * Pure constants: the kernel harness builds namespaces from it, and a tracer-based test
 * can import it to turn a flow case's `from` into a source address without any I/O.
 * See test/kernel/README.md for the diagram.
 */

export type Family = 'ipv4' | 'ipv6';

/** Who sends a probe. `pod:<ipv4>` is the local pod with that IPv4 address (hairpin cases). */
export type From = 'external' | 'external-other' | 'pod' | 'node' | `pod:${string}`;

export const NODE_NAME = 'node-a';
export const REMOTE_NODE_NAME = 'node-b';
export const NODE_ZONE = 'zone-a';
export const REMOTE_ZONE = 'zone-b';

export const PLAN = {
  /** The node's InternalIP (also on its link to the remote node). */
  nodeIP: { ipv4: '10.100.0.10', ipv6: 'fd00:10:100::10' },
  /** The other node, at the far end of the node's "LAN" veth. */
  remoteNodeIP: { ipv4: '10.100.0.11', ipv6: 'fd00:10:100::11' },
  clusterCIDR: { ipv4: '10.244.0.0/16', ipv6: 'fd00:10:244::/48' },
  serviceCIDR: { ipv4: '10.96.0.0/16', ipv6: 'fd00:10:96::/112' },
  /** LoadBalancer ingress IPs and externalIPs. */
  externalCIDR: { ipv4: '10.250.0.0/24', ipv6: 'fd00:10:250::/120' },
  /** The in-cluster client pod, local to the node. */
  clientPod: { ipv4: '10.244.1.100', ipv6: 'fd00:10:244:1::100' },
  /** External client: outside the cluster CIDR, inside " 10.0.0.0/8 ". */
  external: { ipv4: '10.200.0.2', ipv6: 'fd00:10:200::2' },
  /** Second external source (same namespace), outside every source range used. */
  externalOther: { ipv4: '192.168.77.2', ipv6: 'fd00:10:201::2' },
  /** The node's own address on the external link (gateway of the external client). */
  nodeExternalSide: { ipv4: '10.200.0.1', ipv6: 'fd00:10:200::1' },
  nodeExternalOtherSide: { ipv4: '192.168.77.1', ipv6: 'fd00:10:201::1' },
} as const;

/** Host numbers of endpoint pods: 10.244.1.N / fd00:10:244:1::N (local), 10.244.2.N / fd00:10:244:2::N (remote). */
export const POD_HOSTS = [2, 3, 4, 5, 6, 7, 8, 9] as const;

export function localPodIP(host: number, family: Family): string {
  return family === 'ipv4' ? `10.244.1.${host}` : `fd00:10:244:1::${host}`;
}

export function remotePodIP(host: number, family: Family): string {
  return family === 'ipv4' ? `10.244.2.${host}` : `fd00:10:244:2::${host}`;
}

/** Every address the node namespace owns, per family (a masqueraded peer is one of these). */
export const NODE_ADDRESSES: Readonly<Record<Family, readonly string[]>> = {
  ipv4: [PLAN.nodeIP.ipv4, PLAN.nodeExternalSide.ipv4, PLAN.nodeExternalOtherSide.ipv4],
  ipv6: [PLAN.nodeIP.ipv6, PLAN.nodeExternalSide.ipv6, PLAN.nodeExternalOtherSide.ipv6],
};

export function familyOf(ip: string): Family {
  return ip.includes(':') ? 'ipv6' : 'ipv4';
}

/** `ip:port`, IPv6 as `[ip]:port` (the format of DESIGN.md's explain output). */
export function hostPort(ip: string, port: number): string {
  return familyOf(ip) === 'ipv6' ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The IPv6 address of the local pod whose IPv4 address is `ipv4` (10.244.1.N → fd00:10:244:1::N). */
export function podIPv6(ipv4: string): string {
  const m = /^10\.244\.1\.(\d+)$/.exec(ipv4);
  if (!m) throw new Error(`not a local pod address of the plan: ${ipv4}`);
  return `fd00:10:244:1::${m[1]}`;
}

/**
 * The source address a probe from `from` carries, or undefined for `node` (the node's
 * routing picks it: the default routes carry `src` = the node IP, so it is the node IP
 * for everything the node does not have a more specific route for).
 */
export function sourceAddress(from: From, family: Family): string | undefined {
  if (from === 'external') return PLAN.external[family];
  if (from === 'external-other') return PLAN.externalOther[family];
  if (from === 'pod') return PLAN.clientPod[family];
  if (from === 'node') return undefined;
  const ipv4 = from.slice('pod:'.length);
  return family === 'ipv4' ? ipv4 : podIPv6(ipv4);
}

/**
 * Extra client addresses for session-affinity cases: a sticky case sends from several
 * clients (source addresses) of the same kind, so that "every client sticks to one
 * endpoint" and "clients do not all get the same endpoint" can both be checked. Client 0
 * is `sourceAddress`; clients 1…EXTRA_CLIENTS are `<base>.${100+k}` / `<base>::${100+k}`
 * on the external namespace, the client pod and the node (IPv6 ones deprecated, so never
 * picked as a source on their own). A `pod:<ip>` source is one pod: one client.
 */
export const EXTRA_CLIENTS = 15;

const CLIENT_BASE: Partial<Record<From, Readonly<Record<Family, string>>>> = {
  external: { ipv4: '10.200.0.', ipv6: 'fd00:10:200::' },
  pod: { ipv4: '10.244.1.', ipv6: 'fd00:10:244:1::' },
  node: { ipv4: '10.100.0.', ipv6: 'fd00:10:100::' },
};

/** How many clients a case from `from` can use. */
export function clientCount(from: From): number {
  return CLIENT_BASE[from] === undefined ? 1 : EXTRA_CLIENTS + 1;
}

/** The extra client addresses of a `from` kind (without client 0), per family. */
export function extraClientAddresses(from: 'external' | 'pod' | 'node', family: Family): string[] {
  return Array.from({ length: EXTRA_CLIENTS }, (_, i) => `${CLIENT_BASE[from]![family]}${101 + i}`);
}

/** The source address of client `k` of `from` (0: `sourceAddress`). */
export function clientAddress(from: From, family: Family, k: number): string | undefined {
  if (k === 0) return sourceAddress(from, family);
  const base = CLIENT_BASE[from];
  if (base === undefined || k > EXTRA_CLIENTS) throw new Error(`no client ${k} for ${from}`);
  return `${base[family]}${100 + k}`;
}

/** The source address as the endpoint would see it without NAT. */
export function expectedClientIP(from: From, family: Family): string {
  return sourceAddress(from, family) ?? PLAN.nodeIP[family];
}

/** Standard `kpx render` arguments for this plan (what test/scenarios/<name>/args holds by default). */
export const DEFAULT_RENDER_ARGS: readonly string[] = [
  '--node-name', NODE_NAME,
  '--cluster-cidr', PLAN.clusterCIDR.ipv4,
  '--cluster-cidr', PLAN.clusterCIDR.ipv6,
];
