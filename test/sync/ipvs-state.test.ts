/**
 * The IPVS tools' text forms, in the shapes ipvsadm, ipset and iproute2 print them (the
 * real tools' output is read in the IPVS VM: test/ipvs-vm/sync.test.ts), and the stderr parser.
 */
import { parseToolError } from '../../src/sync/kernel/ipvs-error.js';
import { parseAddrShow, parseIpsetSave, parseIpvsLine, parseIpvsList, parseIpvsSave, printIpvsSave } from '../../src/sync/kernel/ipvs-state.js';

test('ipvsadm -S -n: virtual servers with flags, persistence, IPv6 and SCTP; printed back the same', () => {
  const text = [
    '-A -t 10.96.1.10:80 -s rr',
    '-a -t 10.96.1.10:80 -r 10.244.1.2:8080 -m -w 1',
    '-a -t 10.96.1.10:80 -r 10.244.2.2:8080 -m -w 0',
    '-A -u 10.96.0.10:53 -s mh -b flag-1,flag-2 -p 10800',
    '-A -t [fd00:10:96::1]:443 -s rr',
    '-a -t [fd00:10:96::1]:443 -r [fd00:10:244:1::2]:8443 -m -w 1',
    '-A --sctp-service 10.96.3.1:9999 -s wlc',
    '',
  ].join('\n');
  const s = parseIpvsSave(text);
  expect([...s.keys()]).toEqual(['tcp 10.96.1.10:80', 'udp 10.96.0.10:53', 'tcp [fd00:10:96::1]:443', 'sctp 10.96.3.1:9999']);
  expect(s.get('udp 10.96.0.10:53')!.vs).toEqual({ protocol: 'udp', address: '10.96.0.10', port: 53, scheduler: 'mh', flags: ['flag-1', 'flag-2'], persistence: 10800 });
  expect(s.get('tcp 10.96.1.10:80')!.reals.get('10.244.2.2:8080')!.weight).toBe(0);
  expect(printIpvsSave(s.values())).toBe(text);
  expect(parseIpvsLine('-d -t 10.96.1.10:80 -r 10.244.1.2:8080')).toEqual({ verb: '-d', key: 'tcp 10.96.1.10:80', rs: { ip: '10.244.1.2', port: 8080 } });
  expect(parseIpvsLine('-A -x nonsense')).toBeUndefined();
});

test('ipvsadm -L -n: connection counts per real server', () => {
  const text = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  10.96.1.10:80 rr
  -> 10.244.1.2:8080              Masq    1      0          7
  -> 10.244.2.2:8080              Masq    0      2          0
UDP  [fd00:10:96::a]:53 rr persistent 10800
  -> [fd00:10:244:1::2]:5353      Masq    1      0          1
`;
  const c = parseIpvsList(text);
  expect(c.get('tcp 10.96.1.10:80')!.get('10.244.1.2:8080')).toEqual({ active: 0, inactive: 7 });
  expect(c.get('tcp 10.96.1.10:80')!.get('10.244.2.2:8080')).toEqual({ active: 2, inactive: 0 });
  expect(c.get('udp [fd00:10:96::a]:53')!.get('[fd00:10:244:1::2]:5353')).toEqual({ active: 0, inactive: 1 });
});

test('ipset save: only kpx\'s sets, types and families, entries', () => {
  const text = `create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x6c3b3e1a
add KUBE-CLUSTER-IP 10.96.1.10,tcp:80
create KUBE-NODE-PORT-TCP bitmap:port range 0-65535
add KUBE-NODE-PORT-TCP 30280
create KUBE-6-CLUSTER-IP hash:ip,port family inet6 hashsize 1024 maxelem 65536 bucketsize 12 initval 0x1
create cni-foreign hash:ip family inet hashsize 1024 maxelem 65536
add cni-foreign 1.2.3.4
`;
  const s = parseIpsetSave(text, (n) => n.startsWith('KUBE-'));
  expect([...s.keys()]).toEqual(['KUBE-CLUSTER-IP', 'KUBE-NODE-PORT-TCP', 'KUBE-6-CLUSTER-IP']);
  expect(s.get('KUBE-CLUSTER-IP')).toEqual({ name: 'KUBE-CLUSTER-IP', type: 'hash:ip,port', family: 'inet', entries: new Set(['10.96.1.10,tcp:80']) });
  expect(s.get('KUBE-NODE-PORT-TCP')!.family).toBeUndefined();
  expect(s.get('KUBE-6-CLUSTER-IP')!.family).toBe('inet6');
});

test('ip -o addr show dev kube-ipvs0: addresses, without the kernel\'s link-local one', () => {
  const text = `9: kube-ipvs0    inet 10.96.1.10/32 scope global kube-ipvs0\\       valid_lft forever preferred_lft forever
9: kube-ipvs0    inet6 fd00:10:96::a/128 scope global deprecated \\       valid_lft forever preferred_lft 0sec
9: kube-ipvs0    inet6 fe80::a0b1:c2ff:fed3:e4f5/64 scope link \\       valid_lft forever preferred_lft forever
`;
  expect([...parseAddrShow(text)]).toEqual(['10.96.1.10', 'fd00:10:96::a']);
});

test('stderr: the failing input line when the tool names it', () => {
  const input = 'create A hash:ip\nadd B 1.2.3.4\n';
  const e = parseToolError(['ipset', 'restore', '-exist'], 1, 'ipset v7.17: Error in line 2: The set with the given name does not exist\n', input);
  expect(e).toMatchObject({ tool: 'ipset', exitCode: 1, line: 2, lineText: 'add B 1.2.3.4' });
  expect(e.message).toMatch(/^ipset restore -exist failed \(exit 1\) at input line 2 \("add B 1.2.3.4"\): ipset v7.17: Error in line 2/);
  const ip = parseToolError(['ip', '-batch', '-'], 1, 'RTNETLINK answers: File exists\nCommand failed -:3\n', 'a\nb\naddress add 10.0.0.1/32 dev kube-ipvs0\n');
  expect(ip).toMatchObject({ line: 3, lineText: 'address add 10.0.0.1/32 dev kube-ipvs0' });
  expect(ip.message).toMatch(/: RTNETLINK answers: File exists$/);
  expect(parseToolError(['ipvsadm', '-R'], 1, 'Service already exists\n')).toMatchObject({ tool: 'ipvsadm', line: undefined });
});
