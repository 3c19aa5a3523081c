/**
 * Flow cases (test/kernel/flows.ts) that kpx's IPVS rules do not honour, by case name,
 * with the reason and what happens instead. The VM test judges them by `instead`, so a
 * change of behaviour is noticed either way.
 *
 * The one table for IPVS: the VM suite (ipvs.test.ts) and the tracer conformance suite
 * (test/conformance) both judge these cases by `instead`. Causes, all upstream IPVS mode's
 * own behaviour:
 * - one virtual server has one list of real servers for every client: with
 *   externalTrafficPolicy Local they are the local endpoints, so the model's
 *   short-circuits (pods and the node reach every endpoint) cannot be expressed;
 * - a virtual server needs a concrete address: NodePorts are served on the node's IPs
 *   (from its Node object) inside --nodeport-addresses, and a CIDR that holds none of
 *   them serves nothing (upstream lists the interfaces' addresses at sync time).
 */
import type { FlowCase } from '../kernel/flows.js';
import type { NotHonoured } from '../kernel/not-honoured.js';

const SHORT_CIRCUIT = 'IPVS mode has one real-server list per virtual server, for every client: with '
  + 'externalTrafficPolicy Local it holds only the local endpoints, so there is no short-circuit to '
  + 'remote endpoints for pods or the node (as upstream IPVS mode: pkg/proxy/ipvs/proxier.go syncEndpoint picks '
  + 'the local endpoints for every external virtual server of a Local Service, whoever the client)';

const SERVICE_CIDR = 'IPVS mode ignores --service-cidr (as upstream; src/render/ipvs/README.md): no rule drops an '
  + 'unallocated service IP, the node routes it on and the outside network answers unreachable';

const local = (set: readonly string[], extra: Partial<Extract<FlowCase['expect'], { kind: 'endpoints' }>> = {}): FlowCase['expect'] =>
  ({ kind: 'endpoints', set, ...extra });

export const NOT_HONOURED: Readonly<Record<string, NotHonoured>> = {
  'pod → LB IP short-circuits to all endpoints, client IP kept': {
    reason: SHORT_CIRCUIT, instead: local(['10.244.1.2:8080', '10.244.1.3:8080'], { clientIPPreserved: true }),
  },
  'pod → NodePort short-circuits to all endpoints': {
    reason: SHORT_CIRCUIT, instead: local(['10.244.1.2:8080', '10.244.1.3:8080'], { clientIPPreserved: true }),
  },
  'node → LB IP short-circuits to all endpoints, masqueraded': {
    reason: SHORT_CIRCUIT, instead: local(['10.244.1.2:8080', '10.244.1.3:8080'], { masqueraded: true }),
  },
  'node → own NodePort short-circuits, masqueraded': {
    reason: SHORT_CIRCUIT, instead: local(['10.244.1.2:8080', '10.244.1.3:8080'], { masqueraded: true }),
  },
  'hairpin: an endpoint reaching its own LB IP (short-circuit)': {
    reason: SHORT_CIRCUIT, instead: local(['10.244.1.2:8080', '10.244.1.3:8080'], { hairpin: true }),
  },
  'pod → external IP (Local): short-circuit to all endpoints': {
    reason: SHORT_CIRCUIT, instead: local(['10.244.1.3:8080'], { clientIPPreserved: true }),
  },
  'node → external IP (Local): short-circuit to all endpoints, masqueraded': {
    reason: SHORT_CIRCUIT, instead: local(['10.244.1.3:8080'], { masqueraded: true }),
  },
  'node → LB IP (Local) still short-circuits, masqueraded': {
    reason: SHORT_CIRCUIT, instead: local(['10.244.1.2:8080'], { masqueraded: true }),
  },
  'nodeport-addresses: NodePort served on the address in the CIDR': {
    reason: 'a virtual server needs a concrete address. `kpx run` makes NodePort virtual servers on this '
      + 'namespace\'s interface addresses inside --nodeport-addresses, read at every sync (ProxyOptions.localAddresses), '
      + 'as upstream lists the interfaces (pkg/proxy/ipvs/proxier.go syncProxyRules: nodePortAddresses.GetNodeIPs at every sync); this suite renders with '
      + '`kpx render -f`, which has only the Node object\'s IPs, and 10.200.0.0/24 holds none of them: the port is in '
      + 'KUBE-NODE-PORT-TCP but no virtual server takes the packet and the node\'s stack refuses it',
    instead: { kind: 'unanswered', by: 'node' },
  },
  'nodeport-addresses: IPv6 NodePort served on the address in the CIDR': {
    reason: 'as above, for IPv6 (fd00:10:200::/64 holds no node IP)',
    instead: { kind: 'unanswered', by: 'node' },
  },
  'service-cidr: pod → unallocated service IP is dropped': {
    reason: SERVICE_CIDR, instead: { kind: 'unanswered' },
  },
  'service-cidr: pod → unallocated IPv6 service IP is dropped': {
    reason: SERVICE_CIDR, instead: { kind: 'unanswered' },
  },
  'service-cidr: node → unallocated service IP is dropped': {
    reason: SERVICE_CIDR, instead: { kind: 'unanswered' },
  },
  'external → external IP on an unserved port is not answered': {
    reason: 'KUBE-IPVS-FILTER rejects NEW connections to any port of a kube-ipvs0 address that no set lists '
      + '(upstream IPVS mode)',
    instead: { kind: 'refused' },
  },
  'pod → LB IP (Local, short-circuit) sticks': {
    reason: `${SHORT_CIRCUIT}: the clients stick to the local endpoints only, 10.244.2.7 is never chosen`,
    instead: { kind: 'sticky', set: ['10.244.1.6:8080', '10.244.1.7:8080'] },
  },
};
