import { localAddresses } from '../../src/sync/local-addresses.js';

test('interface addresses of this namespace, without loopback and IPv6 link-local, deduplicated and sorted', () => {
  const a = (address: string, family: 'IPv4' | 'IPv6', internal = false) =>
    ({ address, family, internal, netmask: '', mac: '', cidr: null, ...(family === 'IPv6' ? { scopeid: 0 } : {}) });
  const read = () => ({
    lo: [a('127.0.0.1', 'IPv4', true), a('::1', 'IPv6', true)],
    eth0: [a('192.168.1.10', 'IPv4'), a('fe80::1', 'IPv6'), a('fd00::10', 'IPv6')],
    eth1: [a('10.0.0.5', 'IPv4'), a('192.168.1.10', 'IPv4')],
  }) as unknown as ReturnType<typeof import('node:os').networkInterfaces>;
  expect(localAddresses(read)).toEqual(['10.0.0.5', '192.168.1.10', 'fd00::10']);
});
