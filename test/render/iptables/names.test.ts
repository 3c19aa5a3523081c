import {
  base32Sha256, endpointChainName, endpointString, isServiceChainName, serviceChainName,
} from '../../../src/render/iptables/index.js';

const port = (key: string, protocol: 'tcp' | 'udp' | 'sctp' = 'tcp') => ({ key, protocol });

describe('iptables chain names (identical to kube-proxy)', () => {
  it.each([
    ['ns1/svc1:p80', 'KUBE-SVC-XPGD46QRK7WJZT7O'],
    ['ns2/svc2:p80', 'KUBE-SVC-GNZBNJ2PO5MGZ6GT'],
    ['ns5/svc5:p80', 'KUBE-SVC-NUKIZ6OKUXPJNT4C'],
  ])('%s + tcp → %s', (key, name) => {
    expect(serviceChainName('svc', port(key))).toBe(name);
  });

  it('KUBE-SVL/EXT/FW share the service hash', () => {
    const sp = port('ns1/svc1:p80');
    expect(serviceChainName('svl', sp)).toBe('KUBE-SVL-XPGD46QRK7WJZT7O');
    expect(serviceChainName('ext', sp)).toBe('KUBE-EXT-XPGD46QRK7WJZT7O');
    expect(serviceChainName('fw', sp)).toBe('KUBE-FW-XPGD46QRK7WJZT7O');
  });

  it.each([
    ['ns1/svc1:p80', '10.180.0.1', 'KUBE-SEP-SXIVWICOYRO3J4NJ'],
    ['ns4/svc4:p80', '10.180.0.5', 'KUBE-SEP-C6EBXVWJJZMIWKLZ'],
  ])('KUBE-SEP of %s + tcp + %s:80 → %s', (key, ip, name) => {
    expect(endpointChainName(port(key), { ip, port: 80 })).toBe(name);
  });

  it('the protocol is part of the hash', () => {
    expect(serviceChainName('svc', port('ns1/svc1:p80', 'udp'))).not.toBe('KUBE-SVC-XPGD46QRK7WJZT7O');
  });

  it('hashes IPv6 endpoints as [addr]:port', () => {
    expect(endpointString('fd00::1', 80)).toBe('[fd00::1]:80');
    expect(endpointChainName(port('ns1/svc1:p80'), { ip: 'fd00::1', port: 80 }))
      .toBe(`KUBE-SEP-${base32Sha256('ns1/svc1:p80tcp[fd00::1]:80').slice(0, 16)}`);
  });

  it('is standard base32 of the whole digest (52 characters + padding-free tail)', () => {
    // sha256("") = e3b0c442…; Go: base32.StdEncoding.EncodeToString → "4OYMIQUY7QOBJGX3…"
    expect(base32Sha256('').slice(0, 16)).toBe('4OYMIQUY7QOBJGX3');
    expect(base32Sha256('x')).toHaveLength(52);
  });

  it('names fit the 28-character iptables limit and are recognised by prefix', () => {
    for (const n of [serviceChainName('svc', port('a-very-long-namespace-name/and-a-long-service:with-port')), 'KUBE-SEP-SXIVWICOYRO3J4NJ']) {
      expect(n.length).toBeLessThanOrEqual(28);
      expect(isServiceChainName(n)).toBe(true);
    }
    expect(isServiceChainName('KUBE-SERVICES')).toBe(false);
  });
});
