import { Registry } from 'prom-client';
import { createMetrics, recordProblems } from '../src/observe/metrics.js';

describe('metrics', () => {
  it('counts invalid objects by kind and effect on an injected registry, not not-proxied ones', async () => {
    const m = createMetrics(new Registry());
    recordProblems(m, [
      { kind: 'Service', object: 'a/b', path: 'spec.ports[0].port', message: 'x', effect: 'skipped' },
      { kind: 'EndpointSlice', object: 'a/c', path: 'addressType', message: 'FQDN', effect: 'skipped' },
      { kind: 'Service', object: 'a/d', path: '', message: 'ExternalName', effect: 'not-proxied' },
    ]);
    const text = await m.registry.metrics();
    expect(text).toContain('kpx_invalid_objects_total{kind="Service",effect="skipped"} 1');
    expect(text).toContain('kpx_invalid_objects_total{kind="EndpointSlice",effect="skipped"} 1');
    expect(text).not.toContain('not-proxied');
  });

  it('counts an object once however many problems it has (skipped wins over ignored)', async () => {
    const m = createMetrics(new Registry());
    recordProblems(m, [
      { kind: 'Service', object: 'a/b', path: 'spec.ports[0].port', message: 'x', effect: 'ignored' },
      { kind: 'Service', object: 'a/b', path: 'spec.ports[1].port', message: 'x', effect: 'ignored' },
      { kind: 'Service', object: 'a/b', path: 'spec.ports', message: 'no valid port', effect: 'skipped' },
      { kind: 'EndpointSlice', object: 'a/c', path: 'endpoints[0].addresses[0]', message: 'x', effect: 'ignored' },
      { kind: 'EndpointSlice', object: 'a/c', path: 'endpoints[1].addresses[0]', message: 'x', effect: 'ignored' },
      { kind: 'Node', object: 'n', path: '', message: 'no Node', effect: 'warning' },
    ]);
    const text = await m.registry.metrics();
    expect(text).toContain('kpx_invalid_objects_total{kind="Service",effect="skipped"} 1');
    expect(text).not.toContain('kpx_invalid_objects_total{kind="Service",effect="ignored"}');
    expect(text).toContain('kpx_invalid_objects_total{kind="EndpointSlice",effect="ignored"} 1');
    expect(text).not.toContain('kind="Node"');
  });
});
