import { describe, expect, it } from '@jest/globals';
import { renderNftables, sanitizeComment, toNftCleanupScript, toNftScript } from '../../../src/render/nftables/index.js';
import { ep, richState, sp, state } from './fixtures.js';

describe('toNftScript', () => {
  it('replaces each table atomically: add, delete, define', () => {
    const script = toNftScript(renderNftables(richState()));
    const heads = script.split('\n').filter((l) => /^(add|delete|table) /.test(l));
    expect(heads).toEqual([
      'add table ip kube-proxy', 'delete table ip kube-proxy', 'table ip kube-proxy {',
      'add table ip6 kube-proxy', 'delete table ip6 kube-proxy', 'table ip6 kube-proxy {',
    ]);
    expect(script.endsWith('}\n')).toBe(true);
  });

  it('cleans up both families by default', () => {
    expect(toNftCleanupScript()).toBe(
      'add table ip kube-proxy\ndelete table ip kube-proxy\nadd table ip6 kube-proxy\ndelete table ip6 kube-proxy\n',
    );
  });

  it('never lets a comment break out of its quotes', () => {
    expect(sanitizeComment('ns/a"b\nc;d\\e{f}')).toBe('ns/a_b_c_d_e_f_');
    expect(Buffer.byteLength(sanitizeComment('x'.repeat(300)))).toBe(128);
    const evil = sp({ namespace: 'ns', name: 'svc', clusterIP: '172.30.0.1', port: 80, allEndpoints: [ep('10.1.0.1', 80)] });
    const script = toNftScript(renderNftables(state({ services: [{ ...evil, key: 'ns/svc:"; flush ruleset\n#' }] })));
    expect(script).not.toContain('flush ruleset\n');
    expect(script).toContain('comment "ns/svc:__ flush ruleset__"');
    for (const m of script.matchAll(/comment "([^"]*)"/g)) expect(m[1]).toMatch(/^[A-Za-z0-9 ._:/@+=,-]*$/);
  });

  it('declares empty sets and maps so later syncs can add elements', () => {
    const script = toNftScript(renderNftables(state()));
    for (const name of ['cluster-ips', 'nodeport-ips', 'hairpin', 'firewall-ips', 'firewall-allow']) {
      expect(script).toContain(`\tset ${name} {`);
    }
    for (const name of ['service-ips', 'service-nodeports', 'lb', 'lb-cluster', 'np-lb', 'np-lb-cluster', 'no-endpoint-services', 'no-endpoint-nodeports']) {
      expect(script).toContain(`\tmap ${name} {`);
    }
  });
});
