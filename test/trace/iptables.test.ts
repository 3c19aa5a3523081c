/** iptables tracer: x_tables semantics on small hand-built rulesets, and loud failure on unknown shapes. */
import { describe, expect, it } from '@jest/globals';
import type { IptChain, IptRule, IptablesRuleset } from '../../src/render/iptables/types.js';
import { UnknownRuleError, iptablesTracer, type TraceInput } from '../../src/trace/index.js';

function rs(nat: IptChain[], filter: IptChain[] = []): IptablesRuleset[] {
  return [{ family: 'ipv4', tables: [{ name: 'filter', chains: filter }, { name: 'nat', chains: nat }] }];
}
const b = (name: string, rules: IptRule[]): IptChain => ({ name, builtin: true, rules });
const c = (name: string, rules: IptRule[]): IptChain => ({ name, builtin: false, rules });
const input = (over: Partial<TraceInput> = {}): TraceInput => ({
  src: '10.200.0.2', dst: '10.96.0.1', dport: 80, proto: 'tcp', origin: 'external', localAddresses: ['10.100.0.10'], ...over,
});
const dnat = (ip: string): IptRule => ({ matches: [{ kind: 'protocol', protocol: 'tcp' }], target: { kind: 'DNAT', ip, port: 80 } });

describe('iptables tracer', () => {
  it('follows kube-proxy\'s statistic cascade to a uniform spread', () => {
    const r = iptablesTracer(rs([b('PREROUTING', [
      { matches: [{ kind: 'statistic-random', probability: 1 / 3 }], target: { kind: 'jump', chain: 'A' } },
      { matches: [{ kind: 'statistic-random', probability: 1 / 2 }], target: { kind: 'jump', chain: 'B' } },
      { matches: [], target: { kind: 'jump', chain: 'C' } },
    ]), c('A', [dnat('10.0.0.1')]), c('B', [dnat('10.0.0.2')]), c('C', [dnat('10.0.0.3')])])).trace(input());
    expect(r.outcomes.map((o) => [o.endpoint, o.probability.toFixed(9)])).toEqual([
      ['10.0.0.1:80', '0.333333333'], ['10.0.0.2:80', '0.333333333'], ['10.0.0.3:80', '0.333333333'],
    ]);
  });

  it('masquerades from the mark in POSTROUTING, and REJECT in filter ends the packet', () => {
    const marked = iptablesTracer(rs([
      b('PREROUTING', [{ matches: [], target: { kind: 'mark', op: 'or', mark: 0x4000 } }, dnat('10.0.0.1')]),
      b('POSTROUTING', [
        { matches: [{ kind: 'mark', value: 0x4000, mask: 0x4000, negate: true }], target: { kind: 'RETURN' } },
        { matches: [], target: { kind: 'MASQUERADE', randomFully: true } },
      ]),
    ])).trace(input());
    expect(marked.outcomes).toEqual([{ verdict: 'dnat', endpoint: '10.0.0.1:80', masquerade: true, sticky: false, probability: 1 }]);
    const rejected = iptablesTracer(rs([], [b('FORWARD', [{ matches: [{ kind: 'conntrack', states: ['NEW'], negate: false }], target: { kind: 'REJECT' } }])])).trace(input());
    expect(rejected.outcomes.map((o) => o.verdict)).toEqual(['reject']);
  });

  it('recent --rcheck fails for a fresh client; --set makes the outcome sticky', () => {
    const r = iptablesTracer(rs([b('PREROUTING', [
      { matches: [{ kind: 'recent-check', name: 'X', seconds: 10 }], target: { kind: 'DNAT', ip: '10.0.0.9', port: 1 } },
      { matches: [{ kind: 'recent-set', name: 'X' }, { kind: 'protocol', protocol: 'tcp' }], target: { kind: 'DNAT', ip: '10.0.0.1', port: 80 } },
    ])])).trace(input());
    expect(r.outcomes).toEqual([{ verdict: 'dnat', endpoint: '10.0.0.1:80', masquerade: false, sticky: true, probability: 1 }]);
  });

  it('an explicit filter ACCEPT without DNAT is "accept"', () => {
    const r = iptablesTracer(rs([], [b('INPUT', [{ matches: [], target: { kind: 'ACCEPT' } }])])).trace(input({ dst: '10.100.0.10' }));
    expect(r.outcomes.map((o) => o.verdict)).toEqual(['accept']);
  });

  it.each([
    ['an unknown match kind', rs([b('PREROUTING', [{ matches: [{ kind: 'physdev' } as never] }])])],
    ['an unknown target kind', rs([b('PREROUTING', [{ matches: [], target: { kind: 'SNAT' } as never }])])],
    ['--dport without a protocol', rs([b('PREROUTING', [{ matches: [{ kind: 'dport', port: 80 }] }])])],
    ['REJECT in nat', rs([b('PREROUTING', [{ matches: [], target: { kind: 'REJECT' } }])])],
    ['DNAT in filter', rs([], [b('FORWARD', [{ matches: [], target: { kind: 'DNAT', ip: '1.1.1.1', port: 1 } }])])],
    ['a jump to a missing chain', rs([b('PREROUTING', [{ matches: [], target: { kind: 'jump', chain: 'KUBE-NOPE' } }])])],
    ['an unknown built-in chain', rs([b('MANGLE', [])])],
    ['an IPv6 CIDR in an IPv4 ruleset', rs([b('PREROUTING', [{ matches: [{ kind: 'source', cidr: '::/0', negate: false }] }])])],
  ])('throws on %s', (_name, rulesets) => {
    expect(() => iptablesTracer(rulesets).trace(input())).toThrow(UnknownRuleError);
  });
});
