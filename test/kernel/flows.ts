/**
 * THE packet-flow case table: who sends what to which address and port, and where it
 * must land. Backend-independent: the kernel tests run every case with real packets
 * against each backend's rules; a tracer-based test can run the same table through a
 * backend's typed Ruleset (map `from` to a source with topology.ts `sourceAddress`).
 *
 * Addresses follow the one plan in topology.ts / README.md; each case names a scenario
 * in test/scenarios/<scenario>/cluster.yaml.
 */
import { clientCount, hostPort, type From } from './topology.js';

export type FlowProto = 'tcp' | 'udp';

export type FlowExpect =
  /**
   * Every probe is answered, only by endpoints in `set`, and (allMustAnswer, the
   * default) every endpoint in `set` answers at least once.
   */
  | {
      readonly kind: 'endpoints';
      readonly set: readonly string[];
      readonly allMustAnswer?: boolean;
      /** Every endpoint sees the client's own address. */
      readonly clientIPPreserved?: boolean;
      /** Every endpoint sees the node IP of the probe's family (SNAT by masquerade). */
      readonly masqueraded?: boolean;
      /**
       * The client is itself an endpoint: answers from its own address must see the
       * node IP (hairpin masquerade), answers from other endpoints the client's address.
       */
      readonly hairpin?: boolean;
    }
  /**
   * Session affinity. Several clients (source addresses, topology.ts `clientAddress`) each
   * send their probes one after another: every probe is answered from `set`, all probes
   * of one client land on one endpoint, and (with several clients and endpoints) the
   * clients do not all land on the same one (that would be a fixed choice, not affinity).
   */
  | { readonly kind: 'sticky'; readonly set: readonly string[] }
  /** Rejected: TCP RST or ICMP unreachable → ECONNREFUSED, never a timeout. */
  | { readonly kind: 'refused' }
  /**
   * Silently dropped by a rule on the node: every probe times out. (The topology answers
   * everything it does not own with an ICMP unreachable, so a timeout means a drop.)
   */
  | { readonly kind: 'dropped' }
  /**
   * kpx leaves the packet alone and it goes where routing sends it. `by: 'network'`
   * (default): the node routes it out and the outside network answers that nobody has
   * the address (every probe fails with EHOSTUNREACH / ENETUNREACH). `by: 'node'`: the
   * address is the node's own and nothing listens on the port: its stack refuses.
   */
  | { readonly kind: 'unanswered'; readonly by?: 'network' | 'node' };

export interface FlowCase {
  readonly scenario: string;
  readonly name: string;
  readonly from: From;
  readonly proto: FlowProto;
  readonly dst: string;
  readonly dport: number;
  readonly expect: FlowExpect;
  /** Number of probes; default from the expectation (see probeCount). */
  readonly probes?: number;
}

/** Probes per client of a multi-client sticky case (16 clients: 48 probes). */
export const STICKY_PROBES_PER_CLIENT = 3;

/** Probes per case: enough that each of ≤4 endpoints is missed with probability < 1e-4. */
export function probeCount(c: FlowCase): number {
  if (c.probes !== undefined) return c.probes;
  switch (c.expect.kind) {
    case 'endpoints':
      return Math.max(40, 12 * c.expect.set.length);
    case 'sticky':
      return clientCount(c.from) > 1 ? clientCount(c.from) * STICKY_PROBES_PER_CLIENT : 20;
    case 'refused':
      return 4;
    case 'dropped':
    case 'unanswered':
      return 3;
  }
}

// Helpers that keep the table short.
const ep = (ips: readonly string[], port: number): string[] => ips.map((ip) => hostPort(ip, port));
const L = (...hosts: number[]): string[] => hosts.map((h) => `10.244.1.${h}`);
const R = (...hosts: number[]): string[] => hosts.map((h) => `10.244.2.${h}`);
const L6 = (...hosts: number[]): string[] => hosts.map((h) => `fd00:10:244:1::${h}`);
const R6 = (...hosts: number[]): string[] => hosts.map((h) => `fd00:10:244:2::${h}`);
const NODE = '10.100.0.10';
const NODE6 = 'fd00:10:100::10';

