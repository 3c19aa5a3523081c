/** IPVS tracer: ipset matching, IPVS scheduling and re-injection on small hand-built rulesets, and loud failure on unknown shapes. */
import { describe, expect, it } from '@jest/globals';
import type {
  GlueChain, GlueMatch, GlueRule, GlueTable, Ipset, IpvsFamilyRuleset, IpvsRuleset, VirtualServer,
} from '../../src/render/ipvs/types.js';
import { UnknownRuleError, ipvsTracer, type TraceInput } from '../../src/trace/index.js';

const NODE = '10.100.0.10';
const VIP = '10.96.0.1';

const b = (name: string, rules: GlueRule[]): GlueChain => ({ name, builtin: true, rules });
const set = (name: string, type: Ipset['type'], entries: string[]): Ipset => ({ name, type, family: 'ipv4', comment: name, entries });
const match = (name: string, flags: Extract<GlueMatch, { kind: 'set' }>['flags'], negate = false): GlueMatch => ({ kind: 'set', name, flags, negate });
const vs = (over: Partial<VirtualServer> = {}): VirtualServer => ({
  family: 'ipv4', protocol: 'tcp', address: VIP, port: 80, scheduler: 'rr', schedulerFlags: [], service: 'ns/s:p', frontend: 'cluster-ip',
  realServers: [{ ip: '10.244.1.2', port: 8080, weight: 1 }, { ip: '10.244.1.3', port: 8080, weight: 1 }, { ip: '10.244.2.2', port: 8080, weight: 1 }],
  ...over,
});

/** kube-proxy's masquerade plumbing: mark in nat PREROUTING/OUTPUT, MASQUERADE in POSTROUTING. */
const POSTROUTING = b('POSTROUTING', [
  { matches: [match('LOOP', 'dst,dst,src')], target: { kind: 'MASQUERADE', randomFully: false } },
  { matches: [{ kind: 'mark', value: 0x4000, mask: 0x4000, negate: true }], target: { kind: 'RETURN' } },
  { matches: [], target: { kind: 'MASQUERADE', randomFully: true } },
]);

function ruleset(over: Partial<IpvsFamilyRuleset> & { nat?: GlueChain[]; filter?: GlueChain[]; sets?: Ipset[] } = {}): IpvsRuleset {
  const tables: GlueTable[] = [{ name: 'nat', chains: over.nat ?? [POSTROUTING] }, { name: 'filter', chains: over.filter ?? [] }];
  return {
    families: [{
      family: 'ipv4',
      virtualServers: over.virtualServers ?? [vs()],
      ipsets: over.sets ?? [set('LOOP', 'hash:ip,port,ip', ['10.244.1.2,tcp:8080,10.244.1.2'])],
      tables: over.tables ?? tables,
      addresses: over.addresses ?? [VIP],
    }],
  };
}
const input = (over: Partial<TraceInput> = {}): TraceInput => ({
  src: '10.244.1.2', dst: VIP, dport: 80, proto: 'tcp', origin: 'pod', localAddresses: [NODE], ...over,
});
const verdicts = (r: IpvsRuleset, i: Partial<TraceInput> = {}): string[] => ipvsTracer(r).trace(input(i)).outcomes.map((o) => o.verdict);

