/**
 * The pure diff: kernel listing text in (nft list / iptables-save), grouped changes and
 * their printed form out. The real-kernel side is test/kernel/diff.test.ts.
 */
import { describe, expect, test } from '@jest/globals';
import { diffSnapshots } from '../../src/sync/diff/diff.js';
import { parseNftListing } from '../../src/sync/diff/nft-listing.js';
import { parseXtablesSave, ruleService } from '../../src/sync/diff/xtables-listing.js';
import { serviceOfComment } from '../../src/sync/diff/snapshot.js';
import { formatDiffJson, formatDiffText } from '../../src/cli/diff-format.js';

const CURRENT = `table ip kube-proxy {
	set cluster-ips {
		type ipv4_addr
		elements = { 10.96.0.1 comment "default/kubernetes",
			     10.96.10.9 comment "shop/old" }
	}
	map service-ips {
		type ipv4_addr . inet_proto . inet_service : verdict
		elements = { 10.96.0.1 . tcp . 443 comment "default/kubernetes:https" : goto internal,
			     10.96.10.3 . tcp . 443 comment "shop/checkout:https" : goto affinity-VL7MPJWBX5LMPRQ5,
			     10.96.10.9 . tcp . 80 comment "shop/old:http" : goto internal }
	}
	map eps-1 {
		typeof ip daddr . meta l4proto . th dport . numgen random mod 1 : ip daddr . th dport
		elements = { 10.96.0.1 . tcp . 443 . 0 comment "default/kubernetes:https" : 10.100.0.10 . 6443 }
	}
	chain services {
		ip daddr . meta l4proto . th dport vmap @service-ips
	}
	chain nat-prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		jump services
	}
	chain affinity-VL7MPJWBX5LMPRQ5 {
		dnat to 10.244.1.30:8443
	}
}
`;

const DESIRED = `table ip kube-proxy {
	set cluster-ips {
		type ipv4_addr
		elements = { 10.96.0.1 comment "default/kubernetes" }
	}
	map service-ips {
		type ipv4_addr . inet_proto . inet_service : verdict
		elements = { 10.96.0.1 . tcp . 443 comment "default/kubernetes:https" : goto internal,
			     10.96.10.3 . tcp . 443 comment "shop/checkout:https" : goto affinity-VL7MPJWBX5LMPRQ5 }
	}
	map eps-1 {
		typeof ip daddr . meta l4proto . th dport . numgen random mod 1 : ip daddr . th dport
		elements = { 10.96.0.1 . tcp . 443 . 0 comment "default/kubernetes:https" : 10.100.0.11 . 6443 }
	}
	chain services {
		ip daddr . meta l4proto . th dport vmap @service-ips
		ip daddr @cluster-ips reject
	}
	chain nat-prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		jump services
	}
	chain affinity-VL7MPJWBX5LMPRQ5 {
		dnat to 10.244.1.31:8443
	}
}
`;

describe('nftables diff', () => {
  test('identical listings: nothing', () => {
    const d = diffSnapshots(parseNftListing(DESIRED), parseNftListing(DESIRED));
    expect(d.total).toBe(0);
    expect(formatDiffText(d)).toBe('');
    expect(formatDiffJson(d)).toBe('{"changed":false,"total":0,"groups":[]}\n');
  });

  test('grouped by Service (element comments; a chain only one Service jumps to), node-wide last', () => {
    const d = diffSnapshots(parseNftListing(DESIRED), parseNftListing(CURRENT));
    expect(formatDiffText(d)).toBe(`default/kubernetes:
  ~ element ip kube-proxy map eps-1: 10.96.0.1 . tcp . 443 . 0: 10.100.0.10 . 6443 => 10.100.0.11 . 6443
shop/checkout:
  + rule ip kube-proxy chain affinity-VL7MPJWBX5LMPRQ5: dnat to 10.244.1.31:8443
  - rule ip kube-proxy chain affinity-VL7MPJWBX5LMPRQ5: dnat to 10.244.1.30:8443
shop/old:
  - element ip kube-proxy map service-ips: 10.96.10.9 . tcp . 80 : goto internal
  - element ip kube-proxy set cluster-ips: 10.96.10.9
(node):
  + rule ip kube-proxy chain services: ip daddr @cluster-ips reject
6 changes (3 Services, node-wide items)
`);
  });

  test('a missing table: every object is an addition; a rule order change is one change', () => {
    const d = diffSnapshots(parseNftListing(DESIRED), parseNftListing(''));
    expect(d.groups.map((g) => g.name)).toEqual(['default/kubernetes', 'shop/checkout', '(node)']);
    expect(d.groups.at(-1)!.changes.filter((c) => c.item === '').map((c) => `${c.op} ${c.kind} ${c.where}`)).toEqual([
      'add map ip kube-proxy map eps-1', 'add map ip kube-proxy map service-ips', 'add set ip kube-proxy set cluster-ips',
      'add chain ip kube-proxy chain nat-prerouting', 'add chain ip kube-proxy chain services',
    ]);
    const swapped = DESIRED.replace('ip daddr . meta l4proto . th dport vmap @service-ips\n\t\tip daddr @cluster-ips reject', 'ip daddr @cluster-ips reject\n\t\tip daddr . meta l4proto . th dport vmap @service-ips');
    const o = diffSnapshots(parseNftListing(DESIRED), parseNftListing(swapped));
    expect(o.groups).toEqual([{ name: '(node)', changes: [expect.objectContaining({ op: 'change', kind: 'rule order', where: 'ip kube-proxy chain services' })] }]);
  });

  test('control characters from the kernel are printed escaped', () => {
    const evil = CURRENT.replace('shop/old:http', 'shop/old:http\u001b[2J\nforged');
    const text = formatDiffText(diffSnapshots(parseNftListing(DESIRED), parseNftListing(evil)));
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f]/);
    expect(text.split('\n').every((l) => !l.startsWith('forged'))).toBe(true);
  });
});

