/**
 * The fixed iptables glue of kube-proxy's IPVS mode: a few rules per table that match
 * the ipsets, so their number does not grow with the number of Services. Rules for an
 * empty set are left out, as upstream does; KUBE-IPVS-FILTER and the health-check rule
 * are always written. Shapes and order follow upstream's `writeIptablesRules`.
 */
import type { FamilyState } from '../../model/types.js';
import { C, SET_INFO, setName, type SetRole } from './names.js';
import type { GlueChain, GlueMatch, GlueRule, GlueTable, GlueTarget, Ipset, SetFlags } from './types.js';
import type { Protocol } from '../../model/types.js';

/** An LB IP:port that the node itself must not reach (its IP is in no source range). */
export interface OutFilterEntry {
  readonly ip: string;
  readonly protocol: Protocol;
  readonly port: number;
}

const rule = (matches: readonly GlueMatch[], target: GlueTarget): GlueRule => ({ matches, target });
const comment = (text: string): GlueMatch => ({ kind: 'comment', text });
const jump = (chain: string): GlueTarget => ({ kind: 'jump', chain });
const ACCEPT: GlueTarget = { kind: 'ACCEPT' };
const DROP: GlueTarget = { kind: 'DROP' };
const RETURN: GlueTarget = { kind: 'RETURN' };
const REJECT: GlueTarget = { kind: 'REJECT' };
const localSrc: GlueMatch = { kind: 'addrtype-local', addr: 'src', negate: false };
const chain = (name: string, rules: readonly GlueRule[]): GlueChain => ({ name, builtin: false, rules });
const builtin = (name: string, rules: readonly GlueRule[]): GlueChain => ({ name, builtin: true, rules });

const KPX_LOCAL_MASQ = 'kpx: traffic of the node itself to a Local-policy frontend is masqueraded';

