/**
 * Two Service ports claiming the same frontend (IP, protocol, port) or the same NodePort
 * cannot both be programmed: a kernel map holds one verdict per key. The API server
 * prevents most of this (cluster IPs and node ports are allocated), but externalIPs and
 * LoadBalancer ingress IPs are free text, and manifests given to `kpx render -f` are not
 * validated at all. The first claimant in key order keeps the frontend; every later one
 * loses just that frontend (or, for its cluster IP, the whole port) and is reported.
 */
import { endpointString } from './ip.js';
import type { Problem, ServicePort } from './types.js';

export function resolveConflicts(ports: readonly ServicePort[]): { ports: ServicePort[]; problems: Problem[] } {
  const owner = new Map<string, string>();
  const problems: Problem[] = [];
  const claim = (sp: ServicePort, id: string, what: string, path: string): boolean => {
    const first = owner.get(id);
    if (first === undefined) {
      owner.set(id, sp.key);
      return true;
    }
    if (first === sp.key) return true; // the same port listing an address twice
    problems.push({
      kind: 'Service', object: `${sp.namespace}/${sp.name}`, path,
      message: `${what} is already used by ${first}: ignored for ${sp.key}`, effect: 'ignored',
    });
    return false;
  };
  const out: ServicePort[] = [];
  for (const sp of ports) {
    const frontend = (ip: string): string => `${ip}|${sp.protocol}|${sp.port}`;
    const what = (ip: string): string => `${sp.protocol} ${endpointString(ip, sp.port)}`;
    if (!claim(sp, frontend(sp.clusterIP), what(sp.clusterIP), 'spec.clusterIPs')) continue;
    const externalIPs = sp.externalIPs.filter((ip) => claim(sp, frontend(ip), what(ip), 'spec.externalIPs'));
    const loadBalancerIPs = sp.loadBalancerIPs.filter((ip) => claim(sp, frontend(ip), what(ip), 'status.loadBalancer.ingress'));
    const keepNodePort = sp.nodePort === undefined || claim(sp, `nodeport|${sp.protocol}|${sp.nodePort}`, `${sp.protocol} NodePort ${sp.nodePort}`, 'spec.ports.nodePort');
    if (externalIPs.length === sp.externalIPs.length && loadBalancerIPs.length === sp.loadBalancerIPs.length && keepNodePort) {
      out.push(sp);
      continue;
    }
    const { nodePort: _dropped, ...rest } = sp;
    // The firewall's extra sources are this port's own LB IPs: keep those it still has.
    const firewallExtraSources = sp.firewallExtraSources.filter((c) => loadBalancerIPs.includes(c.slice(0, c.lastIndexOf('/'))));
    out.push({ ...(keepNodePort ? sp : rest), externalIPs, loadBalancerIPs, firewallExtraSources });
  }
  return { ports: out, problems };
}
