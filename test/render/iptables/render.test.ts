import { buildProxyState } from '../../../src/model/build.js';
import {
  CHAINS, formatRule, renderIptables, renderIptablesFamilies, serviceChainName, toIptablesRestore,
  type IptablesRuleset, type IptChain,
} from '../../../src/render/iptables/index.js';
import { LOCAL, node, oneServiceState, REMOTE } from '../../model/fixtures.js';

const state = oneServiceState;

/** Every rule as `table: -A CHAIN …`, chains in order. */
function lines(r: IptablesRuleset): string[] {
  return r.tables.flatMap((t) => t.chains.flatMap((c) => c.rules.map((rule) => `${t.name}: ${formatRule(c.name, rule)}`)));
}
const chainOf = (r: IptablesRuleset, table: 'nat' | 'filter', name: string): IptChain | undefined =>
  r.tables.find((t) => t.name === table)?.chains.find((c) => c.name === name);
const rulesOf = (r: IptablesRuleset, table: 'nat' | 'filter', name: string): string[] =>
  (chainOf(r, table, name)?.rules ?? []).map((rule) => formatRule(name, rule));

/** What iptables-restore checks: chains declared once, every jump to a declared chain. */
function expectLoadable(r: IptablesRuleset): void {
  for (const t of r.tables) {
    const names = t.chains.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const c of t.chains) {
      for (const rule of c.rules) {
        if (rule.target?.kind === 'jump') expect(names).toContain(rule.target.chain);
      }
    }
  }
}

const SVC = 'KUBE-SVC-XPGD46QRK7WJZT7O';
const SVL = 'KUBE-SVL-XPGD46QRK7WJZT7O';
const EXT = 'KUBE-EXT-XPGD46QRK7WJZT7O';
const FW = 'KUBE-FW-XPGD46QRK7WJZT7O';

