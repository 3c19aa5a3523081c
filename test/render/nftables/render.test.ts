import { describe, expect, it } from '@jest/globals';
import {
  NAMES, affinityChainName, affinitySetName, base32Sha256, formatMapElement, formatRule, formatSetElement,
  renderNftables, toNftScript, type NftMap, type NftSet, type NftTable,
} from '../../../src/render/nftables/index.js';
import type { ServicePort } from '../../../src/model/types.js';
import { ep, richState, sp, state } from './fixtures.js';

function table(t: readonly NftTable[], family: 'ip' | 'ip6' = 'ip'): NftTable {
  const found = t.find((x) => x.family === family);
  if (found === undefined) throw new Error(`no ${family} table`);
  return found;
}
function map(t: NftTable, name: string): NftMap | undefined {
  return t.maps.find((m) => m.name === name);
}
function set(t: NftTable, name: string): NftSet | undefined {
  return t.sets.find((s) => s.name === name);
}
function mapLines(t: NftTable, name: string): string[] {
  return (map(t, name)?.elements ?? []).map(formatMapElement);
}
function chainRules(t: NftTable, name: string): string[] {
  return (t.chains.find((c) => c.name === name)?.rules ?? []).map((r) => formatRule(r, t.family));
}

/** Every set, map and chain a rule or element refers to exists (what the kernel checks). */
function danglingReferences(t: NftTable): string[] {
  const chains = new Set(t.chains.map((c) => c.name));
  const sets = new Set([...t.sets.map((s) => s.name), ...t.maps.map((m) => m.name)]);
  const missing: string[] = [];
  for (const c of t.chains) {
    for (const r of c.rules) {
      for (const m of r.matches) if (m.kind === 'lookup' && !sets.has(m.set)) missing.push(`set ${m.set}`);
      for (const s of r.statements) {
        if ((s.kind === 'vmap' || s.kind === 'dnat-map') && !sets.has(s.map)) missing.push(`map ${s.map}`);
        if (s.kind === 'set-update' && !sets.has(s.set)) missing.push(`set ${s.set}`);
        if (s.kind === 'verdict' && (s.verdict.kind === 'jump' || s.verdict.kind === 'goto') && !chains.has(s.verdict.chain)) {
          missing.push(`chain ${s.verdict.chain}`);
        }
      }
    }
  }
  for (const m of t.maps) {
    for (const e of m.elements) {
      if (e.value.kind === 'verdict' && 'chain' in e.value.verdict && !chains.has(e.value.verdict.chain)) {
        missing.push(`chain ${e.value.verdict.chain}`);
      }
    }
  }
  return missing;
}

function manyServices(count: number): ServicePort[] {
  return Array.from({ length: count }, (_, i) => {
    const ip = `172.30.${Math.floor(i / 250)}.${(i % 250) + 1}`;
    const eps = [ep(`10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`, 8080), ep(`10.2.${Math.floor(i / 250)}.${(i % 250) + 1}`, 8080)];
    return sp({ namespace: 'ns', name: `svc${i}`, clusterIP: ip, port: 80, nodePort: 30000 + i, externalIPs: [`192.0.${Math.floor(i / 250)}.${(i % 250) + 1}`], allEndpoints: eps });
  });
}