describe('ipvs tracer: IPVS', () => {
  it('schedules rr uniformly at LOCAL_IN; the hairpin set masquerades only the way back to the client', () => {
    const r = ipvsTracer(ruleset()).trace(input());
    expect(r.outcomes.map((o) => [o.endpoint, o.probability.toFixed(9), o.masquerade])).toEqual([
      ['10.244.1.2:8080', '0.333333333', true], ['10.244.1.3:8080', '0.333333333', false], ['10.244.2.2:8080', '0.333333333', false],
    ]);
    expect(JSON.stringify(r.path)).toContain('ip_vs_remote_request (LOCAL_IN)');
  });

  it('leaves out real servers of weight 0, weighs wrr, and rejects without a real server', () => {
    const weighted = vs({ scheduler: 'wrr', realServers: [{ ip: '10.244.1.2', port: 80, weight: 3 }, { ip: '10.244.1.3', port: 80, weight: 1 }, { ip: '10.244.1.4', port: 80, weight: 0 }] });
    expect(ipvsTracer(ruleset({ virtualServers: [weighted] })).trace(input()).outcomes.map((o) => [o.endpoint, o.probability]))
      .toEqual([['10.244.1.2:80', 0.75], ['10.244.1.3:80', 0.25]]);
    expect(verdicts(ruleset({ virtualServers: [vs({ realServers: [] })] }))).toEqual(['reject']);
  });

  it('persistence makes every outcome sticky; the mark set in nat PREROUTING masquerades after re-injection', () => {
    const nat = [b('PREROUTING', [{ matches: [], target: { kind: 'mark', op: 'or', mark: 0x4000 } }]), POSTROUTING];
    const r = ipvsTracer(ruleset({ nat, virtualServers: [vs({ persistenceSeconds: 10800 })] })).trace(input({ src: '10.200.0.2', origin: 'external' }));
    expect(r.outcomes.every((o) => o.verdict === 'dnat' && o.sticky && o.masquerade)).toBe(true);
  });

  it('an arriving packet for a virtual server that is not a local address is forwarded, never scheduled', () => {
    expect(verdicts(ruleset({ addresses: [] }))).toEqual(['none']);
    expect(verdicts(ruleset({ addresses: [] }), { dst: NODE })).toEqual(['none']);
  });

  it('the node\'s own packets are scheduled at LOCAL_OUT; KUBE-IPVS-OUT-FILTER (-m ipvs) drops those from the VIP itself', () => {
    const out = b('OUTPUT', [{ matches: [{ kind: 'source', cidr: VIP, negate: false }, { kind: 'ipvs', vaddr: VIP, vproto: 'tcp', vport: 80 }], target: { kind: 'DROP' } }]);
    const r = ruleset({ filter: [out] });
    expect(verdicts(r, { src: VIP, origin: 'local' })).toEqual(['drop']);
    const bound = ipvsTracer(r).trace(input({ src: NODE, origin: 'local' }));
    expect(bound.outcomes.map((o) => o.verdict)).toEqual(['dnat', 'dnat', 'dnat']);
    expect(JSON.stringify(bound.path)).toContain(`an unbound socket on the node sends from ${VIP}`);
    expect(JSON.stringify(bound.path)).toContain('ip_vs_local_request (LOCAL_OUT)');
    // -m ipvs matches only packets IPVS forwarded: the same rule for another port does not.
    const other = b('OUTPUT', [{ matches: [{ kind: 'ipvs', vaddr: VIP, vproto: 'tcp', vport: 81 }], target: { kind: 'DROP' } }]);
    expect(verdicts(ruleset({ filter: [other] }), { src: VIP, origin: 'local' })).toEqual(['dnat', 'dnat', 'dnat']);
  });

  it('filter INPUT runs before IPVS: a DROP or REJECT there ends the packet', () => {
    const input4 = (target: 'DROP' | 'REJECT'): GlueChain => b('INPUT', [{ matches: [match('DROPSET', 'dst,dst')], target: { kind: target } }]);
    const sets = [set('LOOP', 'hash:ip,port,ip', []), set('DROPSET', 'hash:ip,port', [`${VIP},tcp:80`])];
    expect(verdicts(ruleset({ filter: [input4('DROP')], sets }))).toEqual(['drop']);
    expect(verdicts(ruleset({ filter: [input4('REJECT')], sets }))).toEqual(['reject']);
    expect(verdicts(ruleset({ filter: [input4('DROP')], sets }), { proto: 'udp' })).toEqual(['none']);
  });
});

