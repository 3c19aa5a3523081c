/** The families the health status reports: IPv4 always, IPv6 with a node IPv6 address or an IPv6 Service port. */
import { buildProxyState } from '../../src/model/index.js';
import type { IPFamily, ServicePort } from '../../src/model/types.js';
import { ProgrammedFamilies } from '../../src/sync/families.js';
import type { ModelReader } from '../../src/sync/types.js';

const EMPTY = buildProxyState({ services: [], endpointSlices: [] }, { nodeName: 'n' }).state;

function model(v6Keys: string[], nodeV6 = false): ModelReader {
  return {
    keys: () => ['a/x', ...v6Keys],
    ports: (key: string, f: IPFamily) => (f === 'ipv6' && v6Keys.includes(key) ? [{ key } as unknown as ServicePort] : []),
    family: (f: IPFamily) => (f === 'ipv6' && nodeV6 ? { ...EMPTY.ipv6, nodeIPs: ['fd00::1'] } : EMPTY[f]),
  };
}

test('IPv6 is programmed while the node has an IPv6 address or some Service has IPv6 ports (tracked from affected)', () => {
  const p = new ProgrammedFamilies();
  expect(p.after({ model: model([]), affected: 'all' })).toEqual(['ipv4']);
  expect(p.after({ model: model(['b/v6']), affected: new Set(['b/v6']) })).toEqual(['ipv4', 'ipv6']);
  // An unrelated change keeps what is known.
  expect(p.after({ model: model(['b/v6']), affected: new Set(['a/x']) })).toEqual(['ipv4', 'ipv6']);
  expect(p.after({ model: model([]), affected: new Set(['b/v6']) })).toEqual(['ipv4']);
  expect(p.after({ model: model([], true), affected: new Set() })).toEqual(['ipv4', 'ipv6']);
  expect(p.after({ model: model(['c/v6']), affected: 'all' })).toEqual(['ipv4', 'ipv6']);
});
