/** nftables tracer: kernel semantics on small hand-built rulesets, and loud failure on unknown shapes. */
import { describe, expect, it } from '@jest/globals';
import type { NftChain, NftRule, NftRuleset, NftTable } from '../../src/render/nftables/types.js';
import { UnknownRuleError, nftablesTracer, type TraceInput } from '../../src/trace/index.js';

const F = [{ kind: 'field', field: 'daddr' }, { kind: 'field', field: 'l4proto' }, { kind: 'field', field: 'dport' }] as const;

function table(chains: NftChain[], extra: Partial<NftTable> = {}): NftRuleset {
  return { tables: [{ family: 'ip', name: 'kube-proxy', sets: [], maps: [], chains, ...extra }] };
}
const natPre = (rules: NftRule[]): NftChain => ({ name: 'nat-prerouting', hook: { type: 'nat', hook: 'prerouting', priority: -100, policy: 'accept' }, rules });
const natOut = (rules: NftRule[]): NftChain => ({ name: 'nat-output', hook: { type: 'nat', hook: 'output', priority: -100, policy: 'accept' }, rules });
const filterIn = (rules: NftRule[]): NftChain => ({ name: 'filter-input', hook: { type: 'filter', hook: 'input', priority: -110, policy: 'accept' }, rules });
const filterPre = (rules: NftRule[]): NftChain => ({ name: 'filter-prerouting', hook: { type: 'filter', hook: 'prerouting', priority: -110, policy: 'accept' }, rules });
const input = (over: Partial<TraceInput> = {}): TraceInput => ({
  src: '10.200.0.2', dst: '10.96.0.1', dport: 80, proto: 'tcp', origin: 'external', localAddresses: ['10.100.0.10'], ...over,
});

