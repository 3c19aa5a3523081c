/**
 * This node's facts from its Node object: addresses per family and topology zone.
 * Upstream: kube-proxy reads the node's IPs with pkg/util/node GetNodeHostIPs
 * (InternalIPs, then ExternalIPs; each parsed sloppily, the unparsable skipped) and its
 * zone from the topology.kubernetes.io/zone label (a label value, as ValidateLabels allows).
 */
import type { V1Node } from '@kubernetes/client-node';
import { compareIPs } from './ip.js';
import { ZONE_LABEL } from './labels.js';
import type { IPFamily, Problem } from './types.js';
import { Checker, objectName } from './validate.js';

export { ZONE_LABEL };

export interface NodeInfo {
  readonly name: string;
  /** A Node object was given. */
  readonly found: boolean;
  /** Per family: InternalIPs first, then ExternalIPs, each in the Node's order; deduplicated. */
  readonly ips: Readonly<Record<IPFamily, readonly string[]>>;
  readonly zone?: string;
}

export function parseNode(nodeName: string, node: V1Node | undefined): { info: NodeInfo; problems: readonly Problem[] } {
  const empty: NodeInfo = { name: nodeName, found: false, ips: { ipv4: [], ipv6: [] } };
  if (!node) return { info: empty, problems: [] };
  const c = new Checker('Node', objectName(node.metadata));
  const ips: Record<IPFamily, string[]> = { ipv4: [], ipv6: [] };
  const addrs = c.array('status.addresses', node.status?.addresses) ?? [];
  for (const type of ['InternalIP', 'ExternalIP']) {
    addrs.forEach((raw, i) => {
      const a = (raw ?? {}) as { type?: unknown; address?: unknown };
      if (a.type !== type) return;
      // One bad address does not make the node unusable: keep the others.
      const ip = c.ip(`status.addresses[${i}].address`, a.address, 'ignore');
      if (!ip) return;
      if (!ips[ip.family].includes(ip.text)) ips[ip.family].push(ip.text);
    });
  }
  const zoneRaw = node.metadata?.labels?.[ZONE_LABEL];
  const zone = typeof zoneRaw === 'string' && zoneRaw !== '' ? zoneRaw : undefined;
  const info: NodeInfo = { name: nodeName, found: true, ips, ...(zone !== undefined ? { zone } : {}) };
  return { info, problems: c.problems };
}

/** Sorted copy, for sets where the Node's order does not matter. */
export function sortedIPs(ips: readonly string[]): string[] {
  return [...ips].sort(compareIPs);
}