describe('renderIptables: ClusterIP', () => {
  const r = renderIptables(state({}, [LOCAL('10.244.1.2'), REMOTE('10.244.2.2'), REMOTE('10.244.2.3')]));

  it('captures the cluster IP in nat KUBE-SERVICES, NodePorts last', () => {
    expect(rulesOf(r, 'nat', 'KUBE-SERVICES')).toEqual([
      `-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 10.96.0.1/32 --dport 80 -j ${SVC}`,
      '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -d 10.100.0.10/32 -j KUBE-NODEPORTS',
    ]);
  });

  it('masquerades off-cluster sources, then spreads with 1/(N-i), the last unconditional', () => {
    const rules = rulesOf(r, 'nat', SVC);
    expect(rules[0]).toBe(`-A ${SVC} -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 10.96.0.1/32 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ`);
    expect(rules.slice(1).map((l) => l.replace(/ -j KUBE-SEP-\w+$/, ''))).toEqual([
      `-A ${SVC} -m comment --comment "ns1/svc1:p80 -> 10.244.1.2:8080" -m statistic --mode random --probability 0.3333333333`,
      `-A ${SVC} -m comment --comment "ns1/svc1:p80 -> 10.244.2.2:8080" -m statistic --mode random --probability 0.5000000000`,
      `-A ${SVC} -m comment --comment "ns1/svc1:p80 -> 10.244.2.3:8080"`,
    ]);
  });

  it('writes one KUBE-SEP per endpoint: hairpin masquerade, then DNAT', () => {
    const seps = r.tables[1]!.chains.filter((c) => c.name.startsWith('KUBE-SEP-'));
    expect(seps).toHaveLength(3);
    expect(rulesOf(r, 'nat', seps[0]!.name)).toEqual([
      `-A ${seps[0]!.name} -m comment --comment ns1/svc1:p80 -s 10.244.1.2/32 -j KUBE-MARK-MASQ`,
      `-A ${seps[0]!.name} -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.244.1.2:8080`,
    ]);
    expect(chainOf(r, 'nat', EXT)).toBeUndefined();
  });

  it('has the fixed chains, mark 0x4000 and the built-in jumps', () => {
    expect(rulesOf(r, 'nat', 'KUBE-MARK-MASQ')).toEqual(['-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000']);
    expect(rulesOf(r, 'nat', 'KUBE-POSTROUTING')).toEqual([
      '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
      '-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000',
      '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    ]);
    expect(rulesOf(r, 'filter', 'KUBE-FORWARD')).toEqual([
      '-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP',
      '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT',
      '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    ]);
    expect(rulesOf(r, 'nat', 'PREROUTING')).toEqual(['-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES']);
    expect(rulesOf(r, 'nat', 'POSTROUTING')).toEqual(['-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING']);
    expect(rulesOf(r, 'filter', 'OUTPUT')).toEqual([
      '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
      '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      '-A OUTPUT -j KUBE-FIREWALL',
    ]);
    expect(rulesOf(r, 'filter', 'KUBE-FIREWALL')).toEqual([]);
    expectLoadable(r);
  });

  it('prints a complete restore input: filter then nat (full form with the built-ins, default without)', () => {
    expect(toIptablesRestore(r).startsWith('*filter\n:KUBE-SERVICES - [0:0]\n')).toBe(true);
    const text = toIptablesRestore(r, { form: 'full' });
    expect(text.startsWith('*filter\n:INPUT ACCEPT [0:0]\n')).toBe(true);
    expect(text).toMatch(/COMMIT\n\*nat\n/);
    expect(text.endsWith('COMMIT\n')).toBe(true);
  });
});

describe('renderIptables: masquerade options', () => {
  const eps = [LOCAL('10.244.1.2')];
  it('--masquerade-all marks every cluster IP packet', () => {
    const r = renderIptables(state({}, eps, { masqueradeAll: true }));
    expect(rulesOf(r, 'nat', SVC)[0]).toBe(`-A ${SVC} -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 10.96.0.1/32 --dport 80 -j KUBE-MARK-MASQ`);
  });
  it('no detector: no off-cluster masquerade rule', () => {
    const r = renderIptables(state({}, eps, { clusterCIDRs: [] }));
    expect(rulesOf(r, 'nat', SVC).some((l) => l.includes('KUBE-MARK-MASQ'))).toBe(false);
  });
  it('two pod CIDRs in one family: a helper chain negates both', () => {
    const r = renderIptables(state({}, eps, { clusterCIDRs: ['10.244.0.0/16', '10.245.0.0/16'] }));
    expect(rulesOf(r, 'nat', SVC)[0]).toMatch(/--dport 80 -j KPX-MASQ-NOT-LOCAL$/);
    expect(rulesOf(r, 'nat', CHAINS.masqNotLocal)).toEqual([
      '-A KPX-MASQ-NOT-LOCAL -s 10.244.0.0/16 -j RETURN',
      '-A KPX-MASQ-NOT-LOCAL -s 10.245.0.0/16 -j RETURN',
      '-A KPX-MASQ-NOT-LOCAL -j KUBE-MARK-MASQ',
    ]);
    expectLoadable(r);
  });
  it('--masquerade-bit changes every mark', () => {
    const r = renderIptables(state({}, eps, { masqueradeBit: 5 }));
    expect(rulesOf(r, 'nat', 'KUBE-MARK-MASQ')).toEqual(['-A KUBE-MARK-MASQ -j MARK --or-mark 0x20']);
  });
});

describe('renderIptables: no endpoints', () => {
  it('rejects in filter KUBE-SERVICES and KUBE-EXTERNAL-SERVICES, with no nat chains', () => {
    const r = renderIptables(state({ type: 'LoadBalancer', externalIPs: ['10.250.0.5'], ports: [{ name: 'p80', port: 80, nodePort: 30080 }] }, [],
      {}, { status: { loadBalancer: { ingress: [{ ip: '10.250.0.6' }] } } }));
    expect(rulesOf(r, 'filter', 'KUBE-SERVICES')).toEqual([
      '-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 has no endpoints" -m tcp -p tcp -d 10.96.0.1/32 --dport 80 -j REJECT',
    ]);
    expect(rulesOf(r, 'filter', 'KUBE-EXTERNAL-SERVICES')).toEqual([
      '-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns1/svc1:p80 has no endpoints" -m tcp -p tcp -d 10.250.0.5/32 --dport 80 -j REJECT',
      '-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns1/svc1:p80 has no endpoints" -m tcp -p tcp -d 10.250.0.6/32 --dport 80 -j REJECT',
      '-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns1/svc1:p80 has no endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 30080 -j REJECT',
    ]);
    expect(r.tables[1]!.chains.filter((c) => c.name.startsWith('KUBE-') && /-[A-Z2-7]{16}$/.test(c.name))).toEqual([]);
    expect(rulesOf(r, 'nat', 'KUBE-NODEPORTS')).toEqual([]);
  });
});

describe('renderIptables: externalTrafficPolicy Local', () => {
  const spec = { type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: 32000, ports: [{ name: 'p80', port: 80, nodePort: 30080 }] };
  const lb = { status: { loadBalancer: { ingress: [{ ip: '10.250.0.3' }] } } };

  it('short-circuits pods and the host to KUBE-SVC, the rest to KUBE-SVL', () => {
    const r = renderIptables(state(spec, [LOCAL('10.244.1.2'), REMOTE('10.244.2.2')], {}, lb));
    expect(rulesOf(r, 'nat', EXT)).toEqual([
      `-A ${EXT} -m comment --comment "pod traffic for ns1/svc1:p80 external destinations" -s 10.244.0.0/16 -j ${SVC}`,
      `-A ${EXT} -m comment --comment "masquerade LOCAL traffic for ns1/svc1:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ`,
      `-A ${EXT} -m comment --comment "route LOCAL traffic for ns1/svc1:p80 external destinations" -m addrtype --src-type LOCAL -j ${SVC}`,
      `-A ${EXT} -j ${SVL}`,
    ]);
    expect(rulesOf(r, 'nat', SVL)).toHaveLength(1);
    expect(rulesOf(r, 'nat', 'KUBE-NODEPORTS')).toEqual([`-A KUBE-NODEPORTS -m comment --comment ns1/svc1:p80 -m tcp -p tcp --dport 30080 -j ${EXT}`]);
    expect(rulesOf(r, 'filter', 'KUBE-NODEPORTS')).toEqual([
      '-A KUBE-NODEPORTS -m comment --comment "ns1/svc1:p80 health check node port" -m tcp -p tcp --dport 32000 -j ACCEPT',
    ]);
    expect(rulesOf(r, 'nat', 'KUBE-SERVICES')[1]).toBe(`-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 loadbalancer IP" -m tcp -p tcp -d 10.250.0.3/32 --dport 80 -j ${EXT}`);
    expectLoadable(r);
  });

  it('without local endpoints: KUBE-EXT keeps the short-circuits, filter drops the rest', () => {
    const r = renderIptables(state(spec, [REMOTE('10.244.2.2')], {}, lb));
    expect(rulesOf(r, 'nat', EXT).at(-1)).toMatch(/route LOCAL traffic/);
    expect(chainOf(r, 'nat', SVL)).toBeUndefined();
    expect(rulesOf(r, 'filter', 'KUBE-EXTERNAL-SERVICES')).toEqual([
      '-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns1/svc1:p80 has no local endpoints" -m tcp -p tcp -d 10.250.0.3/32 --dport 80 -j DROP',
      '-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns1/svc1:p80 has no local endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 30080 -j DROP',
    ]);
    expect(rulesOf(r, 'filter', 'KUBE-SERVICES')).toEqual([]);
    expectLoadable(r);
  });

  it('externalTrafficPolicy Cluster: KUBE-EXT masquerades and goes to KUBE-SVC', () => {
    const r = renderIptables(state({ ...spec, externalTrafficPolicy: 'Cluster' }, [REMOTE('10.244.2.2')], {}, lb));
    expect(rulesOf(r, 'nat', EXT)).toEqual([
      `-A ${EXT} -m comment --comment "masquerade traffic for ns1/svc1:p80 external destinations" -j KUBE-MARK-MASQ`,
      `-A ${EXT} -j ${SVC}`,
    ]);
  });
});

describe('renderIptables: internalTrafficPolicy Local', () => {
  it('sends the cluster IP to KUBE-SVL, masquerading off-cluster sources there', () => {
    const r = renderIptables(state({ internalTrafficPolicy: 'Local' }, [LOCAL('10.244.1.2'), REMOTE('10.244.2.2')]));
    expect(rulesOf(r, 'nat', 'KUBE-SERVICES')[0]).toMatch(new RegExp(`-j ${SVL}$`));
    expect(rulesOf(r, 'nat', SVL)[0]).toMatch(/! -s 10.244.0.0\/16 -j KUBE-MARK-MASQ$/);
    expect(chainOf(r, 'nat', SVC)).toBeUndefined();
    expect(r.tables[1]!.chains.filter((c) => c.name.startsWith('KUBE-SEP-'))).toHaveLength(1);
  });
  it('drops the cluster IP when no endpoint is local', () => {
    const r = renderIptables(state({ internalTrafficPolicy: 'Local' }, [REMOTE('10.244.2.2')]));
    expect(rulesOf(r, 'filter', 'KUBE-SERVICES')).toEqual([
      '-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 has no local endpoints" -m tcp -p tcp -d 10.96.0.1/32 --dport 80 -j DROP',
    ]);
  });
});

describe('renderIptables: loadBalancerSourceRanges', () => {
  it('KUBE-FW admits the ranges (and the LB IP when a range holds the node), KUBE-PROXY-FIREWALL drops the rest', () => {
    const r = renderIptables(state({ type: 'LoadBalancer', loadBalancerSourceRanges: ['10.0.0.0/8', '192.168.0.0/16'], ports: [{ name: 'p80', port: 80, nodePort: 30080 }] },
      [REMOTE('10.244.2.2')], {}, { status: { loadBalancer: { ingress: [{ ip: '10.250.0.9' }] } } }));
    expect(rulesOf(r, 'nat', FW)).toEqual([
      `-A ${FW} -m comment --comment "ns1/svc1:p80 loadbalancer IP" -s 10.0.0.0/8 -j ${EXT}`,
      `-A ${FW} -m comment --comment "ns1/svc1:p80 loadbalancer IP" -s 192.168.0.0/16 -j ${EXT}`,
      `-A ${FW} -m comment --comment "ns1/svc1:p80 loadbalancer IP" -s 10.250.0.9/32 -j ${EXT}`,
      `-A ${FW} -m comment --comment "other traffic to ns1/svc1:p80 will be dropped by KUBE-PROXY-FIREWALL"`,
    ]);
    expect(rulesOf(r, 'nat', 'KUBE-SERVICES')).toContain(`-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 loadbalancer IP" -m tcp -p tcp -d 10.250.0.9/32 --dport 80 -j ${FW}`);
    expect(rulesOf(r, 'filter', 'KUBE-PROXY-FIREWALL')).toEqual([
      `-A KUBE-PROXY-FIREWALL -m comment --comment "ns1/svc1:p80 traffic not accepted by ${FW}" -m tcp -p tcp -d 10.250.0.9/32 --dport 80 -j DROP`,
    ]);
    // NodePorts bypass the firewall, as upstream.
    expect(rulesOf(r, 'nat', 'KUBE-NODEPORTS')[0]).toMatch(new RegExp(`-j ${EXT}$`));
    expectLoadable(r);
  });
});

describe('renderIptables: session affinity', () => {
  it('checks every endpoint\'s recent list first, and sets it in KUBE-SEP', () => {
    const r = renderIptables(state({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } } }, [LOCAL('10.244.1.2'), REMOTE('10.244.2.2')]));
    const rules = rulesOf(r, 'nat', SVC);
    const seps = r.tables[1]!.chains.filter((c) => c.name.startsWith('KUBE-SEP-')).map((c) => c.name);
    expect(rules[1]).toBe(`-A ${SVC} -m comment --comment "ns1/svc1:p80 -> 10.244.1.2:8080" -m recent --name ${seps[0]} --rcheck --seconds 600 --reap -j ${seps[0]}`);
    expect(rules[2]).toBe(`-A ${SVC} -m comment --comment "ns1/svc1:p80 -> 10.244.2.2:8080" -m recent --name ${seps[1]} --rcheck --seconds 600 --reap -j ${seps[1]}`);
    expect(rules).toHaveLength(5);
    expect(rulesOf(r, 'nat', seps[0]!)[1]).toBe(`-A ${seps[0]} -m comment --comment ns1/svc1:p80 -m recent --name ${seps[0]} --set -m tcp -p tcp -j DNAT --to-destination 10.244.1.2:8080`);
  });
});

describe('renderIptables: NodePort addresses', () => {
  const spec = { type: 'NodePort', ports: [{ name: 'p80', port: 80, nodePort: 30080 }] };
  it('every local address: addrtype LOCAL, and the localnet martian rule in KUBE-FIREWALL', () => {
    const r = renderIptables(state(spec, [LOCAL('10.244.1.2')], { nodePortAddresses: ['0.0.0.0/0'] }));
    expect(rulesOf(r, 'nat', 'KUBE-SERVICES').at(-1)).toBe('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS');
    expect(rulesOf(r, 'filter', 'KUBE-FIREWALL')).toEqual([
      '-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
    ]);
  });
  it('a CIDR: -d CIDR plus addrtype LOCAL; the node IP alone: -d IP/32', () => {
    const r = renderIptables(state(spec, [LOCAL('10.244.1.2')], { nodePortAddresses: ['10.100.0.0/24', '10.100.0.10/32'] }));
    expect(rulesOf(r, 'nat', 'KUBE-SERVICES').slice(1).map((l) => l.replace(/^.*NOTE: this must be the last rule in this chain" /, ''))).toEqual([
      '-d 10.100.0.0/24 -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
      '-d 10.100.0.10/32 -j KUBE-NODEPORTS',
    ]);
  });

  it('given the local addresses: one -d IP/32 per local address inside the CIDRs, as upstream', () => {
    const r = renderIptables(state(spec, [LOCAL('10.244.1.2')], { nodePortAddresses: ['10.100.0.0/24'], localAddresses: ['127.0.0.1', '10.100.0.10', '10.100.0.77', '192.168.1.1'] }));
    expect(rulesOf(r, 'nat', 'KUBE-SERVICES').slice(1).map((l) => l.replace(/^.*NOTE: this must be the last rule in this chain" /, ''))).toEqual([
      '-d 10.100.0.10/32 -j KUBE-NODEPORTS',
      '-d 10.100.0.77/32 -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
    ]);
  });
  it('IPv6 every local address: never ::1', () => {
    const r = renderIptables(state(spec, [{ ip: 'fd00:244:1::2', node: 'node-a' }], { nodePortAddresses: ['::/0'] }, {}, 'ipv6'));
    expect(rulesOf(r, 'nat', 'KUBE-SERVICES').at(-1)).toMatch(/-m addrtype --dst-type LOCAL ! -d ::1\/128 -j KUBE-NODEPORTS$/);
    expect(rulesOf(r, 'filter', 'KUBE-FIREWALL')).toEqual([]);
  });
});

describe('renderIptables: IPv6', () => {
  it('uses /128 host addresses and [ip]:port DNAT targets', () => {
    const r = renderIptables(state({}, [{ ip: 'fd00:244:1::2', node: 'node-a' }], {}, {}, 'ipv6'));
    expect(r.family).toBe('ipv6');
    const text = lines(r).join('\n');
    expect(text).toContain(`-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d fd00:96::1/128 --dport 80 -j ${SVC}`);
    expect(text).toContain('! -s fd00:244::/48 -j KUBE-MARK-MASQ');
    expect(text).toContain('-s fd00:244:1::2/128 -j KUBE-MARK-MASQ');
    expect(text).toContain('-j DNAT --to-destination [fd00:244:1::2]:8080');
    expect(text).toContain('-d fd00:100::10/128 -j KUBE-NODEPORTS');
  });
  it('renders an ipv6 ruleset only when the family is in use', () => {
    const { state: s } = buildProxyState({ services: [], endpointSlices: [], node: node('node-a', ['10.100.0.10']) }, { nodeName: 'node-a' });
    expect(renderIptablesFamilies(s).map((r) => r.family)).toEqual(['ipv4']);
  });
});

describe('renderIptables: large clusters', () => {
  it('leaves out per-endpoint comments above the threshold', () => {
    const eps = [LOCAL('10.244.1.2'), REMOTE('10.244.2.2')];
    const small = renderIptables(state({}, eps), { largeClusterEndpointsThreshold: 2 });
    const large = renderIptables(state({}, eps), { largeClusterEndpointsThreshold: 1 });
    expect(rulesOf(small, 'nat', SVC)[1]).toContain('--comment "ns1/svc1:p80 -> 10.244.1.2:8080"');
    expect(rulesOf(large, 'nat', SVC)[1]).toMatch(new RegExp(`^-A ${SVC} -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-`));
    const sep = large.tables[1]!.chains.find((c) => c.name.startsWith('KUBE-SEP-'))!;
    expect(rulesOf(large, 'nat', sep.name)[0]).toBe(`-A ${sep.name} -s 10.244.1.2/32 -j KUBE-MARK-MASQ`);
    // Other comments stay.
    expect(rulesOf(large, 'nat', 'KUBE-SERVICES')[0]).toContain('"ns1/svc1:p80 cluster IP"');
  });
});

it('serviceChainName agrees with the rendered chains', () => {
  const fs = state({}, [LOCAL('10.244.1.2')]);
  expect(serviceChainName('svc', fs.services[0]!)).toBe(SVC);
});
