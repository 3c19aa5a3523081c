/**
 * buildProxyState: Services + EndpointSlices + this Node + options → ProxyState.
 * Pure. Invalid objects are skipped and reported; everything else is modelled.
 */
import { endpointString, endpointsForPort, parseEndpointSlice, type ParsedSlice } from './endpointslice.js';
import { cidrContains, hostCIDR, parseCIDR, parseIP, type ParsedCIDR } from './ip.js';
import { missingNodeIPWarning, NODEPORT_PRIMARY, NodePortAddressError, nodeIP, planNodePorts, type NodePortPlan } from './nodeports.js';
import { resolveConflicts } from './conflicts.js';
import { parseNode, type NodeInfo } from './node.js';
import { parseService, type ParsedService } from './service.js';
import type { ClusterSnapshot } from './snapshot.js';
import { categorizeEndpoints, type Hinted } from './topology.js';
import type {
  BuildResult, Endpoint, FamilyState, IPFamily, Problem, ProxyOptions, ProxyState, ServicePort,
} from './types.js';

export const DEFAULT_MASQUERADE_BIT = 14;

/** Options that cannot be used: thrown, since they are the operator's, not the cluster's. */
export class OptionsError extends Error {}

interface FamilyOptions {
  readonly clusterCIDRs: readonly ParsedCIDR[];
  readonly serviceCIDRs: readonly ParsedCIDR[];
  readonly nodePorts: NodePortPlan;
}

function parseCIDRList(flag: string, values: readonly string[] | undefined): ParsedCIDR[] {
  return (values ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '').map((v) => {
    const c = parseCIDR(v);
    if (!c) throw new OptionsError(`${flag}: not a valid CIDR: ${JSON.stringify(v)}`);
    return c;
  });
}

function toEndpoint(h: Hinted): Endpoint {
  return {
    ip: h.ip, port: h.port, ready: h.ready, serving: h.serving, terminating: h.terminating, local: h.local,
    ...(h.nodeName !== undefined ? { nodeName: h.nodeName } : {}),
    ...(h.zone !== undefined ? { zone: h.zone } : {}),
  };
}

export function servicePorts(svc: ParsedService, slices: readonly ParsedSlice[], family: IPFamily, node: NodeInfo): ServicePort[] {
  const clusterIP = svc.clusterIPs.find((ip) => ip.family === family);
  if (!clusterIP) return [];
  const inFamily = <T extends { family: IPFamily }>(xs: readonly T[]): T[] => xs.filter((x) => x.family === family);
  const externalIPs = [...new Set(inFamily(svc.externalIPs).map((i) => i.text))];
  const loadBalancerIPs = [...new Set(inFamily(svc.loadBalancerIPs).map((i) => i.text))];
  const ranges = svc.loadBalancerSourceRanges.filter((r) => r.ip.family === family);
  // kube-proxy admits the LB IP itself when a source range holds the node IP it uses
  // (iptables/nftables proxier: `cidr.Contains(proxier.nodeIP)`; the first Node address
  // of the family, else loopback as detectNodeIPs assumes).
  const primary = parseIP(nodeIP(node, family))!;
  const nodeInRange = ranges.some((r) => cidrContains(r, primary));
  const firewallExtraSources = ranges.length > 0 && nodeInRange ? loadBalancerIPs.map((ip) => hostCIDR(parseIP(ip)!)) : [];

  return svc.ports.map((p): ServicePort => {
    const hinted: Hinted[] = endpointsForPort(slices, family, p.name, p.protocol).map(({ ep, port }) => ({
      ip: ep.ip.text, port, ready: ep.ready, serving: ep.serving, terminating: ep.terminating,
      local: ep.nodeName !== undefined && ep.nodeName === node.name,
      zoneHints: ep.zoneHints, nodeHints: ep.nodeHints,
      ...(ep.nodeName !== undefined ? { nodeName: ep.nodeName } : {}),
      ...(ep.zone !== undefined ? { zone: ep.zone } : {}),
    }));
    // kube-proxy's ExternallyAccessible, per port.
    const accessible = p.nodePort !== undefined || externalIPs.length > 0 || loadBalancerIPs.length > 0;
    const externalPolicyLocal = svc.externalPolicyLocal && accessible;
    const cat = categorizeEndpoints(
      hinted,
      { usesCluster: !svc.internalPolicyLocal || accessible, usesLocal: svc.internalPolicyLocal || externalPolicyLocal },
      { nodeName: node.name, ...(node.zone !== undefined ? { zone: node.zone } : {}) },
    );
    const clusterEndpoints = cat.clusterEndpoints.map(toEndpoint);
    const localEndpoints = cat.localEndpoints.map(toEndpoint);
    const internalEndpoints = svc.internalPolicyLocal ? localEndpoints : clusterEndpoints;
    const externalEndpoints = externalPolicyLocal ? localEndpoints : clusterEndpoints;
    const verdict = (eps: readonly Endpoint[]): 'reject' | 'drop' | undefined =>
      eps.length > 0 ? undefined : cat.hasEndpoints ? 'drop' : 'reject';
    const internalNoEndpoints = verdict(internalEndpoints);
    const externalNoEndpoints = verdict(externalEndpoints);
    return {
      key: `${svc.namespace}/${svc.name}:${p.name}`,
      namespace: svc.namespace,
      name: svc.name,
      portName: p.name,
      protocol: p.protocol,
      family,
      clusterIP: clusterIP.text,
      port: p.port,
      ...(p.nodePort !== undefined ? { nodePort: p.nodePort } : {}),
      externalIPs,
      loadBalancerIPs,
      loadBalancerSourceRanges: [...new Set(ranges.map((r) => r.text))],
      firewallExtraSources,
      externalPolicyLocal,
      internalPolicyLocal: svc.internalPolicyLocal,
      ...(svc.healthCheckNodePort !== undefined ? { healthCheckNodePort: svc.healthCheckNodePort } : {}),
      ...(svc.affinityTimeoutSeconds !== undefined ? { affinityTimeoutSeconds: svc.affinityTimeoutSeconds } : {}),
      allEndpoints: hinted.map(toEndpoint),
      clusterEndpoints,
      localEndpoints,
      hasEndpoints: cat.hasEndpoints,
      internalEndpoints,
      externalEndpoints,
      ...(internalNoEndpoints !== undefined ? { internalNoEndpoints } : {}),
      ...(externalNoEndpoints !== undefined ? { externalNoEndpoints } : {}),
    };
  });
}