export function renderGlue(fs: FamilyState, ipsets: readonly Ipset[], outFilter: readonly OutFilterEntry[]): GlueTable[] {
  const nonEmpty = (role: SetRole): boolean => (ipsets.find((s) => s.name === setName(role, fs.family))?.entries.length ?? 0) > 0;
  const set = (role: SetRole, flags: SetFlags): GlueMatch => ({ kind: 'set', name: setName(role, fs.family), flags, negate: false });
  /** `-m comment --comment <the set's comment> -m set --match-set NAME FLAGS`, as upstream. */
  const commented = (role: SetRole, flags: SetFlags): GlueMatch[] => [comment(SET_INFO[role].comment), set(role, flags)];
  const when = (cond: boolean, ...rules: GlueRule[]): GlueRule[] => (cond ? rules : []);
  const markMasq = jump(C.markMasq);
  const mark = fs.masqueradeMark;

  // nat KUBE-SERVICES
  const loopback = fs.family === 'ipv6' ? '::1/128' : '127.0.0.0/8';
  const multiCIDR = !fs.masqueradeAll && fs.clusterCIDRs.length > 1;
  const clusterIPMasq: GlueRule = fs.masqueradeAll
    ? rule(commented('clusterIP', 'dst,dst'), markMasq)
    : fs.clusterCIDRs.length === 1
      ? rule([...commented('clusterIP', 'dst,dst'), { kind: 'source', cidr: fs.clusterCIDRs[0]!, negate: true }], markMasq)
      : multiCIDR
        ? rule(commented('clusterIP', 'dst,dst'), jump(C.masqNotLocal))
        // No detector: masquerade the node's own connections, which leave with a VIP as source.
        : rule(commented('clusterIP', 'src,dst'), markMasq);
  const externalAccept = (role: SetRole): GlueRule[] => [
    rule([...commented(role, 'dst,dst'), { kind: 'not-physdev-in' }, { kind: 'addrtype-local', addr: 'src', negate: true }], ACCEPT),
    rule([...commented(role, 'dst,dst'), { kind: 'addrtype-local', addr: 'dst', negate: false }], ACCEPT),
  ];
  const natServices: GlueRule[] = [
    rule([{ kind: 'source', cidr: loopback, negate: false }], RETURN),
    ...when(nonEmpty('loadBalancer'), rule(commented('loadBalancer', 'dst,dst'), jump(C.loadBalancer))),
    ...when(nonEmpty('clusterIP'), clusterIPMasq),
    ...(nonEmpty('externalIP') ? [rule(commented('externalIP', 'dst,dst'), markMasq), ...externalAccept('externalIP')] : []),
    ...(nonEmpty('externalIPLocal') ? [
      rule([...commented('externalIPLocal', 'dst,dst'), localSrc], markMasq),
      ...externalAccept('externalIPLocal'),
    ] : []),
    rule([{ kind: 'addrtype-local', addr: 'dst', negate: false }], jump(C.nodePort)),
    ...when(nonEmpty('clusterIP'), rule([set('clusterIP', 'dst,dst')], ACCEPT)),
    ...when(nonEmpty('loadBalancer'), rule([set('loadBalancer', 'dst,dst')], ACCEPT)),
  ];

  const anyLocalNodePort = nonEmpty('nodePortLocalTCP') || nonEmpty('nodePortLocalUDP') || nonEmpty('nodePortLocalSCTP');
  const nodePortPair = (p: Protocol, local: SetRole, all: SetRole, flags: SetFlags): GlueRule[] => [
    ...when(nonEmpty(local), rule([{ kind: 'protocol', protocol: p }, ...commented(local, flags)], RETURN)),
    ...when(nonEmpty(all), rule([{ kind: 'protocol', protocol: p }, ...commented(all, flags)], markMasq)),
  ];
  const nat: GlueTable = {
    name: 'nat',
    chains: [
      builtin('PREROUTING', [rule([comment('kubernetes service portals')], jump(C.services))]),
      builtin('OUTPUT', [rule([comment('kubernetes service portals')], jump(C.services))]),
      builtin('POSTROUTING', [rule([comment('kubernetes postrouting rules')], jump(C.postrouting))]),
      chain(C.services, natServices),
      chain(C.postrouting, [
        ...when(nonEmpty('loopBack'), rule(commented('loopBack', 'dst,dst,src'), { kind: 'MASQUERADE', randomFully: false })),
        rule([{ kind: 'mark', value: mark, mask: mark, negate: true }], RETURN),
        rule([], { kind: 'mark', op: 'xor', mark }),
        rule([comment('kubernetes service traffic requiring SNAT')], { kind: 'MASQUERADE', randomFully: true }),
      ]),
      chain(C.nodePort, [
        ...when(anyLocalNodePort, rule([comment(KPX_LOCAL_MASQ), localSrc], markMasq)),
        ...nodePortPair('tcp', 'nodePortLocalTCP', 'nodePortTCP', 'dst'),
        ...nodePortPair('udp', 'nodePortLocalUDP', 'nodePortUDP', 'dst'),
        ...nodePortPair('sctp', 'nodePortLocalSCTP', 'nodePortSCTP', 'dst,dst'),
      ]),
      chain(C.loadBalancer, [
        ...when(nonEmpty('loadBalancerLocal'), rule([comment(KPX_LOCAL_MASQ), localSrc], markMasq)),
        ...when(nonEmpty('loadBalancerLocal'), rule(commented('loadBalancerLocal', 'dst,dst'), RETURN)),
        rule([], markMasq),
      ]),
      chain(C.markMasq, [rule([], { kind: 'mark', op: 'or', mark })]),
      ...(multiCIDR && nonEmpty('clusterIP')
        ? [chain(C.masqNotLocal, [...fs.clusterCIDRs.map((c) => rule([{ kind: 'source', cidr: c, negate: false }], RETURN)), rule([], markMasq)])]
        : []),
    ],
  };

  const ipvsFilterReturn = (role: SetRole, flags: SetFlags): GlueRule => rule([set(role, flags)], RETURN);
  const filter: GlueTable = {
    name: 'filter',
    chains: [
      builtin('INPUT', [
        rule([comment('kubernetes ipvs access filter')], jump(C.ipvsFilter)),
        rule([comment('kube-proxy firewall rules')], jump(C.proxyFirewall)),
        rule([comment('kubernetes health check rules')], jump(C.nodePort)),
      ]),
      builtin('FORWARD', [
        rule([comment('kube-proxy firewall rules')], jump(C.proxyFirewall)),
        rule([comment('kubernetes forwarding rules')], jump(C.forward)),
      ]),
      builtin('OUTPUT', [rule([comment('kubernetes ipvs access filter')], jump(C.ipvsOutFilter))]),
      chain(C.forward, [
        rule([comment('kubernetes forwarding rules'), { kind: 'mark', value: mark, mask: mark, negate: false }], ACCEPT),
        rule([comment('kubernetes forwarding conntrack rule'), { kind: 'conntrack', states: ['RELATED', 'ESTABLISHED'] }], ACCEPT),
      ]),
      chain(C.nodePort, [rule(commented('healthCheckNodePort', 'dst'), ACCEPT)]),
      chain(C.proxyFirewall, [
        ...when(nonEmpty('loadBalancerFW'), rule(commented('loadBalancerFW', 'dst,dst'), jump(C.sourceRangesFirewall))),
        ...when(nonEmpty('drop'), rule(commented('drop', 'dst,dst'), DROP)),
        ...when(nonEmpty('dropExternal'), rule(commented('dropExternal', 'dst,dst'), jump(C.dropExternal))),
      ]),
      chain(C.sourceRangesFirewall, [
        ...when(nonEmpty('loadBalancerSourceCIDR'), rule(commented('loadBalancerSourceCIDR', 'dst,dst,src'), RETURN)),
        ...when(nonEmpty('loadBalancerSourceIP'), rule(commented('loadBalancerSourceIP', 'dst,dst,src'), RETURN)),
        rule([], DROP),
      ]),
      chain(C.ipvsFilter, [
        ipvsFilterReturn('loadBalancer', 'dst,dst'),
        ipvsFilterReturn('clusterIP', 'dst,dst'),
        ipvsFilterReturn('externalIP', 'dst,dst'),
        ipvsFilterReturn('externalIPLocal', 'dst,dst'),
        ipvsFilterReturn('healthCheckNodePort', 'dst'),
        rule([{ kind: 'conntrack', states: ['NEW'] }, set('ipvsIPs', 'dst')], REJECT),
      ]),
      chain(C.ipvsOutFilter, outFilter.map((e) => rule([
        { kind: 'source', cidr: e.ip, negate: false },
        { kind: 'ipvs', vaddr: e.ip, vproto: e.protocol, vport: e.port },
      ], DROP))),
      ...(nonEmpty('dropExternal') ? [chain(C.dropExternal, [
        // The model's short-circuits: pods and the node itself reach clusterEndpoints.
        ...fs.clusterCIDRs.map((c) => rule([{ kind: 'source', cidr: c, negate: false }], RETURN)),
        rule([localSrc], RETURN),
        rule([], DROP),
      ])] : []),
    ],
  };
  return [nat, filter];
}
