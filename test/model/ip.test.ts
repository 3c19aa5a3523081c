import { cidrContains, parseCIDR, parseIP } from '../../src/model/ip.js';

describe('parseIP', () => {
  it.each([
    ['10.0.0.1', '10.0.0.1', 'ipv4'],
    ['fd00:0:0::0001', 'fd00::1', 'ipv6'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1', 'ipv6'],
    ['::ffff:10.1.2.3', '10.1.2.3', 'ipv4'],
    ['::', '::', 'ipv6'],
  ])('accepts %s as %s', (input, text, family) => {
    expect(parseIP(input)).toMatchObject({ text, family });
  });

  it.each(['10.0.0.300', '10.0.0', '010.0.0.1', '10.0.0.1; flush ruleset', ' 10.0.0.1', 'fd00::1::2', 'fe80::1%eth0', 'example.com', ''])(
    'rejects %j', (input) => {
      expect(parseIP(input)).toBeUndefined();
    });
});

describe('parseCIDR', () => {
  it('clears host bits and keeps the prefix', () => {
    expect(parseCIDR('10.1.2.3/16')?.text).toBe('10.1.0.0/16');
    expect(parseCIDR('fd00::1/64')?.text).toBe('fd00::/64');
  });
  it('rejects a bare address and bad prefixes', () => {
    expect(parseCIDR('10.0.0.1')).toBeUndefined();
    expect(parseCIDR('10.0.0.0/33')).toBeUndefined();
    expect(parseCIDR('10.0.0.0/8 ')).toBeUndefined();
  });
  it('tests containment within a family only', () => {
    const c = parseCIDR('10.244.0.0/16')!;
    expect(cidrContains(c, parseIP('10.244.9.9')!)).toBe(true);
    expect(cidrContains(c, parseIP('10.245.0.1')!)).toBe(false);
    expect(cidrContains(c, parseIP('fd00::1')!)).toBe(false);
  });
});
