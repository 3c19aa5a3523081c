import { buildProxyState } from '../../../src/model/build.js';
import type { ProxyOptions } from '../../../src/model/types.js';
import {
  formatGlueTable, formatVirtualServer, renderIpvs, renderIpvsFamilies, setName, toAddressBatch, toIpsetRestore,
  toIpvsadmRestore, type IpvsFamilyRuleset,
} from '../../../src/render/ipvs/index.js';
import { LOCAL, node, oneServiceState, REMOTE } from '../../model/fixtures.js';

const state = oneServiceState;

const ipvsadm = (r: IpvsFamilyRuleset): string[] => r.virtualServers.flatMap(formatVirtualServer);
const entries = (r: IpvsFamilyRuleset, name: string): readonly string[] => r.ipsets.find((s) => s.name === name)?.entries ?? [];
const chainRules = (r: IpvsFamilyRuleset, table: 'nat' | 'filter', chain: string): string[] => {
  const t = r.tables.find((x) => x.name === table)!;
  return formatGlueTable(t).split('\n').filter((l) => l.startsWith(`-A ${chain} `));
};

/** What iptables-restore checks: chains declared once, every jump to a declared chain; every set named exists. */
function expectLoadable(r: IpvsFamilyRuleset): void {
  const sets = new Set(r.ipsets.map((s) => s.name));
  for (const t of r.tables) {
    const names = t.chains.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const c of t.chains) {
      for (const rule of c.rules) {
        if (rule.target.kind === 'jump') expect(names).toContain(rule.target.chain);
        for (const m of rule.matches) if (m.kind === 'set') expect(sets).toContain(m.name);
      }
    }
  }
  for (const s of r.ipsets) expect(s.name.length).toBeLessThanOrEqual(31);
}

