import {
  formatMark, formatProbability, formatRule, quoteArg, ruleArgs, toIptablesRestore,
  type IptablesRuleset,
} from '../../../src/render/iptables/index.js';

describe('formatProbability (Go %0.10f)', () => {
  it.each([
    [1 / 2, '0.5000000000'],
    [1 / 3, '0.3333333333'],
    [1 / 6, '0.1666666667'],
    [1 / 7, '0.1428571429'],
    [1 / 1000, '0.0010000000'],
    // An exact tie at the 11th digit: Go rounds half to even, toFixed would print …813.
    [1 / 2048, '0.0004882812'],
    [1, '1.0000000000'],
  ])('%d → %s', (p, text) => {
    expect(formatProbability(p)).toBe(text);
  });
});

describe('rule printing', () => {
  it('prints kube-proxy argument order with quoted comments', () => {
    const line = formatRule('KUBE-SERVICES', {
      matches: [
        { kind: 'comment', text: 'ns1/svc1:p80 cluster IP' },
        { kind: 'protocol', protocol: 'tcp' },
        { kind: 'destination', cidr: '10.96.0.1/32', negate: false },
        { kind: 'dport', port: 80 },
      ],
      target: { kind: 'jump', chain: 'KUBE-SVC-XPGD46QRK7WJZT7O' },
    });
    expect(line).toBe('-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 10.96.0.1/32 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O');
  });

  it('prints negations, marks, recent, statistic and DNAT', () => {
    expect(ruleArgs({ matches: [{ kind: 'mark', value: 0x4000, mask: 0x4000, negate: true }], target: { kind: 'RETURN' } }).join(' '))
      .toBe('-m mark ! --mark 0x4000/0x4000 -j RETURN');
    expect(ruleArgs({ matches: [{ kind: 'recent-check', name: 'KUBE-SEP-X', seconds: 10800 }], target: { kind: 'jump', chain: 'KUBE-SEP-X' } }).join(' '))
      .toBe('-m recent --name KUBE-SEP-X --rcheck --seconds 10800 --reap -j KUBE-SEP-X');
    expect(ruleArgs({ matches: [{ kind: 'statistic-random', probability: 1 / 3 }], target: { kind: 'jump', chain: 'A' } }).join(' '))
      .toBe('-m statistic --mode random --probability 0.3333333333 -j A');
    expect(ruleArgs({ matches: [{ kind: 'recent-set', name: 'S' }, { kind: 'protocol', protocol: 'udp' }], target: { kind: 'DNAT', ip: 'fd00::1', port: 53 } }).join(' '))
      .toBe('-m recent --name S --set -m udp -p udp -j DNAT --to-destination [fd00::1]:53');
    expect(ruleArgs({ matches: [], target: { kind: 'MASQUERADE', randomFully: true } }).join(' ')).toBe('-j MASQUERADE --random-fully');
    expect(formatMark(0x4000)).toBe('0x4000');
    expect(formatMark(2 ** 31)).toBe('0x80000000');
  });

  it('quotes only what needs quoting', () => {
    expect(quoteArg('ns1/svc1:p80')).toBe('ns1/svc1:p80');
    expect(quoteArg('ns1/svc1:')).toBe('ns1/svc1:');
    expect(quoteArg('a b')).toBe('"a b"');
    expect(quoteArg('')).toBe('""');
  });
});

describe('toIptablesRestore', () => {
  const ruleset: IptablesRuleset = {
    family: 'ipv4',
    tables: [
      { name: 'filter', chains: [{ name: 'INPUT', builtin: true, rules: [{ matches: [], target: { kind: 'jump', chain: 'KUBE-FIREWALL' } }] }, { name: 'KUBE-FIREWALL', builtin: false, rules: [] }] },
      { name: 'nat', chains: [{ name: 'KUBE-SERVICES', builtin: false, rules: [] }] },
    ],
  };

  it('full form: declares every chain, built-ins with policy ACCEPT, then its rules, one COMMIT per table', () => {
    expect(toIptablesRestore(ruleset, { form: 'full' })).toBe([
      '*filter', ':INPUT ACCEPT [0:0]', ':KUBE-FIREWALL - [0:0]', '-A INPUT -j KUBE-FIREWALL', 'COMMIT',
      '*nat', ':KUBE-SERVICES - [0:0]', 'COMMIT', '',
    ].join('\n'));
  });

  it('default (noflush) form: only kpx\'s own chains, no built-in chain or policy', () => {
    expect(toIptablesRestore(ruleset)).toBe(['*filter', ':KUBE-FIREWALL - [0:0]', 'COMMIT', '*nat', ':KUBE-SERVICES - [0:0]', 'COMMIT', ''].join('\n'));
  });
});
