/** Which --nodeport-addresses reach 127.0.0.1 (route_localnet in iptables mode), pure. */
import { enableRouteLocalnet, localhostNodePorts, ROUTE_LOCALNET } from '../../src/sync/route-localnet.js';

test.each([
  [['all'], true],
  [[], true],
  [['primary'], false],
  [['127.0.0.0/8'], true],
  [['0.0.0.0/0'], true],
  [['10.0.0.0/8'], false],
  [['fd00::/8'], true], // no IPv4 CIDR: every local IPv4 address, loopback included
  [['10.0.0.0/8', '127.0.0.1/32'], true],
] as const)('%j → %s', (values, expected) => {
  expect(localhostNodePorts(values)).toBe(expected);
});

test('enableRouteLocalnet writes 1 to the namespace-wide setting', async () => {
  const writes: [string, string][] = [];
  await enableRouteLocalnet(async (p, v) => { writes.push([p, v]); });
  expect(writes).toEqual([[ROUTE_LOCALNET, '1']]);
});