describe('renderIpvs: virtual servers', () => {
  it('a cluster IP: rr, masq real servers of weight 1, address bound on kube-ipvs0', () => {
    const r = renderIpvs(state({}, [LOCAL('10.244.1.2'), REMOTE('10.244.2.2')]));
    expect(ipvsadm(r)).toEqual([
      '-A -t 10.96.0.1:80 -s rr',
      '-a -t 10.96.0.1:80 -r 10.244.1.2:8080 -m -w 1',
      '-a -t 10.96.0.1:80 -r 10.244.2.2:8080 -m -w 1',
    ]);
    expect(r.addresses).toEqual(['10.96.0.1']);
    expect(entries(r, 'KUBE-CLUSTER-IP')).toEqual(['10.96.0.1,tcp:80']);
    expect(entries(r, 'KUBE-LOOP-BACK')).toEqual(['10.244.1.2,tcp:8080,10.244.1.2']);
    expect(entries(r, 'KUBE-IPVS-IPS')).toEqual(['10.96.0.1']);
    expectLoadable(r);
  });

  it('the scheduler is an option; mh gets the mh-port flag as upstream', () => {
    const fs = state({}, [LOCAL('10.244.1.2')]);
    expect(ipvsadm(renderIpvs(fs, { scheduler: 'lc' }))[0]).toBe('-A -t 10.96.0.1:80 -s lc');
    expect(ipvsadm(renderIpvs(fs, { scheduler: 'mh' }))[0]).toBe('-A -t 10.96.0.1:80 -s mh -b mh-port');
  });

  it('ClientIP affinity is persistence with the timeout', () => {
    const r = renderIpvs(state({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } } }, [LOCAL('10.244.1.2')]));
    expect(ipvsadm(r)[0]).toBe('-A -t 10.96.0.1:80 -s rr -p 600');
  });

  it('NodePort and LB IP with Cluster policy: every endpoint, NodePort on the node IP, masquerade sets', () => {
    const r = renderIpvs(state({ type: 'LoadBalancer', ports: [{ name: 'p80', port: 80, targetPort: 8080, nodePort: 30080 }] },
      [LOCAL('10.244.1.2'), REMOTE('10.244.2.2')], {}, { status: { loadBalancer: { ingress: [{ ip: '10.250.0.1' }] } } }));
    expect(ipvsadm(r).filter((l) => l.startsWith('-A'))).toEqual([
      '-A -t 10.96.0.1:80 -s rr', '-A -t 10.250.0.1:80 -s rr', '-A -t 10.100.0.10:30080 -s rr',
    ]);
    expect(ipvsadm(r).filter((l) => l.startsWith('-a -t 10.100.0.10:30080'))).toHaveLength(2);
    expect(entries(r, 'KUBE-NODE-PORT-TCP')).toEqual(['30080']);
    expect(entries(r, 'KUBE-NODE-PORT-LOCAL-TCP')).toEqual([]);
    expect(entries(r, 'KUBE-LOAD-BALANCER')).toEqual(['10.250.0.1,tcp:80']);
    expect(r.addresses).toEqual(['10.96.0.1', '10.250.0.1']);
    expect(chainRules(r, 'nat', 'KUBE-NODE-PORT')).toEqual([
      '-A KUBE-NODE-PORT -p tcp -m comment --comment "Kubernetes nodeport TCP port for masquerade purpose" -m set --match-set KUBE-NODE-PORT-TCP dst -j KUBE-MARK-MASQ',
    ]);
    expect(chainRules(r, 'nat', 'KUBE-LOAD-BALANCER')).toEqual(['-A KUBE-LOAD-BALANCER -j KUBE-MARK-MASQ']);
    expectLoadable(r);
  });

  it('Local policy: external frontends get the local endpoints only, local sets RETURN before masquerade', () => {
    const r = renderIpvs(state({ type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: 32000, ports: [{ name: 'p80', port: 80, targetPort: 8080, nodePort: 30080 }] },
      [LOCAL('10.244.1.2'), REMOTE('10.244.2.2')], {}, { status: { loadBalancer: { ingress: [{ ip: '10.250.0.1' }] } } }));
    expect(ipvsadm(r).filter((l) => l.startsWith('-a -t 10.250.0.1:80'))).toEqual(['-a -t 10.250.0.1:80 -r 10.244.1.2:8080 -m -w 1']);
    expect(ipvsadm(r).filter((l) => l.startsWith('-a -t 10.96.0.1:80'))).toHaveLength(2);
    expect(entries(r, 'KUBE-LOAD-BALANCER-LOCAL')).toEqual(['10.250.0.1,tcp:80']);
    expect(entries(r, 'KUBE-NODE-PORT-LOCAL-TCP')).toEqual(['30080']);
    expect(entries(r, 'KUBE-HEALTH-CHECK-NODE-PORT')).toEqual(['32000']);
    expect(chainRules(r, 'nat', 'KUBE-NODE-PORT')).toEqual([
      expect.stringContaining('-m addrtype --src-type LOCAL -j KUBE-MARK-MASQ'),
      expect.stringContaining('--match-set KUBE-NODE-PORT-LOCAL-TCP dst -j RETURN'),
      expect.stringContaining('--match-set KUBE-NODE-PORT-TCP dst -j KUBE-MARK-MASQ'),
    ]);
    expectLoadable(r);
  });

  it('no endpoints: virtual servers without real servers (IPVS answers port unreachable), no drop set', () => {
    const r = renderIpvs(state({ type: 'NodePort', ports: [{ name: 'p80', port: 80, targetPort: 8080, nodePort: 30080 }] }, []));
    expect(ipvsadm(r)).toEqual(['-A -t 10.96.0.1:80 -s rr', '-A -t 10.100.0.10:30080 -s rr']);
    expect(entries(r, 'KPX-DROP')).toEqual([]);
    expect(entries(r, 'KPX-DROP-EXTERNAL')).toEqual([]);
  });

  it('Local policy without local endpoints: cluster endpoints for the short-circuits, external sources dropped', () => {
    const r = renderIpvs(state({ type: 'NodePort', externalTrafficPolicy: 'Local', externalIPs: ['10.250.0.5'], ports: [{ name: 'p80', port: 80, targetPort: 8080, nodePort: 30080 }] },
      [REMOTE('10.244.2.2')]));
    expect(ipvsadm(r).filter((l) => l.startsWith('-a -t 10.100.0.10:30080'))).toEqual(['-a -t 10.100.0.10:30080 -r 10.244.2.2:8080 -m -w 1']);
    expect(entries(r, 'KPX-DROP-EXTERNAL')).toEqual(['10.100.0.10,tcp:30080', '10.250.0.5,tcp:80']);
    expect(chainRules(r, 'filter', 'KPX-DROP-EXTERNAL')).toEqual([
      '-A KPX-DROP-EXTERNAL -s 10.244.0.0/16 -j RETURN',
      '-A KPX-DROP-EXTERNAL -m addrtype --src-type LOCAL -j RETURN',
      '-A KPX-DROP-EXTERNAL -j DROP',
    ]);
    expectLoadable(r);
  });

  it('internal Local policy without local endpoints: no real server, cluster IP in KPX-DROP', () => {
    const r = renderIpvs(state({ internalTrafficPolicy: 'Local' }, [REMOTE('10.244.2.2')]));
    expect(ipvsadm(r)).toEqual(['-A -t 10.96.0.1:80 -s rr']);
    expect(entries(r, 'KPX-DROP')).toEqual(['10.96.0.1,tcp:80']);
    expect(chainRules(r, 'filter', 'KUBE-PROXY-FIREWALL')).toEqual([
      '-A KUBE-PROXY-FIREWALL -m comment --comment "kpx: service ip + port without usable endpoints: drop" -m set --match-set KPX-DROP dst,dst -j DROP',
    ]);
  });

  it('source ranges: FW set, CIDR entries, the node IP in a range admits the LB IP itself', () => {
    const lb = { status: { loadBalancer: { ingress: [{ ip: '10.250.0.1' }] } } };
    const inRange = renderIpvs(state({ type: 'LoadBalancer', loadBalancerSourceRanges: ['10.0.0.0/8'], ports: [{ name: 'p80', port: 80, targetPort: 8080, nodePort: 30080 }] }, [LOCAL('10.244.1.2')], {}, lb));
    expect(entries(inRange, 'KUBE-LOAD-BALANCER-FW')).toEqual(['10.250.0.1,tcp:80']);
    expect(entries(inRange, 'KUBE-LOAD-BALANCER-SOURCE-CIDR')).toEqual(['10.250.0.1,tcp:80,10.0.0.0/8']);
    expect(entries(inRange, 'KUBE-LOAD-BALANCER-SOURCE-IP')).toEqual(['10.250.0.1,tcp:80,10.250.0.1']);
    expect(chainRules(inRange, 'filter', 'KUBE-IPVS-OUT-FILTER')).toEqual([]);
    const outOfRange = renderIpvs(state({ type: 'LoadBalancer', loadBalancerSourceRanges: ['192.168.0.0/16'], ports: [{ name: 'p80', port: 80, targetPort: 8080, nodePort: 30080 }] }, [LOCAL('10.244.1.2')], {}, lb));
    expect(entries(outOfRange, 'KUBE-LOAD-BALANCER-SOURCE-IP')).toEqual([]);
    expect(chainRules(outOfRange, 'filter', 'KUBE-IPVS-OUT-FILTER')).toEqual([
      '-A KUBE-IPVS-OUT-FILTER -s 10.250.0.1/32 -m ipvs --vaddr 10.250.0.1/32 --vproto tcp --vport 80 -j DROP',
    ]);
    expect(chainRules(outOfRange, 'filter', 'KUBE-SOURCE-RANGES-FIREWALL')).toEqual([
      expect.stringContaining('--match-set KUBE-LOAD-BALANCER-SOURCE-CIDR dst,dst,src -j RETURN'),
      '-A KUBE-SOURCE-RANGES-FIREWALL -j DROP',
    ]);
    expectLoadable(outOfRange);
  });

  it('cluster IP masquerade: detector, --masquerade-all, no detector', () => {
    const eps = [LOCAL('10.244.1.2')];
    const rule = (opts: Partial<ProxyOptions>): string => chainRules(renderIpvs(state({}, eps, opts)), 'nat', 'KUBE-SERVICES').find((l) => l.includes('KUBE-MARK-MASQ'))!;
    expect(rule({})).toBe('-A KUBE-SERVICES -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ');
    expect(rule({ masqueradeAll: true })).toMatch(/KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ$/);
    expect(rule({ clusterCIDRs: [] })).toMatch(/KUBE-CLUSTER-IP src,dst -j KUBE-MARK-MASQ$/);
  });

  it('IPv6: KUBE-6- set names (cut to 31), bracketed ipvsadm addresses, deprecated kube-ipvs0 addresses', () => {
    const r = renderIpvs(state({}, [LOCAL('fd00:244:1::2')], {}, {}, 'ipv6'));
    expect(setName('loadBalancerSourceCIDR', 'ipv6')).toBe('KUBE-6-LOAD-BALANCER-SOURCE-CID');
    expect(entries(r, 'KUBE-6-CLUSTER-IP')).toEqual(['fd00:96::1,tcp:80']);
    expect(ipvsadm(r)).toEqual(['-A -t [fd00:96::1]:80 -s rr', '-a -t [fd00:96::1]:80 -r [fd00:244:1::2]:8080 -m -w 1']);
    expect(toAddressBatch([r])).toBe('address add fd00:96::1/128 dev kube-ipvs0 nodad preferred_lft 0\n');
    expect(chainRules(r, 'nat', 'KUBE-SERVICES')[0]).toBe('-A KUBE-SERVICES -s ::1/128 -j RETURN');
    expectLoadable(r);
  });
});

describe('text forms', () => {
  it('ipset restore input: create, flush, add; bitmap:port without family', () => {
    const r = renderIpvs(state({ type: 'NodePort', ports: [{ name: 'p80', port: 80, targetPort: 8080, nodePort: 30080 }] }, [LOCAL('10.244.1.2')]));
    const text = toIpsetRestore([r]);
    expect(text).toContain('create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536\nflush KUBE-CLUSTER-IP\nadd KUBE-CLUSTER-IP 10.96.0.1,tcp:80\n');
    expect(text).toContain('create KUBE-NODE-PORT-TCP bitmap:port range 0-65535\nflush KUBE-NODE-PORT-TCP\nadd KUBE-NODE-PORT-TCP 30080\n');
    expect(text).not.toMatch(/^#/m);
  });

  it('ipvsadm-restore input covers every family; the ipv6 family only when in use', () => {
    const { state: s } = buildProxyState({ services: [], endpointSlices: [], node: node('node-a', ['10.100.0.10']) }, { nodeName: 'node-a' });
    expect(renderIpvsFamilies(s).families.map((f) => f.family)).toEqual(['ipv4']);
    expect(toIpvsadmRestore(renderIpvsFamilies(s).families)).toBe('');
  });
});