const preserved = (set: readonly string[]): FlowExpect => ({ kind: 'endpoints', set, clientIPPreserved: true });
const masq = (set: readonly string[]): FlowExpect => ({ kind: 'endpoints', set, masqueraded: true });

export const FLOWS: readonly FlowCase[] = [
  // --- clusterip-basic: several endpoints over two slices, TCP+UDP, named ports, hairpin.
  { scenario: 'clusterip-basic', name: 'pod → cluster IP tcp/80 spreads over all endpoints, client IP kept', from: 'pod', proto: 'tcp', dst: '10.96.1.10', dport: 80, expect: preserved(ep([...L(2, 3), ...R(2)], 8080)) },
  { scenario: 'clusterip-basic', name: 'pod → cluster IP udp/53 reaches the named UDP port', from: 'pod', proto: 'udp', dst: '10.96.1.10', dport: 53, expect: preserved(ep([...L(2, 3), ...R(2)], 5353)) },
  { scenario: 'clusterip-basic', name: 'pod → cluster IP tcp/9090 reaches the metrics port', from: 'pod', proto: 'tcp', dst: '10.96.1.10', dport: 9090, expect: preserved(ep([...L(2, 3), ...R(2)], 9090)) },
  { scenario: 'clusterip-basic', name: 'node → cluster IP is masqueraded', from: 'node', proto: 'tcp', dst: '10.96.1.10', dport: 80, expect: masq(ep([...L(2, 3), ...R(2)], 8080)) },
  { scenario: 'clusterip-basic', name: 'external → cluster IP (routed via node) is masqueraded', from: 'external', proto: 'tcp', dst: '10.96.1.10', dport: 80, expect: masq(ep([...L(2, 3), ...R(2)], 8080)) },
  { scenario: 'clusterip-basic', name: 'pod → cluster IP on a port the Service does not serve is rejected', from: 'pod', proto: 'tcp', dst: '10.96.1.10', dport: 8080, expect: { kind: 'refused' } },
  { scenario: 'clusterip-basic', name: 'hairpin: the only endpoint reaching its own Service sees the node IP', from: 'pod:10.244.1.4', proto: 'tcp', dst: '10.96.1.20', dport: 80, expect: masq(ep(L(4), 8080)) },
  { scenario: 'clusterip-basic', name: 'hairpin: an endpoint reaching its multi-endpoint Service', from: 'pod:10.244.1.2', proto: 'tcp', dst: '10.96.1.10', dport: 80, expect: { kind: 'endpoints', set: ep([...L(2, 3), ...R(2)], 8080), hairpin: true } },

  // --- nodeport: externalTrafficPolicy Cluster → masquerade.
  { scenario: 'nodeport', name: 'external → NodePort tcp is masqueraded, all endpoints', from: 'external', proto: 'tcp', dst: NODE, dport: 30280, expect: masq(ep([...L(2), ...R(2)], 8080)) },
  { scenario: 'nodeport', name: 'external → NodePort udp is masqueraded, all endpoints', from: 'external', proto: 'udp', dst: NODE, dport: 30253, expect: masq(ep([...L(2), ...R(2)], 5353)) },
  { scenario: 'nodeport', name: 'pod → NodePort is masqueraded (Cluster policy)', from: 'pod', proto: 'tcp', dst: NODE, dport: 30280, expect: masq(ep([...L(2), ...R(2)], 8080)) },
  { scenario: 'nodeport', name: 'node → own NodePort', from: 'node', proto: 'tcp', dst: NODE, dport: 30280, expect: masq(ep([...L(2), ...R(2)], 8080)) },
  { scenario: 'nodeport', name: 'pod → cluster IP keeps the client IP', from: 'pod', proto: 'tcp', dst: '10.96.2.10', dport: 80, expect: preserved(ep([...L(2), ...R(2)], 8080)) },
  { scenario: 'nodeport', name: 'external → NodePort on a non-primary node address is not served', from: 'external', proto: 'tcp', dst: '10.200.0.1', dport: 30280, expect: { kind: 'unanswered', by: 'node' } },

  // --- lb-local: externalTrafficPolicy Local with local and remote endpoints.
  { scenario: 'lb-local', name: 'external → LB IP: local endpoints only, client IP kept', from: 'external', proto: 'tcp', dst: '10.250.0.3', dport: 80, expect: preserved(ep(L(2, 3), 8080)) },
  { scenario: 'lb-local', name: 'external → NodePort: local endpoints only, client IP kept', from: 'external', proto: 'tcp', dst: NODE, dport: 30380, expect: preserved(ep(L(2, 3), 8080)) },
  { scenario: 'lb-local', name: 'pod → LB IP short-circuits to all endpoints, client IP kept', from: 'pod', proto: 'tcp', dst: '10.250.0.3', dport: 80, expect: preserved(ep([...L(2, 3), ...R(2, 3)], 8080)) },
  { scenario: 'lb-local', name: 'pod → NodePort short-circuits to all endpoints', from: 'pod', proto: 'tcp', dst: NODE, dport: 30380, expect: preserved(ep([...L(2, 3), ...R(2, 3)], 8080)) },
  { scenario: 'lb-local', name: 'node → LB IP short-circuits to all endpoints, masqueraded', from: 'node', proto: 'tcp', dst: '10.250.0.3', dport: 80, expect: masq(ep([...L(2, 3), ...R(2, 3)], 8080)) },
  { scenario: 'lb-local', name: 'node → own NodePort short-circuits, masqueraded', from: 'node', proto: 'tcp', dst: NODE, dport: 30380, expect: masq(ep([...L(2, 3), ...R(2, 3)], 8080)) },
  { scenario: 'lb-local', name: 'pod → cluster IP uses all endpoints (internal policy Cluster)', from: 'pod', proto: 'tcp', dst: '10.96.3.10', dport: 80, expect: preserved(ep([...L(2, 3), ...R(2, 3)], 8080)) },

  { scenario: 'lb-local', name: 'hairpin: an endpoint reaching its own LB IP (short-circuit)', from: 'pod:10.244.1.2', proto: 'tcp', dst: '10.250.0.3', dport: 80, expect: { kind: 'endpoints', set: ep([...L(2, 3), ...R(2, 3)], 8080), hairpin: true } },

  // --- internal-local: internalTrafficPolicy Local.
  { scenario: 'internal-local', name: 'pod → cluster IP: local endpoint only', from: 'pod', proto: 'tcp', dst: '10.96.4.10', dport: 80, expect: preserved(ep(L(2), 8080)) },
  { scenario: 'internal-local', name: 'node → cluster IP: local endpoint only, masqueraded', from: 'node', proto: 'tcp', dst: '10.96.4.10', dport: 80, expect: masq(ep(L(2), 8080)) },
  { scenario: 'internal-local', name: 'pod → cluster IP without local endpoints is dropped (tcp)', from: 'pod', proto: 'tcp', dst: '10.96.4.20', dport: 80, expect: { kind: 'dropped' } },
  { scenario: 'internal-local', name: 'pod → cluster IP without local endpoints is dropped (udp)', from: 'pod', proto: 'udp', dst: '10.96.4.20', dport: 53, expect: { kind: 'dropped' } },
  { scenario: 'internal-local', name: 'pod → cluster IP of a NodePort with internal Local: local only', from: 'pod', proto: 'tcp', dst: '10.96.4.30', dport: 80, expect: preserved(ep(L(3), 8080)) },
  { scenario: 'internal-local', name: 'external → NodePort of the same Service uses all endpoints', from: 'external', proto: 'tcp', dst: NODE, dport: 30480, expect: masq(ep([...L(3), ...R(6)], 8080)) },

  // --- no-endpoints: REJECT everywhere.
  { scenario: 'no-endpoints', name: 'pod → Service without slices is rejected (tcp)', from: 'pod', proto: 'tcp', dst: '10.96.5.10', dport: 80, expect: { kind: 'refused' } },
  { scenario: 'no-endpoints', name: 'pod → Service without slices is rejected (udp)', from: 'pod', proto: 'udp', dst: '10.96.5.10', dport: 53, expect: { kind: 'refused' } },
  { scenario: 'no-endpoints', name: 'node → Service without slices is rejected', from: 'node', proto: 'tcp', dst: '10.96.5.10', dport: 80, expect: { kind: 'refused' } },
  { scenario: 'no-endpoints', name: 'pod → Service with an empty slice is rejected', from: 'pod', proto: 'tcp', dst: '10.96.5.20', dport: 80, expect: { kind: 'refused' } },
  { scenario: 'no-endpoints', name: 'pod → Service with only non-serving endpoints is rejected', from: 'pod', proto: 'tcp', dst: '10.96.5.30', dport: 80, expect: { kind: 'refused' } },
  { scenario: 'no-endpoints', name: 'external → NodePort without endpoints is rejected', from: 'external', proto: 'tcp', dst: NODE, dport: 30580, expect: { kind: 'refused' } },
  { scenario: 'no-endpoints', name: 'external → external IP without endpoints is rejected', from: 'external', proto: 'tcp', dst: '10.250.0.5', dport: 80, expect: { kind: 'refused' } },

  // --- local-no-local-endpoints: Local policy, endpoints only on the other node.
  { scenario: 'local-no-local-endpoints', name: 'external → LB IP is dropped', from: 'external', proto: 'tcp', dst: '10.250.0.6', dport: 80, expect: { kind: 'dropped' } },
  { scenario: 'local-no-local-endpoints', name: 'external → NodePort is dropped', from: 'external', proto: 'tcp', dst: NODE, dport: 30680, expect: { kind: 'dropped' } },
  { scenario: 'local-no-local-endpoints', name: 'pod → LB IP works (short-circuit to remote endpoints)', from: 'pod', proto: 'tcp', dst: '10.250.0.6', dport: 80, expect: preserved(ep(R(2, 3), 8080)) },
  { scenario: 'local-no-local-endpoints', name: 'pod → NodePort works (short-circuit)', from: 'pod', proto: 'tcp', dst: NODE, dport: 30680, expect: preserved(ep(R(2, 3), 8080)) },
  { scenario: 'local-no-local-endpoints', name: 'pod → cluster IP works', from: 'pod', proto: 'tcp', dst: '10.96.6.10', dport: 80, expect: preserved(ep(R(2, 3), 8080)) },
  { scenario: 'local-no-local-endpoints', name: 'node → LB IP works, masqueraded', from: 'node', proto: 'tcp', dst: '10.250.0.6', dport: 80, expect: masq(ep(R(2, 3), 8080)) },

  // --- session-affinity: ClientIP.
  { scenario: 'session-affinity', name: 'pod → cluster IP sticks to one endpoint', from: 'pod', proto: 'tcp', dst: '10.96.7.10', dport: 80, expect: { kind: 'sticky', set: ep([...L(2, 3), ...R(2)], 8080) } },
  { scenario: 'session-affinity', name: 'another pod → cluster IP sticks too', from: 'pod:10.244.1.5', proto: 'tcp', dst: '10.96.7.10', dport: 80, expect: { kind: 'sticky', set: ep([...L(2, 3), ...R(2)], 8080) } },
  { scenario: 'session-affinity', name: 'external → NodePort sticks', from: 'external', proto: 'tcp', dst: NODE, dport: 30780, expect: { kind: 'sticky', set: ep([...L(2, 3), ...R(2)], 8080) } },
  { scenario: 'session-affinity', name: 'node → cluster IP sticks', from: 'node', proto: 'tcp', dst: '10.96.7.10', dport: 80, expect: { kind: 'sticky', set: ep([...L(2, 3), ...R(2)], 8080) } },
  { scenario: 'session-affinity', name: 'pod → UDP cluster IP sticks', from: 'pod', proto: 'udp', dst: '10.96.7.20', dport: 53, expect: { kind: 'sticky', set: ep([...L(4), ...R(4)], 5353) } },

  { scenario: 'session-affinity', name: 'external → LB IP (Local) sticks to a local endpoint', from: 'external', proto: 'tcp', dst: '10.250.0.7', dport: 80, expect: { kind: 'sticky', set: ep(L(6, 7), 8080) } },
  { scenario: 'session-affinity', name: 'external → NodePort (Local) sticks to a local endpoint', from: 'external', proto: 'tcp', dst: NODE, dport: 30730, expect: { kind: 'sticky', set: ep(L(6, 7), 8080) } },
  { scenario: 'session-affinity', name: 'pod → LB IP (Local, short-circuit) sticks', from: 'pod', proto: 'tcp', dst: '10.250.0.7', dport: 80, expect: { kind: 'sticky', set: ep([...L(6, 7), ...R(7)], 8080) } },

  // --- terminating-fallback.
  { scenario: 'terminating-fallback', name: 'no ready endpoints: serving+terminating ones are used, non-serving ignored', from: 'pod', proto: 'tcp', dst: '10.96.8.10', dport: 80, expect: preserved(ep([...L(2), ...R(2)], 8080)) },
  { scenario: 'terminating-fallback', name: 'a ready endpoint wins over serving+terminating ones', from: 'pod', proto: 'tcp', dst: '10.96.8.20', dport: 80, expect: preserved(ep(L(4), 8080)) },
  { scenario: 'terminating-fallback', name: 'external → LB IP (Local): local set falls back to local terminating', from: 'external', proto: 'tcp', dst: '10.250.0.8', dport: 80, expect: preserved(ep(L(6), 8080)) },
  { scenario: 'terminating-fallback', name: 'pod → cluster IP of the same Service: cluster set has a ready one', from: 'pod', proto: 'tcp', dst: '10.96.8.30', dport: 80, expect: preserved(ep(R(6), 8080)) },

  // --- source-ranges: loadBalancerSourceRanges [" 10.0.0.0/8 ", "172.16.0.0/12"].
  { scenario: 'source-ranges', name: 'external in range → LB IP admitted (masqueraded)', from: 'external', proto: 'tcp', dst: '10.250.0.9', dport: 80, expect: masq(ep([...L(2), ...R(2)], 8080)) },
  { scenario: 'source-ranges', name: 'external outside the ranges → LB IP dropped', from: 'external-other', proto: 'tcp', dst: '10.250.0.9', dport: 80, expect: { kind: 'dropped' } },
  { scenario: 'source-ranges', name: 'external outside the ranges → NodePort is not filtered', from: 'external-other', proto: 'tcp', dst: NODE, dport: 30980, expect: masq(ep([...L(2), ...R(2)], 8080)) },
  { scenario: 'source-ranges', name: 'external outside the ranges → cluster IP is not filtered', from: 'external-other', proto: 'tcp', dst: '10.96.9.10', dport: 80, expect: masq(ep([...L(2), ...R(2)], 8080)) },
  { scenario: 'source-ranges', name: 'pod (in 10.0.0.0/8) → LB IP admitted', from: 'pod', proto: 'tcp', dst: '10.250.0.9', dport: 80, expect: { kind: 'endpoints', set: ep([...L(2), ...R(2)], 8080) } },
  { scenario: 'source-ranges', name: 'node → LB IP admitted', from: 'node', proto: 'tcp', dst: '10.250.0.9', dport: 80, expect: masq(ep([...L(2), ...R(2)], 8080)) },

  { scenario: 'source-ranges', name: 'Local + ranges: listed source → LB IP reaches the local endpoint, client IP kept', from: 'external-other', proto: 'tcp', dst: '10.250.0.19', dport: 80, expect: preserved(ep(L(3), 8080)) },
  { scenario: 'source-ranges', name: 'Local + ranges: unlisted source → LB IP dropped', from: 'external', proto: 'tcp', dst: '10.250.0.19', dport: 80, expect: { kind: 'dropped' } },
  { scenario: 'source-ranges', name: 'Local + ranges: a pod outside the ranges → LB IP dropped too', from: 'pod', proto: 'tcp', dst: '10.250.0.19', dport: 80, expect: { kind: 'dropped' } },
  { scenario: 'source-ranges', name: 'Local + ranges: the node outside the ranges → LB IP dropped too', from: 'node', proto: 'tcp', dst: '10.250.0.19', dport: 80, expect: { kind: 'dropped' } },
  { scenario: 'source-ranges', name: 'IPv6 ranges: listed source → IPv6 LB IP admitted', from: 'external-other', proto: 'tcp', dst: 'fd00:10:250::19', dport: 80, expect: preserved(ep(L6(3), 8080)) },
  { scenario: 'source-ranges', name: 'IPv6 ranges: unlisted source → IPv6 LB IP dropped', from: 'external', proto: 'tcp', dst: 'fd00:10:250::19', dport: 80, expect: { kind: 'dropped' } },
  { scenario: 'source-ranges', name: 'IPv6 ranges: unlisted source → NodePort not filtered', from: 'external', proto: 'tcp', dst: NODE6, dport: 30920, expect: preserved(ep(L6(3), 8080)) },

  // --- external-ips.
  { scenario: 'external-ips', name: 'external → external IP tcp (Cluster) masqueraded', from: 'external', proto: 'tcp', dst: '10.250.0.10', dport: 80, expect: masq(ep([...L(2), ...R(2)], 8080)) },
  { scenario: 'external-ips', name: 'external → external IP udp (Cluster) masqueraded', from: 'external', proto: 'udp', dst: '10.250.0.10', dport: 53, expect: masq(ep([...L(2), ...R(2)], 5353)) },
  { scenario: 'external-ips', name: 'pod → external IP (Cluster) masqueraded', from: 'pod', proto: 'tcp', dst: '10.250.0.10', dport: 80, expect: masq(ep([...L(2), ...R(2)], 8080)) },
  { scenario: 'external-ips', name: 'node → external IP masqueraded', from: 'node', proto: 'tcp', dst: '10.250.0.10', dport: 80, expect: masq(ep([...L(2), ...R(2)], 8080)) },
  { scenario: 'external-ips', name: 'external → external IP (Local): local endpoint, client IP kept', from: 'external', proto: 'tcp', dst: '10.250.0.11', dport: 80, expect: preserved(ep(L(3), 8080)) },
  { scenario: 'external-ips', name: 'pod → external IP (Local): short-circuit to all endpoints', from: 'pod', proto: 'tcp', dst: '10.250.0.11', dport: 80, expect: preserved(ep([...L(3), ...R(3)], 8080)) },
  { scenario: 'external-ips', name: 'node → external IP (Local): short-circuit to all endpoints, masqueraded', from: 'node', proto: 'tcp', dst: '10.250.0.11', dport: 80, expect: masq(ep([...L(3), ...R(3)], 8080)) },
  { scenario: 'external-ips', name: 'external → external IP on an unserved port is not answered', from: 'external', proto: 'tcp', dst: '10.250.0.10', dport: 81, expect: { kind: 'unanswered' } },

  // --- topology-hints (node in zone-a).
  { scenario: 'topology-hints', name: 'all endpoints hinted: only those hinted for zone-a', from: 'pod', proto: 'tcp', dst: '10.96.11.10', dport: 80, expect: preserved(ep([...L(2), ...R(3)], 8080)) },
  { scenario: 'topology-hints', name: 'one endpoint without hints: all endpoints', from: 'pod', proto: 'tcp', dst: '10.96.11.20', dport: 80, expect: preserved(ep([...L(4), ...R(4, 5)], 8080)) },
  { scenario: 'topology-hints', name: 'no endpoint hinted for zone-a: all endpoints', from: 'pod', proto: 'tcp', dst: '10.96.11.30', dport: 80, expect: preserved(ep([...L(5), ...R(6)], 8080)) },

  // --- dual-stack.
  { scenario: 'dual-stack', name: 'pod → IPv4 cluster IP', from: 'pod', proto: 'tcp', dst: '10.96.12.10', dport: 80, expect: preserved(ep([...L(2), ...R(2)], 8080)) },
  { scenario: 'dual-stack', name: 'pod → IPv6 cluster IP', from: 'pod', proto: 'tcp', dst: 'fd00:10:96::c10', dport: 80, expect: preserved(ep([...L6(2), ...R6(2)], 8080)) },
  { scenario: 'dual-stack', name: 'pod → IPv6 cluster IP udp', from: 'pod', proto: 'udp', dst: 'fd00:10:96::c10', dport: 53, expect: preserved(ep([...L6(2), ...R6(2)], 5353)) },
  { scenario: 'dual-stack', name: 'external → IPv6 NodePort masqueraded', from: 'external', proto: 'tcp', dst: NODE6, dport: 31280, expect: masq(ep([...L6(2), ...R6(2)], 8080)) },
  { scenario: 'dual-stack', name: 'external → IPv6 NodePort udp masqueraded', from: 'external', proto: 'udp', dst: NODE6, dport: 31253, expect: masq(ep([...L6(2), ...R6(2)], 5353)) },
  { scenario: 'dual-stack', name: 'external → IPv4 NodePort masqueraded', from: 'external', proto: 'tcp', dst: NODE, dport: 31280, expect: masq(ep([...L(2), ...R(2)], 8080)) },
  { scenario: 'dual-stack', name: 'node → IPv6 cluster IP masqueraded', from: 'node', proto: 'tcp', dst: 'fd00:10:96::c10', dport: 80, expect: masq(ep([...L6(2), ...R6(2)], 8080)) },
  { scenario: 'dual-stack', name: 'pod → IPv6-only Service', from: 'pod', proto: 'tcp', dst: 'fd00:10:96::c20', dport: 80, expect: preserved(ep([...L6(3), ...R6(3)], 8080)) },
  { scenario: 'dual-stack', name: 'external → IPv6 LB IP (Local): local endpoint, client IP kept', from: 'external', proto: 'tcp', dst: 'fd00:10:250::c', dport: 80, expect: preserved(ep(L6(4), 8080)) },
  { scenario: 'dual-stack', name: 'external → IPv4 LB IP of the same Service (Local)', from: 'external', proto: 'tcp', dst: '10.250.0.12', dport: 80, expect: preserved(ep(L(4), 8080)) },
  { scenario: 'dual-stack', name: 'pod → IPv6 cluster IP on an unserved port is rejected', from: 'pod', proto: 'tcp', dst: 'fd00:10:96::c10', dport: 81, expect: { kind: 'refused' } },
  { scenario: 'dual-stack', name: 'hairpin: an IPv6 endpoint reaching its own Service', from: 'pod:10.244.1.3', proto: 'tcp', dst: 'fd00:10:96::c20', dport: 80, expect: { kind: 'endpoints', set: ep([...L6(3), ...R6(3)], 8080), hairpin: true } },

  // --- no-detector: no --cluster-cidr, so nothing tells pod traffic from external traffic.
  { scenario: 'no-detector', name: 'pod → cluster IP is not masqueraded', from: 'pod', proto: 'tcp', dst: '10.96.14.10', dport: 80, expect: preserved(ep([...L(2), ...R(2)], 8080)) },
  { scenario: 'no-detector', name: 'external → cluster IP is not masqueraded either', from: 'external', proto: 'tcp', dst: '10.96.14.10', dport: 80, expect: preserved(ep([...L(2), ...R(2)], 8080)) },
  { scenario: 'no-detector', name: 'pod → LB IP (Local) is not short-circuited: local endpoint only', from: 'pod', proto: 'tcp', dst: '10.250.0.14', dport: 80, expect: preserved(ep(L(2), 8080)) },
  { scenario: 'no-detector', name: 'external → LB IP (Local): local endpoint, client IP kept', from: 'external', proto: 'tcp', dst: '10.250.0.14', dport: 80, expect: preserved(ep(L(2), 8080)) },
  { scenario: 'no-detector', name: 'node → LB IP (Local) still short-circuits, masqueraded', from: 'node', proto: 'tcp', dst: '10.250.0.14', dport: 80, expect: masq(ep([...L(2), ...R(2)], 8080)) },

  // --- kube-proxy-options: --masquerade-all, --service-cidr, --nodeport-addresses CIDRs.
  { scenario: 'kube-proxy-options', name: 'masquerade-all: pod → cluster IP is masqueraded', from: 'pod', proto: 'tcp', dst: '10.96.15.10', dport: 80, expect: masq(ep([...L(2), ...R(2)], 8080)) },
  { scenario: 'kube-proxy-options', name: 'masquerade-all: pod → IPv6 cluster IP is masqueraded', from: 'pod', proto: 'tcp', dst: 'fd00:10:96::f10', dport: 80, expect: masq(ep([...L6(2), ...R6(2)], 8080)) },
  { scenario: 'kube-proxy-options', name: 'service-cidr: pod → unallocated service IP is dropped', from: 'pod', proto: 'tcp', dst: '10.96.15.99', dport: 80, expect: { kind: 'dropped' } },
  { scenario: 'kube-proxy-options', name: 'service-cidr: pod → unallocated IPv6 service IP is dropped', from: 'pod', proto: 'tcp', dst: 'fd00:10:96::f99', dport: 80, expect: { kind: 'dropped' } },
  { scenario: 'kube-proxy-options', name: 'service-cidr: node → unallocated service IP is dropped', from: 'node', proto: 'tcp', dst: '10.96.15.99', dport: 80, expect: { kind: 'dropped' } },
  { scenario: 'kube-proxy-options', name: 'an allocated cluster IP on an unserved port is still rejected', from: 'pod', proto: 'tcp', dst: '10.96.15.10', dport: 81, expect: { kind: 'refused' } },
  { scenario: 'kube-proxy-options', name: 'nodeport-addresses: NodePort served on the address in the CIDR', from: 'external', proto: 'tcp', dst: '10.200.0.1', dport: 31580, expect: masq(ep([...L(2), ...R(2)], 8080)) },
  { scenario: 'kube-proxy-options', name: 'nodeport-addresses: IPv6 NodePort served on the address in the CIDR', from: 'external', proto: 'tcp', dst: 'fd00:10:200::1', dport: 31580, expect: masq(ep([...L6(2), ...R6(2)], 8080)) },
  { scenario: 'kube-proxy-options', name: 'nodeport-addresses: NodePort not served on the node IP outside the CIDR', from: 'external', proto: 'tcp', dst: NODE, dport: 31580, expect: { kind: 'unanswered', by: 'node' } },

  // --- bad-input: the good Services still work, the bad ones are not served.
  { scenario: 'bad-input', name: 'good Service tcp works despite FQDN, bad-IP and bad-port slices', from: 'pod', proto: 'tcp', dst: '10.96.13.10', dport: 80, expect: preserved(ep([...L(2), ...R(2)], 8080)) },
  { scenario: 'bad-input', name: 'good Service udp works', from: 'pod', proto: 'udp', dst: '10.96.13.10', dport: 53, expect: preserved(ep([...L(2), ...R(2)], 5353)) },
  { scenario: 'bad-input', name: 'good UDP-only Service works', from: 'pod', proto: 'udp', dst: '10.96.13.70', dport: 53, expect: preserved(ep([...L(4), ...R(4)], 5353)) },
  { scenario: 'bad-input', name: 'Service of another proxy is not served', from: 'pod', proto: 'tcp', dst: '10.96.13.50', dport: 80, expect: { kind: 'unanswered' } },
  { scenario: 'bad-input', name: 'Service with a hostile name is not served', from: 'pod', proto: 'tcp', dst: '10.96.13.40', dport: 80, expect: { kind: 'unanswered' } },
];

/** Scenarios that have at least one flow case, in table order. */
export function flowScenarios(): string[] {
  return [...new Set(FLOWS.map((f) => f.scenario))];
}
