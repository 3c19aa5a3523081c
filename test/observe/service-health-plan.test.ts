/** The pure half of the health check servers: targets, counts, listen addresses, the diff, the body. */
import type { Endpoint, ServicePort } from '../../src/model/types.js';
import {
  healthCheckBody, listenAddresses, localReadyEndpoints, planServers, targetOf, type WantedServer,
} from '../../src/observe/service-health-plan.js';

const ep = (ip: string, local: boolean, ready = true): Endpoint => ({ ip, port: 8080, local, ready, serving: true, terminating: !ready });
const port = (over: Partial<ServicePort>): ServicePort => ({ namespace: 'ns', name: 'web', allEndpoints: [], ...over } as ServicePort);

test('target: the healthCheckNodePort any port of the Service carries; none without one', () => {
  expect(targetOf('ns/web', 'ipv4', [port({}), port({ healthCheckNodePort: 32000 })]))
    .toEqual({ key: 'ns/web', namespace: 'ns', name: 'web', family: 'ipv4', port: 32000 });
  expect(targetOf('ns/web', 'ipv6', [port({})])).toBeUndefined();
  expect(targetOf('ns/web', 'ipv4', [])).toBeUndefined();
});

test('local endpoints: distinct IPs of ready endpoints on this node, over all ports (terminating and remote ones do not count)', () => {
  expect(localReadyEndpoints([
    port({ allEndpoints: [ep('10.0.0.1', true), ep('10.0.0.2', false), ep('10.0.0.3', true, false)] }),
    port({ allEndpoints: [ep('10.0.0.1', true), ep('10.0.0.4', true)] }),
  ])).toBe(2);
  expect(localReadyEndpoints([port({ allEndpoints: [ep('10.0.0.2', false)] })])).toBe(0);
});

test('listen addresses: the family wildcard when NodePorts match every address, else the NodePort IPs (sorted)', () => {
  expect(listenAddresses({ family: 'ipv4', nodePortAddresses: ['0.0.0.0/0'], nodePortIPs: ['10.0.0.1', '127.0.0.1'] })).toEqual(['0.0.0.0']);
  expect(listenAddresses({ family: 'ipv6', nodePortAddresses: ['::/0'], nodePortIPs: ['fd00::1'] })).toEqual(['::']);
  expect(listenAddresses({ family: 'ipv4', nodePortAddresses: ['10.0.0.2/32', '10.0.0.1/32'], nodePortIPs: ['10.0.0.2', '10.0.0.1'] })).toEqual(['10.0.0.1', '10.0.0.2']);
  expect(listenAddresses({ family: 'ipv4', nodePortAddresses: [], nodePortIPs: [] })).toEqual([]);
});

test('plan: unchanged servers stay; gone, moved or re-addressed ones are closed; new and changed ones opened', () => {
  const s = (key: string, p: number, addresses = ['10.0.0.1']): WantedServer =>
    ({ target: { key, namespace: 'ns', name: key, family: 'ipv4', port: p }, addresses });
  const running = new Map([['a', s('a', 1)], ['b', s('b', 2)], ['c', s('c', 3)], ['d', s('d', 4)]]);
  const wanted = new Map([['a', s('a', 1)], ['b', s('b', 20)], ['d', s('d', 4, ['10.0.0.1', '10.0.0.2'])], ['e', s('e', 5)]]);
  expect(planServers(running, wanted)).toEqual({ close: ['b', 'c', 'd'], open: ['b', 'd', 'e'] });
  expect(planServers(wanted, wanted)).toEqual({ close: [], open: [] });
});

test("body: upstream's dedented template, byte for byte", () => {
  expect(healthCheckBody({ namespace: 'a', name: 'b' }, 3, false))
    .toBe('{\n\t"service": {\n\t\t"namespace": "a",\n\t\t"name": "b"\n\t},\n\t"localEndpoints": 3,\n\t"serviceProxyHealthy": false\n}');
});
