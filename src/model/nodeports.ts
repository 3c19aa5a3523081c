/**
 * Where NodePorts are served, per IP family: kube-proxy's --nodeport-addresses.
 *
 * Upstream (pkg/proxy/util/nodeport_addresses.go NewNodePortAddresses, GetNodeIPs;
 * cmd/kube-proxy/app/server.go for `primary`; server_linux.go for the defaults):
 * - the values are CIDRs, or `primary` alone (the node's primary IP of each family);
 *   kpx also accepts `all` (every local address; kube-proxy spells it as no value);
 * - a family no CIDR mentions accepts every local address of that family;
 * - NodePorts are served on the node's local addresses inside those CIDRs;
 * - default: `primary` in nftables mode, every local address in iptables and IPVS mode.
 *
 * Fail closed: without a node IP (no Node object, or one without addresses: a mistyped
 * --node-name / --hostname-override), kube-proxy assumes loopback as the node IP
 * (detectNodeIPs: "Can't determine this node's IP, assuming loopback"). kpx keeps that
 * assumption for `primary` and serves NodePorts on 127.0.0.1 / ::1 only, with a
 * warning — where upstream's `primary` handling drops a loopback node IP and so ends
 * up serving on every address.
 */
import { cidrContains, hostCIDR, LOOPBACK, parseCIDR, parseIPSloppy, type ParsedCIDR, type ParsedIP } from './ip.js';
import type { NodeInfo } from './node.js';
import type { IPFamily, Problem } from './types.js';

export const NODEPORT_PRIMARY = 'primary';
export const NODEPORT_ALL = 'all';

/** The backends whose defaults differ. */
export type NodePortMode = 'nftables' | 'iptables' | 'ipvs';

/** kube-proxy's --nodeport-addresses default for a proxy mode. */
export function defaultNodePortAddresses(mode: NodePortMode): string[] {
  return mode === 'nftables' ? [NODEPORT_PRIMARY] : [NODEPORT_ALL];
}

/** Thrown for a value that is neither a CIDR nor a keyword (the caller turns it into a usage error). */
export class NodePortAddressError extends Error {}

export interface NodePortPlan {
  /**
   * CIDRs the rules match (together with "the destination is a local address"): the
   * zero CIDR for every local address; else, given the local addresses, the host CIDRs
   * of `ips`; in a dry run the CIDRs themselves (`primary` as the node IP's host CIDR).
   */
  readonly cidrs: readonly string[];
  /** The local addresses NodePorts are served on (every one for the zero CIDR). */
  readonly ips: readonly string[];
}

const ZERO: Readonly<Record<IPFamily, string>> = { ipv4: '0.0.0.0/0', ipv6: '::/0' };

/** The node IP kube-proxy uses for a family: the Node's first of that family, else loopback. */
export function nodeIP(node: NodeInfo, family: IPFamily): string {
  return node.ips[family][0] ?? LOOPBACK[family];
}

/**
 * Local addresses of a family: `localAddresses` when the caller listed the network
 * namespace's interfaces, else the Node object's addresses plus loopback (a dry run).
 */
function localOf(family: IPFamily, node: NodeInfo, localAddresses: readonly string[] | undefined): ParsedIP[] {
  const texts = localAddresses ?? [...node.ips[family], LOOPBACK[family]];
  const out: ParsedIP[] = [];
  for (const t of texts) {
    const ip = parseIPSloppy(t);
    if (ip && ip.family === family && !out.some((o) => o.text === ip.text)) out.push(ip);
  }
  return out;
}

export function planNodePorts(
  values: readonly string[], node: NodeInfo, family: IPFamily, localAddresses: readonly string[] | undefined,
): NodePortPlan {
  let all = false;
  let primary = false;
  const cidrs: ParsedCIDR[] = [];
  for (const raw of values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '')) {
    if (raw === NODEPORT_ALL) { all = true; continue; }
    if (raw === NODEPORT_PRIMARY) { primary = true; continue; }
    const c = parseCIDR(raw);
    if (!c) throw new NodePortAddressError(`--nodeport-addresses: want a CIDR, "primary" or "all", got ${JSON.stringify(raw)}`);
    if (c.ip.family === family) cidrs.push(c);
  }
  const local = localOf(family, node, localAddresses);
  // `all`, a zero CIDR, or (without `primary`) no CIDR of this family — no value at all
  // or CIDRs of the other family only: every local address.
  const matchAll = all || cidrs.some((c) => c.prefix === 0) || (!primary && cidrs.length === 0);
  if (matchAll) {
    return { cidrs: [ZERO[family]], ips: local.map((ip) => ip.text) };
  }
  if (primary) cidrs.push(parseCIDR(hostCIDR(parseIPSloppy(nodeIP(node, family))!))!);
  const ips = local.filter((ip) => cidrs.some((c) => cidrContains(c, ip)));
  // A dry run knows the Node's addresses only; the rules keep the CIDRs (their
  // "destination is local" check picks the machine's addresses inside them when loaded).
  const ruleCIDRs = localAddresses === undefined ? [...new Set(cidrs.map((c) => c.text))] : ips.map(hostCIDR);
  return { cidrs: ruleCIDRs, ips: ips.map((ip) => ip.text) };
}

/**
 * The warning when the node's IPs are unknown, naming the Node that was looked for and
 * what it costs. Undefined when the Node gave at least one address.
 */
export function missingNodeIPWarning(node: NodeInfo, values: readonly string[]): Problem | undefined {
  if (node.ips.ipv4.length > 0 || node.ips.ipv6.length > 0) return undefined;
  const usesPrimary = values.flatMap((v) => v.split(',')).some((v) => v.trim() === NODEPORT_PRIMARY);
  const why = node.found
    ? `Node "${node.name}" has no InternalIP or ExternalIP address`
    : `no Node object named "${node.name}" (a mistyped --node-name or --hostname-override?)`;
  const effect = usesPrimary
    ? 'NodePorts are served on loopback only (127.0.0.1, ::1), and the node IP is assumed to be loopback'
    : 'the node IP is assumed to be loopback (NodePorts follow --nodeport-addresses, which does not depend on it)';
  return { kind: 'Node', object: node.name, path: '', message: `${why}: ${effect}`, effect: 'warning' };
}