describe('ipvs tracer: ipset membership', () => {
  /** A filter INPUT rule that drops when `m` matches; the packet goes to the node IP (no virtual server). */
  const drops = (s: Ipset, m: GlueMatch, i: Partial<TraceInput> = {}): boolean =>
    verdicts(ruleset({ sets: [set('LOOP', 'hash:ip,port,ip', []), s], filter: [b('INPUT', [{ matches: [m], target: { kind: 'DROP' } }])] }), { dst: NODE, dport: 30080, ...i })[0] === 'drop';

  it.each([
    ['hash:ip dst', set('S', 'hash:ip', [NODE]), match('S', 'dst'), {}, true],
    ['hash:ip dst, negated', set('S', 'hash:ip', [NODE]), match('S', 'dst', true), {}, false],
    ['hash:ip,port dst,dst', set('S', 'hash:ip,port', [`${NODE},tcp:30080`]), match('S', 'dst,dst'), {}, true],
    ['hash:ip,port dst,dst, other protocol', set('S', 'hash:ip,port', [`${NODE},udp:30080`]), match('S', 'dst,dst'), {}, false],
    ['hash:ip,port src,dst', set('S', 'hash:ip,port', ['10.244.1.2,tcp:30080']), match('S', 'src,dst'), {}, true],
    ['hash:ip,port,ip dst,dst,src', set('S', 'hash:ip,port,ip', [`${NODE},tcp:30080,10.244.1.2`]), match('S', 'dst,dst,src'), {}, true],
    ['hash:ip,port,ip dst,dst,src, other source', set('S', 'hash:ip,port,ip', [`${NODE},tcp:30080,10.244.1.9`]), match('S', 'dst,dst,src'), {}, false],
    ['hash:ip,port,net dst,dst,src', set('S', 'hash:ip,port,net', [`${NODE},tcp:30080,10.0.0.0/8`]), match('S', 'dst,dst,src'), {}, true],
    ['hash:ip,port,net dst,dst,src, outside', set('S', 'hash:ip,port,net', [`${NODE},tcp:30080,10.0.0.0/8`]), match('S', 'dst,dst,src'), { src: '192.168.0.1' }, false],
    ['bitmap:port dst (any protocol)', set('S', 'bitmap:port', ['30080']), match('S', 'dst'), { proto: 'udp' }, true],
    ['bitmap:port dst, other port', set('S', 'bitmap:port', ['30080']), match('S', 'dst'), { dport: 30081 }, false],
  ] as const)('%s', (_name, s, m, i, want) => {
    expect(drops(s, m, i)).toBe(want);
  });

  it('IPv6 sets and addresses', () => {
    const s6: Ipset = { name: 'S6', type: 'hash:ip,port', family: 'ipv6', comment: '', entries: ['fd00:10:96::1,tcp:80'] };
    const r: IpvsRuleset = { families: [{ family: 'ipv6', virtualServers: [], ipsets: [s6], addresses: ['fd00:10:96::1'],
      tables: [{ name: 'filter', chains: [b('INPUT', [{ matches: [match('S6', 'dst,dst')], target: { kind: 'DROP' } }])] }] }] };
    expect(verdicts(r, { src: 'fd00:10:244:1::2', dst: 'fd00:10:96:0::1' })).toEqual(['drop']);
  });
});

describe('ipvs tracer: unknown shapes throw', () => {
  const withInput = (rules: GlueRule[], sets: Ipset[] = [set('LOOP', 'hash:ip,port,ip', [])]): IpvsRuleset => ruleset({ filter: [b('INPUT', rules)], sets });
  it.each([
    ['an unknown match kind', withInput([{ matches: [{ kind: 'owner' } as never], target: { kind: 'DROP' } }])],
    ['an unknown target kind', withInput([{ matches: [], target: { kind: 'DNAT' } as never }])],
    ['a set that does not exist', withInput([{ matches: [match('NOPE', 'dst')], target: { kind: 'DROP' } }])],
    ['directions that do not fit the set', withInput([{ matches: [match('LOOP', 'dst,dst')], target: { kind: 'DROP' } }])],
    ['a malformed set element', withInput([], [set('LOOP', 'hash:ip,port,ip', ['10.0.0.1,80,10.0.0.2'])])],
    ['a jump to a missing chain', withInput([{ matches: [], target: { kind: 'jump', chain: 'KUBE-NOPE' } }])],
    ['REJECT in nat', ruleset({ nat: [b('PREROUTING', [{ matches: [], target: { kind: 'REJECT' } }])] })],
    ['MASQUERADE in filter', withInput([{ matches: [], target: { kind: 'MASQUERADE', randomFully: false } }])],
    ['a nat INPUT chain (after IPVS on LOCAL_IN)', ruleset({ nat: [b('INPUT', [])] })],
    ['a scheduler that depends on live load', ruleset({ virtualServers: [vs({ scheduler: 'lc' })] })],
    ['two virtual servers for one address and port', ruleset({ virtualServers: [vs(), vs()] })],
  ])('%s', (_name, r) => {
    expect(() => ipvsTracer(r).trace(input())).toThrow(UnknownRuleError);
  });
});