const SAVE_CURRENT = `*nat
:PREROUTING ACCEPT [0:0]
:CNI-HOSTPORT - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-NPX46M4PTMTKRN6Y - [0:0]
:KUBE-SEP-AAAAAAAAAAAAAAAA - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT
-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m comment --comment "default/kubernetes:https cluster IP" -m tcp --dport 443 -j KUBE-SVC-NPX46M4PTMTKRN6Y
-A KUBE-SVC-NPX46M4PTMTKRN6Y -m comment --comment "default/kubernetes:https -> 10.100.0.10:6443" -j KUBE-SEP-AAAAAAAAAAAAAAAA
-A KUBE-SEP-AAAAAAAAAAAAAAAA -p tcp -m comment --comment default/kubernetes:https -m tcp -j DNAT --to-destination 10.100.0.10:6443
COMMIT
`;

describe('iptables diff', () => {
  test('rules by their comment\'s Service; a missing jump from a built-in chain is node-wide; foreign chains ignored', () => {
    const desired = SAVE_CURRENT.replace('COMMIT', '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\nCOMMIT')
      .replace(/KUBE-SEP-AAAAAAAAAAAAAAAA/g, 'KUBE-SEP-BBBBBBBBBBBBBBBB').replace(/10\.100\.0\.10/g, '10.100.0.11');
    const kube = (_t: string, c: string): boolean => c.startsWith('KUBE-');
    const d = diffSnapshots(parseXtablesSave(desired, 'iptables', kube), parseXtablesSave(SAVE_CURRENT, 'iptables', kube));
    expect(formatDiffText(d)).toBe(`default/kubernetes:
  - chain iptables nat KUBE-SEP-AAAAAAAAAAAAAAAA
  - rule iptables nat KUBE-SEP-AAAAAAAAAAAAAAAA: -A KUBE-SEP-AAAAAAAAAAAAAAAA -p tcp -m comment --comment default/kubernetes:https -m tcp -j DNAT --to-destination 10.100.0.10:6443
  + chain iptables nat KUBE-SEP-BBBBBBBBBBBBBBBB
  + rule iptables nat KUBE-SEP-BBBBBBBBBBBBBBBB: -A KUBE-SEP-BBBBBBBBBBBBBBBB -p tcp -m comment --comment default/kubernetes:https -m tcp -j DNAT --to-destination 10.100.0.11:6443
  + rule iptables nat KUBE-SVC-NPX46M4PTMTKRN6Y: -A KUBE-SVC-NPX46M4PTMTKRN6Y -m comment --comment "default/kubernetes:https -> 10.100.0.11:6443" -j KUBE-SEP-BBBBBBBBBBBBBBBB
  - rule iptables nat KUBE-SVC-NPX46M4PTMTKRN6Y: -A KUBE-SVC-NPX46M4PTMTKRN6Y -m comment --comment "default/kubernetes:https -> 10.100.0.10:6443" -j KUBE-SEP-AAAAAAAAAAAAAAAA
(node):
  + rule iptables nat PREROUTING: -A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
7 changes (1 Service, node-wide items)
`);
  });

  test('KUBE-PROXY-CANARY (the running proxy\'s flush detector, in mangle, nat, filter) is not a change', () => {
    const canary = (table: string): string => `*${table}\n:KUBE-PROXY-CANARY - [0:0]\nCOMMIT\n`;
    const running = canary('mangle') + SAVE_CURRENT.replace(':KUBE-SERVICES', ':KUBE-PROXY-CANARY - [0:0]\n:KUBE-SERVICES') + canary('filter');
    const kube = (_t: string, c: string): boolean => c.startsWith('KUBE-');
    expect(diffSnapshots(parseXtablesSave(SAVE_CURRENT, 'iptables', kube), parseXtablesSave(running, 'iptables', kube))).toEqual({ groups: [], total: 0 });
    // Any other kube chain the desired side lacks still is.
    const other = SAVE_CURRENT.replace(':KUBE-SERVICES', ':KUBE-OTHER - [0:0]\n:KUBE-SERVICES');
    expect(diffSnapshots(parseXtablesSave(SAVE_CURRENT, 'iptables', kube), parseXtablesSave(other, 'iptables', kube)).total).toBe(1);
  });

  test('the Service a comment names', () => {
    expect(ruleService('-A X -m comment --comment "ns1/svc-1:p80 cluster IP" -j Y')).toBe('ns1/svc-1');
    expect(ruleService('-A X -m comment --comment ns1/svc1:p80 -j Y')).toBe('ns1/svc1');
    expect(ruleService('-A X -m comment --comment "kubernetes service portals" -j Y')).toBeUndefined();
    expect(serviceOfComment('shop/frontend')).toBe('shop/frontend');
    expect(serviceOfComment('Shop/x')).toBeUndefined();
  });
});
