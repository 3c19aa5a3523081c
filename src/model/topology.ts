/**
 * Endpoint selection for one Service port, as kube-proxy's CategorizeEndpoints does it:
 * - Cluster policy: ready endpoints (filtered by topology hints when usable); if there
 *   are none, serving+terminating ones.
 * - Local policy: this node's ready endpoints; if none, this node's serving+terminating.
 * - Topology hints are used only when every ready endpoint carries one: node hints
 *   (PreferSameNode) when they name this node, else zone hints naming this node's zone.
 */
import type { Endpoint } from './types.js';

export interface EndpointPolicy {
  /** Service uses Cluster-policy endpoints: internal policy Cluster, or externally reachable. */
  readonly usesCluster: boolean;
  /** Service uses Local-policy endpoints: internal policy Local, or external policy Local. */
  readonly usesLocal: boolean;
}

export interface EndpointTopology {
  readonly nodeName: string;
  readonly zone?: string;
}

export interface Hinted extends Endpoint {
  readonly zoneHints: readonly string[];
  readonly nodeHints: readonly string[];
}

export interface Categorized {
  readonly clusterEndpoints: readonly Hinted[];
  readonly localEndpoints: readonly Hinted[];
  readonly hasEndpoints: boolean;
}

type TopologyMode = 'node' | 'zone' | 'none';

function topologyMode(endpoints: readonly Hinted[], topo: EndpointTopology): TopologyMode {
  let allNode = true;
  let forNode = false;
  let allZone = true;
  let forZone = false;
  for (const ep of endpoints) {
    if (!ep.ready) continue;
    if (ep.nodeHints.length === 0) allNode = false;
    else if (ep.nodeHints.includes(topo.nodeName)) forNode = true;
    if (ep.zoneHints.length === 0) allZone = false;
    else if (topo.zone !== undefined && ep.zoneHints.includes(topo.zone)) forZone = true;
  }
  if (allNode && forNode) return 'node';
  if (allZone && forZone) return 'zone';
  return 'none';
}

function availableFor(ep: Hinted, mode: TopologyMode, topo: EndpointTopology): boolean {
  if (mode === 'node') return ep.nodeHints.includes(topo.nodeName);
  if (mode === 'zone') return topo.zone !== undefined && ep.zoneHints.includes(topo.zone);
  return true;
}

const servingTerminating = (ep: Endpoint): boolean => ep.serving && ep.terminating;

export function categorizeEndpoints(endpoints: readonly Hinted[], policy: EndpointPolicy, topo: EndpointTopology): Categorized {
  let clusterEndpoints: readonly Hinted[] = [];
  let hasEndpoints = false;
  if (policy.usesCluster) {
    const mode = topologyMode(endpoints, topo);
    clusterEndpoints = endpoints.filter((ep) => ep.ready && availableFor(ep, mode, topo));
    // No ready endpoint anywhere (topology never empties the set: a mode is only
    // chosen when one ready endpoint fits it): fall back to serving+terminating ones.
    if (clusterEndpoints.length === 0) clusterEndpoints = endpoints.filter(servingTerminating);
    hasEndpoints = clusterEndpoints.length > 0;
  }
  if (!policy.usesLocal) return { clusterEndpoints, localEndpoints: [], hasEndpoints };

  if (endpoints.some((ep) => ep.ready || servingTerminating(ep))) hasEndpoints = true;
  let localEndpoints = endpoints.filter((ep) => ep.local && ep.ready);
  if (localEndpoints.length === 0) localEndpoints = endpoints.filter((ep) => ep.local && servingTerminating(ep));
  return { clusterEndpoints, localEndpoints, hasEndpoints };
}
