/**
 * Cases a backend's TRACER is judged on differently from its kernel suite, on top of the
 * kernel table (test/kernel/not-honoured.ts), each with the reason. Two kinds only:
 * - the kernel suite's judge is looser than the tracer's: a probe that times out passes
 *   as `dropped`, a refusal as `unanswered`, a sticky case sees one endpoint only. The
 *   tracer says exactly what the rules do, and is held to what the VM saw;
 * - the kernel answers from outside kpx's rules (the node's own TCP stack), which the
 *   tracer does not walk.
 * Entries here override the kernel table's for the same case.
 */
import type { TracedBackend } from '../../src/cli/explain.js';
import { NOT_HONOURED, type NotHonoured } from '../kernel/not-honoured.js';

const SERVICE_CIDR = 'IPVS mode ignores --service-cidr (as upstream; src/render/ipvs/README.md): no rule drops an '
  + 'unallocated service IP, the packet is routed on (tracer: none). The VM\'s probes time out because nothing on '
  + 'that route answers, which its judge cannot tell from a drop';

const NO_LISTENER = 'kpx\'s rules leave the packet alone (no virtual server on 10.200.0.1 / fd00:10:200::1; see the VM '
  + 'table): the refusal the VM sees comes from the node\'s TCP stack (nothing listens on the port), outside the rules';

export const TRACER_NOT_HONOURED: Readonly<Record<TracedBackend, Readonly<Record<string, NotHonoured>>>> = {
  nftables: {},
  iptables: {},
  ipvs: {
    'external → external IP on an unserved port is not answered': {
      reason: 'KUBE-IPVS-FILTER rejects NEW connections to any port of a kube-ipvs0 address that no set lists '
        + '(upstream IPVS mode): the VM\'s probes were refused, which its judge counts as unanswered',
      instead: { kind: 'refused' },
    },
    'service-cidr: pod → unallocated service IP is dropped': { reason: SERVICE_CIDR, instead: { kind: 'unanswered' } },
    'service-cidr: pod → unallocated IPv6 service IP is dropped': { reason: SERVICE_CIDR, instead: { kind: 'unanswered' } },
    'service-cidr: node → unallocated service IP is dropped': { reason: SERVICE_CIDR, instead: { kind: 'unanswered' } },
    'nodeport-addresses: NodePort served on the address in the CIDR': { reason: NO_LISTENER, instead: { kind: 'unanswered' } },
    'nodeport-addresses: IPv6 NodePort served on the address in the CIDR': { reason: NO_LISTENER, instead: { kind: 'unanswered' } },
    'pod → LB IP (Local, short-circuit) sticks': {
      reason: 'IPVS mode has one real-server list per virtual server: with externalTrafficPolicy Local only the local '
        + 'endpoints, so no short-circuit to the remote one (as the VM table\'s other short-circuit cases). The VM\'s '
        + 'sticky probes all land on one endpoint and cannot see that 10.244.2.7 is never chosen',
      instead: { kind: 'sticky', set: ['10.244.1.6:8080', '10.244.1.7:8080'] },
    },
  },
};

/** What the conformance suite holds `backend`'s tracer to, by case name. */
export function tracerNotHonoured(backend: TracedBackend): Readonly<Record<string, NotHonoured>> {
  return { ...NOT_HONOURED[backend], ...TRACER_NOT_HONOURED[backend] };
}