describe('renderNftables', () => {
  it('uses kube-proxy-compatible hashes', () => {
    expect(base32Sha256('ns1/svc1:p80tcp').slice(0, 16)).toBe('XPGD46QRK7WJZT7O');
    expect(base32Sha256('ns1/svc1:p80tcp10.180.0.1:80').slice(0, 16)).toBe('SXIVWICOYRO3J4NJ');
  });

  it('always renders the ipv4 table, and ipv6 only when used', () => {
    expect(renderNftables(state()).tables.map((t) => `${t.family} ${t.name}`)).toEqual(['ip kube-proxy']);
    const dual = renderNftables(richState()).tables;
    expect(dual.map((t) => `${t.family} ${t.name}`)).toEqual(['ip kube-proxy', 'ip6 kube-proxy']);
    expect(renderNftables(state({}, { nodeIPs: ['fd00::1'] })).tables).toHaveLength(2);
  });

  it('has no dangling references in the rich fixture', () => {
    for (const t of renderNftables(richState()).tables) expect(danglingReferences(t)).toEqual([]);
  });

  it('keeps the chain count independent of the number of services', () => {
    const one = renderNftables(state({ services: manyServices(1) })).tables[0]!;
    const many = renderNftables(state({ services: manyServices(1000) })).tables[0]!;
    expect(many.chains.map((c) => c.name)).toEqual(one.chains.map((c) => c.name));
    expect(many.maps.map((m) => m.name)).toEqual(one.maps.map((m) => m.name));
    expect(map(many, 'eps-2')?.elements).toHaveLength(1000 * 2 * 2);
    expect(map(many, 'np-eps-2')?.elements).toHaveLength(1000 * 2);
    expect(danglingReferences(many)).toEqual([]);
  });

  it('puts no inline set or map in any rule', () => {
    for (const t of renderNftables(richState()).tables) {
      for (const c of t.chains) {
        for (const r of c.rules) {
          // `update @set { ip saddr }` is the update statement's key syntax, not a set.
          const text = formatRule(r, t.family).replace(/update @\S+ \{ [^{}]* \}/g, '');
          expect(text).not.toMatch(/[{}]/);
        }
      }
    }
  });

  it('creates lb chains only for endpoint counts in use', () => {
    const t = table(renderNftables(richState()).tables);
    const lb = t.chains.map((c) => c.name).filter((n) => /^(np-)?lbc?-\d+$/.test(n));
    expect(lb).toEqual(['lb-1', 'lb-3', 'lbc-1', 'lbc-3', 'np-lb-1', 'np-lbc-1', 'np-lbc-3']);
    expect(chainRules(t, 'lb-3')).toContain('meta l4proto tcp dnat to ip daddr . meta l4proto . th dport . numgen random mod 3 map @eps-3');
    expect(map(t, 'eps-3')?.key).toEqual({ typeof: 'ip daddr . meta l4proto . th dport . numgen random mod 3' });
    const t6 = table(renderNftables(richState()).tables, 'ip6');
    expect(chainRules(t6, 'np-lb-2')).toContain('meta l4proto udp dnat to meta l4proto . th dport . numgen random mod 2 map @np-eps-2');
  });

  it('dispatches frontends by traffic class and chooses REJECT or DROP from the model', () => {
    const t = table(renderNftables(richState()).tables);
    expect(mapLines(t, NAMES.serviceIPs)).toEqual(expect.arrayContaining([
      '172.30.0.1 . tcp . 80 comment "ns1/plain:p80" : goto internal',
      '192.0.2.3 . tcp . 443 comment "ns2/local-lb:p443" : goto external-local',
      '192.0.2.6 . tcp . 80 comment "ns3/sticky:p80" : goto external',
    ]));
    expect(mapLines(t, NAMES.noEndpointServices)).toEqual([
      '172.30.0.2 . tcp . 80 comment "ns1/empty:p80" : goto reject-chain',
      '172.30.0.5 . tcp . 80 comment "ns3/internal-local-none:p80" : drop',
      '192.0.2.2 . tcp . 80 comment "ns1/empty:p80" : goto reject-chain',
      '198.51.100.4 . tcp . 80 comment "ns2/local-none:p80" : drop',
    ]);
    expect(mapLines(t, NAMES.noEndpointNodeports)).toEqual([
      'tcp . 30002 comment "ns1/empty:p80" : goto reject-chain',
      'tcp . 30004 comment "ns2/local-none:p80" : drop',
    ]);
    // Local policy without local endpoints: still dispatched, for the pod/host short-circuits.
    expect(mapLines(t, NAMES.serviceIPs)).toContain('198.51.100.4 . tcp . 80 comment "ns2/local-none:p80" : goto external-local');
    expect(mapLines(t, NAMES.lbCluster)).toContain('198.51.100.4 . tcp . 80 comment "ns2/local-none:p80" : goto lbc-1');
    expect(mapLines(t, NAMES.lb).some((l) => l.startsWith('198.51.100.4 '))).toBe(false);
    // No endpoints at all: nothing dispatched.
    expect(mapLines(t, NAMES.serviceIPs).some((l) => l.startsWith('172.30.0.2 '))).toBe(false);
    expect(mapLines(t, 'eps-1')).toContain('172.30.0.10 . udp . 53 . 0 comment "ns1/dns:dns" : 10.1.0.5 . 53');
  });

  it('builds affinity chains with one timeout set per endpoint', () => {
    const t = table(renderNftables(richState()).tables);
    const s = richState().ipv4.services.find((x) => x.name === 'sticky')!;
    const chain = affinityChainName(s, 'cluster');
    expect(chain).toBe(`affinity-${base32Sha256('ns3/sticky:p80tcpcluster').slice(0, 16)}`);
    expect(mapLines(t, NAMES.lb)).toContain(`172.30.0.6 . tcp . 80 comment "ns3/sticky:p80" : goto ${chain}`);
    expect(mapLines(t, NAMES.npLb)).toContain(`tcp . 30006 comment "ns3/sticky:p80" : goto ${chain}`);
    const setName = affinitySetName(chain, { ip: '10.1.0.1', port: 8080 });
    expect(setName).toBe(`${chain}-${base32Sha256('10.1.0.1:8080').slice(0, 8)}`);
    expect(set(t, setName)).toEqual({ name: setName, key: { type: 'ipv4_addr' }, flags: ['dynamic', 'timeout'], timeout: 10800, elements: [] });
    const rules = chainRules(t, chain);
    expect(rules).toHaveLength(6);
    expect(rules[0]).toBe(`meta l4proto tcp ip saddr @${setName} update @${setName} { ip saddr } dnat to 10.1.0.1:8080`);
    expect(rules[3]).toBe(`meta l4proto tcp numgen random mod 3 == 0 update @${setName} { ip saddr } dnat to 10.1.0.1:8080`);
    expect(rules[5]).toMatch(/^meta l4proto tcp update @\S+ \{ ip saddr \} dnat to 10\.1\.1\.3:8080$/);
    // Local policy: its own chain for lb, the cluster chain for the short-circuits.
    const sl = richState().ipv4.services.find((x) => x.name === 'sticky-local')!;
    expect(mapLines(t, NAMES.lb)).toContain(`198.51.100.7 . tcp . 80 comment "ns3/sticky-local:p80" : goto ${affinityChainName(sl, 'local')}`);
    expect(mapLines(t, NAMES.lbCluster)).toContain(`198.51.100.7 . tcp . 80 comment "ns3/sticky-local:p80" : goto ${affinityChainName(sl, 'cluster')}`);
    const t6 = table(renderNftables(richState()).tables, 'ip6');
    expect(chainRules(t6, affinityChainName(richState().ipv6.services[2]!, 'local'))[1]).toMatch(/update @\S+ \{ ip6 saddr \} dnat to \[fd00:10::1\]:8080$/);
  });

  it('builds the firewall only for LB IPs with source ranges', () => {
    const t = table(renderNftables(richState()).tables);
    expect(set(t, NAMES.firewallIPs)?.elements.map(formatSetElement)).toEqual(['198.51.100.3 . tcp . 443 comment "ns2/local-lb:p443"']);
    expect(set(t, NAMES.firewallAllow)?.elements.map((e) => e.key.join(' . '))).toEqual([
      '198.51.100.3 . tcp . 443 . 10.0.0.0/8',
      '198.51.100.3 . tcp . 443 . 198.51.100.3',
      '198.51.100.3 . tcp . 443 . 203.0.113.0/24',
    ]);
    expect(chainRules(t, NAMES.firewallCheck)).toEqual([
      'ip daddr . meta l4proto . th dport @firewall-ips ip daddr . meta l4proto . th dport . ip saddr != @firewall-allow drop',
    ]);
  });

  it('masquerades with the model mark, printed in hex, and honours masqueradeAll', () => {
    const t = table(renderNftables(state({ masqueradeMark: 0x8000, services: manyServices(1) })).tables);
    expect(chainRules(t, NAMES.markForMasquerade)).toEqual(['meta mark set meta mark or 0x8000']);
    expect(chainRules(t, NAMES.masquerading)).toEqual([
      'ct status dnat ip saddr . ip daddr @hairpin masquerade fully-random',
      'meta mark & 0x8000 == 0 return',
      'meta mark set meta mark xor 0x8000',
      'masquerade fully-random',
    ]);
    expect(set(t, NAMES.hairpin)?.elements.map((e) => e.key.join(' . '))).toEqual(['10.1.0.1 . 10.1.0.1', '10.2.0.1 . 10.2.0.1']);
    expect(chainRules(t, NAMES.internal)).toEqual(['ip daddr . meta l4proto . th dport vmap @lb']);
    const all = table(renderNftables(state({ masqueradeAll: true, clusterCIDRs: ['10.0.0.0/8'] })).tables);
    expect(chainRules(all, NAMES.internal)).toEqual(['jump mark-for-masquerade', 'ip daddr . meta l4proto . th dport vmap @lb']);
  });

  it('omits the local-traffic detector and service-cidrs when not configured', () => {
    const t = table(renderNftables(state({ services: manyServices(3) })).tables);
    expect(set(t, NAMES.podCIDRs)).toBeUndefined();
    expect(set(t, NAMES.serviceCIDRs)).toBeUndefined();
    const script = toNftScript({ tables: [t] });
    expect(script).not.toContain('pod-cidrs');
    expect(script).not.toContain('service-cidrs');
    expect(chainRules(t, NAMES.externalLocal)).toEqual([
      'fib saddr type local jump mark-for-masquerade',
      'fib saddr type local ip daddr . meta l4proto . th dport vmap @lb-cluster',
      'ip daddr . meta l4proto . th dport vmap @lb',
    ]);
    const d = table(renderNftables(state({ clusterCIDRs: ['10.0.0.0/8'], serviceCIDRs: ['172.30.0.0/16'] })).tables);
    expect(chainRules(d, NAMES.internal)[0]).toBe('ip saddr != @pod-cidrs jump mark-for-masquerade');
    expect(chainRules(d, NAMES.externalLocal)[0]).toBe('ip saddr @pod-cidrs ip daddr . meta l4proto . th dport vmap @lb-cluster');
    expect(chainRules(d, NAMES.clusterIPsCheck)).toEqual(['ip daddr @cluster-ips reject', 'ip daddr @service-cidrs drop']);
  });

  it('normalises interval sets: host bits cleared, contained CIDRs removed', () => {
    const t = table(renderNftables(state({ nodePortAddresses: ['192.168.1.10/32', '10.0.0.5/8', '10.1.0.0/16'] })).tables);
    expect(set(t, NAMES.nodeportIPs)?.elements.map((e) => e.key[0])).toEqual(['10.0.0.0/8', '192.168.1.10']);
    const t6 = table(renderNftables(state({}, { nodeIPs: ['fd00::1'], nodePortAddresses: ['fd00:0:0:0::1/64', 'fd00::1/128', '2001:db8::/32'] })).tables, 'ip6');
    expect(set(t6, NAMES.nodeportIPs)?.elements.map((e) => e.key[0])).toEqual(['2001:db8::/32', 'fd00::/64']);
  });

  it('is deterministic whatever the input order', () => {
    const s = richState();
    const shuffled = { ...s, ipv4: { ...s.ipv4, services: [...s.ipv4.services].reverse() } };
    expect(toNftScript(renderNftables(shuffled))).toBe(toNftScript(renderNftables(s)));
  });
});