export function buildProxyState(snapshot: ClusterSnapshot, options: ProxyOptions): BuildResult {
  const problems: Problem[] = [];
  const bit = options.masqueradeBit ?? DEFAULT_MASQUERADE_BIT;
  if (!Number.isInteger(bit) || bit < 0 || bit > 31) throw new OptionsError(`--masquerade-bit: want 0-31, got ${bit}`);
  const clusterCIDRs = parseCIDRList('--cluster-cidr', options.clusterCIDRs);
  const serviceCIDRs = parseCIDRList('--service-cidr', options.serviceCIDRs);

  const nodeParse = parseNode(options.nodeName, snapshot.node);
  problems.push(...nodeParse.problems);
  const node = nodeParse.info;

  const services = new Map<string, ParsedService>();
  const seenServices = new Set<string>();
  for (const raw of snapshot.services) {
    const r = parseService(raw);
    problems.push(...r.problems);
    const ns = raw.metadata?.namespace ?? 'default';
    seenServices.add(`${ns}/${raw.metadata?.name ?? ''}`);
    if (r.service) services.set(`${r.service.namespace}/${r.service.name}`, r.service);
  }

  const slicesByService = new Map<string, ParsedSlice[]>();
  const sortedSlices = [...snapshot.endpointSlices].sort((a, b) =>
    `${a.metadata?.namespace}/${a.metadata?.name}`.localeCompare(`${b.metadata?.namespace}/${b.metadata?.name}`));
  for (const raw of sortedSlices) {
    const r = parseEndpointSlice(raw);
    problems.push(...r.problems);
    if (!r.slice) continue;
    const key = `${r.slice.namespace}/${r.slice.serviceName}`;
    if (!seenServices.has(key)) {
      problems.push({ kind: 'EndpointSlice', object: `${r.slice.namespace}/${r.slice.name}`, path: `metadata.labels["kubernetes.io/service-name"]`, message: `Service ${key} does not exist`, effect: 'skipped' });
      continue;
    }
    const list = slicesByService.get(key) ?? [];
    list.push(r.slice);
    slicesByService.set(key, list);
  }

  const nodePortValues = options.nodePortAddresses ?? [NODEPORT_PRIMARY];
  const nodePorts = (family: IPFamily): NodePortPlan => {
    try {
      return planNodePorts(nodePortValues, node, family, options.localAddresses);
    } catch (err) {
      if (err instanceof NodePortAddressError) throw new OptionsError(err.message);
      throw err;
    }
  };
  const warning = missingNodeIPWarning(node, nodePortValues);
  if (warning) problems.push(warning);

  const familyState = (family: IPFamily): FamilyState => {
    const fo: FamilyOptions = {
      clusterCIDRs: clusterCIDRs.filter((c) => c.ip.family === family),
      serviceCIDRs: serviceCIDRs.filter((c) => c.ip.family === family),
      nodePorts: nodePorts(family),
    };
    const sorted = [...services.entries()]
      .flatMap(([key, svc]) => servicePorts(svc, slicesByService.get(key) ?? [], family, node))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : 0));
    const { ports, problems: conflicts } = resolveConflicts(sorted);
    problems.push(...conflicts);
    return {
      family,
      nodeIPs: node.ips[family],
      nodePortAddresses: fo.nodePorts.cidrs,
      nodePortIPs: fo.nodePorts.ips,
      clusterCIDRs: fo.clusterCIDRs.map((c) => c.text),
      serviceCIDRs: fo.serviceCIDRs.map((c) => c.text),
      masqueradeAll: options.masqueradeAll ?? false,
      masqueradeMark: 2 ** bit,
      services: ports,
    };
  };

  const state: ProxyState = { nodeName: options.nodeName, ipv4: familyState('ipv4'), ipv6: familyState('ipv6') };
  return { state, problems: dedupe(problems) };
}

function dedupe(problems: readonly Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const k = `${p.kind}|${p.object}|${p.path}|${p.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export { endpointString };