describe('nftables tracer', () => {
  it('spreads numgen choices uniformly through a data map', () => {
    const r = nftablesTracer(table([natPre([{ matches: [], statements: [{ kind: 'dnat-map', key: [...F, { kind: 'numgen', mod: 3 }], map: 'eps' }] }])], {
      maps: [{
        name: 'eps', key: { typeof: 'x' }, value: { typeof: 'y' }, flags: [], elements: [0, 1, 2].map((i) => ({
          key: ['10.96.0.1', 'tcp', '80', String(i)], value: { kind: 'data' as const, parts: [`10.244.0.${i + 1}`, '8080'] },
        })),
      }],
    })).trace(input());
    expect(r.outcomes.map((o) => [o.endpoint, o.probability.toFixed(6)])).toEqual([
      ['10.244.0.1:8080', '0.333333'], ['10.244.0.2:8080', '0.333333'], ['10.244.0.3:8080', '0.333333'],
    ]);
    expect(r.path.some((s) => s.kind === 'branch' && s.branches.length === 3)).toBe(true);
  });

  it('goto does not return to the chain that went there; jump does', () => {
    const drop: NftRule = { matches: [], statements: [{ kind: 'verdict', verdict: { kind: 'drop' } }] };
    const viaGoto = table([
      filterPre([{ matches: [], statements: [{ kind: 'verdict', verdict: { kind: 'jump', chain: 'a' } }] }, drop]),
      { name: 'a', rules: [{ matches: [], statements: [{ kind: 'verdict', verdict: { kind: 'goto', chain: 'b' } }] }, drop] },
      { name: 'b', rules: [] },
    ]);
    // b ends → back to filter-prerouting (a's caller), whose next rule drops.
    expect(nftablesTracer(viaGoto).trace(input()).outcomes).toEqual([{ verdict: 'drop', masquerade: false, sticky: false, probability: 1 }]);
  });

  it('treats a dynamic (affinity) set as empty and marks the outcome sticky', () => {
    const r = nftablesTracer(table([natPre([
      { matches: [{ kind: 'lookup', key: [{ kind: 'field', field: 'saddr' }], set: 'aff', negate: false }], statements: [{ kind: 'dnat', addr: '10.244.0.9', port: 1 }] },
      { matches: [], statements: [{ kind: 'set-update', set: 'aff', key: [{ kind: 'field', field: 'saddr' }] }, { kind: 'dnat', addr: '10.244.0.1', port: 80 }] },
    ])], { sets: [{ name: 'aff', key: { type: 'ipv4_addr' }, flags: ['dynamic', 'timeout'], timeout: 10, elements: [] }] })).trace(input());
    expect(r.outcomes).toEqual([{ verdict: 'dnat', endpoint: '10.244.0.1:80', masquerade: false, sticky: true, probability: 1 }]);
  });

  it('runs nat chains once per connection: loopback skips nat prerouting', () => {
    const dnat = (addr: string): NftRule => ({ matches: [], statements: [{ kind: 'dnat', addr, port: 80 }] });
    const r = nftablesTracer(table([natOut([dnat('127.0.0.1')]), natPre([dnat('10.9.9.9')])])).trace(input({ origin: 'local', src: '10.100.0.10' }));
    expect(r.outcomes).toEqual([{ verdict: 'dnat', endpoint: '127.0.0.1:80', masquerade: false, sticky: false, probability: 1 }]);
  });

  it('an unmatched packet is "none"', () => {
    expect(nftablesTracer(table([natPre([])])).trace(input()).outcomes.map((o) => o.verdict)).toEqual(['none']);
  });

  it.each([
    ['an unknown match kind', filterIn([{ matches: [{ kind: 'iifname', name: 'eth0' } as never], statements: [] }])],
    ['an unknown statement kind', filterIn([{ matches: [], statements: [{ kind: 'counter' } as never] }])],
    ['an unknown verdict', filterIn([{ matches: [], statements: [{ kind: 'verdict', verdict: { kind: 'queue' } as never }] }])],
    ['dnat in a filter chain', filterIn([{ matches: [], statements: [{ kind: 'dnat', addr: '1.2.3.4', port: 1 }] }])],
    ['reject on prerouting', filterPre([{ matches: [], statements: [{ kind: 'verdict', verdict: { kind: 'reject' } }] }])],
    ['a jump to a missing chain', filterIn([{ matches: [], statements: [{ kind: 'verdict', verdict: { kind: 'jump', chain: 'nope' } }] }])],
    ['a lookup in a missing set', filterIn([{ matches: [{ kind: 'lookup', key: [{ kind: 'field', field: 'saddr' }], set: 'nope', negate: false }], statements: [] }])],
    ['a statement after a verdict', filterIn([{ matches: [], statements: [{ kind: 'verdict', verdict: { kind: 'accept' } }, { kind: 'mark', op: 'or', mark: 1 }] }])],
  ])('throws on %s', (_name, chain) => {
    expect(() => nftablesTracer(table([chain])).trace(input({ dst: '10.100.0.10' }))).toThrow(UnknownRuleError);
  });

  it('throws on an element that does not fit the key, and on a CIDR in a non-interval set', () => {
    const lookup = (flags: ('interval')[], key: string[]) => table([filterIn([
      { matches: [{ kind: 'lookup', key: [{ kind: 'field', field: 'daddr' }], set: 's', negate: false }], statements: [] },
    ])], { sets: [{ name: 's', key: { type: 'ipv4_addr' }, flags, elements: [{ key }] }] });
    expect(() => nftablesTracer(lookup([], ['10.0.0.0/8'])).trace(input({ dst: '10.100.0.10' }))).toThrow(UnknownRuleError);
    expect(() => nftablesTracer(lookup([], ['10.0.0.1', 'tcp'])).trace(input({ dst: '10.100.0.10' }))).toThrow(UnknownRuleError);
    expect(nftablesTracer(lookup(['interval'], ['10.0.0.0/8'])).trace(input({ dst: '10.100.0.10' })).outcomes[0]?.verdict).toBe('none');
  });
});
