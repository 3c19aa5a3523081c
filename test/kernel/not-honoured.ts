/**
 * Flow cases (test/kernel/flows.ts) a backend does not honour, by case name, with the
 * reason and what happens instead. The conformance suite judges these cases by `instead`
 * (so a change in behaviour is noticed either way). The iptables entries are the ones the
 * real-kernel iptables tests give (test/kernel/iptables.test.ts): same
 * cases, same reasons.
 */
import { NOT_HONOURED as IPVS_NOT_HONOURED } from '../ipvs-vm/not-honoured.js';
import type { FlowCase } from './flows.js';

export interface NotHonoured {
  readonly reason: string;
  readonly instead: FlowCase['expect'];
}

/** Backends with a flow suite (ipvs: in the qemu VM, test/ipvs-vm; its table lives there). */
export type ConformanceBackend = 'nftables' | 'iptables' | 'ipvs';

export const NOT_HONOURED: Readonly<Record<ConformanceBackend, Readonly<Record<string, NotHonoured>>>> = {
  nftables: {},
  iptables: {
    'pod → cluster IP on a port the Service does not serve is rejected': {
      reason: 'upstream iptables mode has no catch-all for cluster IPs (only nftables mode rejects unserved ports): '
        + 'the packet is routed on and nothing answers (probes time out)',
      instead: { kind: 'unanswered' },
    },
    'pod → IPv6 cluster IP on an unserved port is rejected': {
      reason: 'as above, for IPv6: no rule matches an unserved cluster IP port in iptables mode',
      instead: { kind: 'unanswered' },
    },
    'an allocated cluster IP on an unserved port is still rejected': {
      reason: 'as above: iptables mode never rejects unserved cluster IP ports',
      instead: { kind: 'unanswered' },
    },
    'service-cidr: pod → unallocated service IP is dropped': {
      reason: 'upstream iptables mode ignores --service-cidr (dropping unallocated service IPs is nftables-mode only): '
        + 'no rule matches, the packet is routed on',
      instead: { kind: 'unanswered' },
    },
    'service-cidr: pod → unallocated IPv6 service IP is dropped': {
      reason: 'as above, for IPv6',
      instead: { kind: 'unanswered' },
    },
    'service-cidr: node → unallocated service IP is dropped': {
      reason: 'as above, for the node\'s own traffic',
      instead: { kind: 'unanswered' },
    },
    'external → NodePort on a non-primary node address is not served': {
      reason: 'upstream iptables mode\'s --nodeport-addresses default is every local address (only nftables mode '
        + 'defaults to primary; server_linux.go platformApplyDefaults): the NodePort is served on 10.200.0.1 too',
      instead: { kind: 'endpoints', set: ['10.244.1.2:8080', '10.244.2.2:8080'], masqueraded: true },
    },
  },
  ipvs: IPVS_NOT_HONOURED,
};
