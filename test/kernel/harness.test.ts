/**
 * Self-test of the kernel harness against a small hand-written nft ruleset in a table of
 * its own: proves that answers, peer-seen, refused (reject) and timeout (drop) are told
 * apart for TCP and UDP, IPv4 and IPv6, from every kind of client, before any kpx
 * ruleset is trusted to it.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { KernelHarness, type ProbeResult } from './harness.js';
import { PLAN } from './topology.js';

const RULES = `
table ip kpx_selftest {
  chain nat-pre {
    type nat hook prerouting priority dstnat; policy accept;
    jump dispatch
  }
  chain nat-out {
    type nat hook output priority -100; policy accept;
    jump dispatch
  }
  chain dispatch {
    ip daddr 10.96.0.1 tcp dport 80 dnat to 10.244.1.2:8080
    ip daddr 10.96.0.1 udp dport 53 dnat to 10.244.1.2:5353
    ip saddr != 10.244.0.0/16 ip daddr 10.100.0.10 tcp dport 30080 meta mark set 0x4000
    ip daddr 10.100.0.10 tcp dport 30080 dnat to 10.244.2.2:8080
  }
  chain nat-post {
    type nat hook postrouting priority srcnat; policy accept;
    ct status dnat ip saddr 10.244.1.2 ip daddr 10.244.1.2 masquerade
    meta mark & 0x4000 != 0 masquerade
  }
  chain filter-fwd {
    type filter hook forward priority 0; policy accept;
    ip daddr 10.96.0.2 reject
    ip daddr 10.96.0.3 drop
  }
}
table ip6 kpx_selftest {
  chain nat-pre {
    type nat hook prerouting priority dstnat; policy accept;
    ip6 saddr != fd00:10:244::/48 ip6 daddr fd00:10:96::1 meta mark set 0x4000
    ip6 daddr fd00:10:96::1 tcp dport 80 dnat to [fd00:10:244:1::2]:8080
    ip6 daddr fd00:10:96::1 udp dport 53 dnat to [fd00:10:244:1::2]:5353
  }
  chain nat-post {
    type nat hook postrouting priority srcnat; policy accept;
    meta mark & 0x4000 != 0 masquerade
  }
  chain filter-fwd {
    type filter hook forward priority 0; policy accept;
    ip6 daddr fd00:10:96::2 reject
    ip6 daddr fd00:10:96::3 drop
  }
}
`;

const answer = (endpoint: string, peerSeen: string): ProbeResult => ({ kind: 'answer', endpoint, peerSeen });

function namespaces(): string[] {
  return spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').map((l) => l.split(' ')[0] ?? '');
}

describe('kernel harness self-test', () => {
  let h: KernelHarness;

  beforeAll(async () => {
    h = await KernelHarness.create();
    await h.startServers([
      { ip: '10.244.1.2', port: 8080, proto: 'tcp' },
      { ip: '10.244.1.2', port: 5353, proto: 'udp' },
      { ip: '10.244.2.2', port: 8080, proto: 'tcp' },
      { ip: 'fd00:10:244:1::2', port: 8080, proto: 'tcp' },
      { ip: 'fd00:10:244:1::2', port: 5353, proto: 'udp' },
      { ip: 'fd00:10:244:2::2', port: 8080, proto: 'tcp' },
    ]);
  }, 60000);

  afterAll(async () => {
    await h?.dispose();
  }, 30000);

  test('plain routing without rules: pods, remote pods and external client reach each other', async () => {
    await h.resetNft();
    expect(await h.send('pod', 'tcp', '10.244.1.2', 8080)).toEqual(answer('10.244.1.2:8080', PLAN.clientPod.ipv4));
    expect(await h.send('pod', 'tcp', '10.244.2.2', 8080)).toEqual(answer('10.244.2.2:8080', PLAN.clientPod.ipv4));
    expect(await h.send('external', 'tcp', '10.244.1.2', 8080)).toEqual(answer('10.244.1.2:8080', PLAN.external.ipv4));
    expect(await h.send('external-other', 'udp', '10.244.1.2', 5353)).toEqual(answer('10.244.1.2:5353', PLAN.externalOther.ipv4));
    expect(await h.send('node', 'tcp', '10.244.2.2', 8080)).toEqual(answer('10.244.2.2:8080', PLAN.nodeIP.ipv4));
    expect(await h.send('pod', 'tcp', 'fd00:10:244:2::2', 8080)).toEqual(answer('[fd00:10:244:2::2]:8080', PLAN.clientPod.ipv6));
    expect(await h.send('external', 'udp', 'fd00:10:244:1::2', 5353)).toEqual(answer('[fd00:10:244:1::2]:5353', PLAN.external.ipv6));
    // Nothing listens on 8081: the pod's kernel resets the connection / answers port unreachable.
    expect(await h.send('pod', 'tcp', '10.244.1.2', 8081)).toEqual({ kind: 'refused' });
    expect(await h.send('pod', 'udp', '10.244.1.2', 8081)).toEqual({ kind: 'refused' });
  });

  describe('with the hand-written ruleset', () => {
    beforeAll(async () => {
      await h.resetNft();
      await h.applyNft(RULES);
      await h.flushConntrack();
    });

    test('dnat answers with the endpoint and the preserved client IP', async () => {
      expect(await h.send('pod', 'tcp', '10.96.0.1', 80)).toEqual(answer('10.244.1.2:8080', PLAN.clientPod.ipv4));
      expect(await h.send('pod', 'udp', '10.96.0.1', 53)).toEqual(answer('10.244.1.2:5353', PLAN.clientPod.ipv4));
      expect(await h.send('pod', 'tcp', 'fd00:10:96::1', 80)).toEqual(answer('[fd00:10:244:1::2]:8080', PLAN.clientPod.ipv6));
    });

    test('masquerade shows the node IP as the peer (remote and local endpoint, both families)', async () => {
      expect(await h.send('external', 'tcp', '10.100.0.10', 30080)).toEqual(answer('10.244.2.2:8080', PLAN.nodeIP.ipv4));
      expect(await h.send('pod', 'tcp', '10.100.0.10', 30080)).toEqual(answer('10.244.2.2:8080', PLAN.clientPod.ipv4));
      expect(await h.send('external', 'tcp', 'fd00:10:96::1', 80)).toEqual(answer('[fd00:10:244:1::2]:8080', PLAN.nodeIP.ipv6));
      expect(await h.send('external', 'udp', 'fd00:10:96::1', 53)).toEqual(answer('[fd00:10:244:1::2]:5353', PLAN.nodeIP.ipv6));
    });

    test('hairpin: a pod reaching itself through the node sees the node IP', async () => {
      expect(await h.send('pod:10.244.1.2', 'tcp', '10.96.0.1', 80)).toEqual(answer('10.244.1.2:8080', PLAN.nodeIP.ipv4));
      expect(await h.send('pod:10.244.1.2', 'udp', '10.96.0.1', 53)).toEqual(answer('10.244.1.2:5353', PLAN.nodeIP.ipv4));
    });

    test('node-originated traffic is DNATed in output', async () => {
      expect(await h.send('node', 'tcp', '10.96.0.1', 80)).toEqual(answer('10.244.1.2:8080', PLAN.nodeIP.ipv4));
      expect(await h.send('node', 'tcp', '10.100.0.10', 30080)).toEqual(answer('10.244.2.2:8080', PLAN.nodeIP.ipv4));
    });

    test('reject is refused and drop is a timeout, TCP and UDP, both families', async () => {
      const res = await h.sendGroups([
        { id: 'r4', from: 'pod', concurrency: 4, probes: [{ proto: 'tcp', dst: '10.96.0.2', dport: 80 }, { proto: 'udp', dst: '10.96.0.2', dport: 53 }] },
        { id: 'r6', from: 'external', concurrency: 4, probes: [{ proto: 'tcp', dst: 'fd00:10:96::2', dport: 80 }, { proto: 'udp', dst: 'fd00:10:96::2', dport: 53 }] },
        { id: 'd4', from: 'pod', concurrency: 4, probes: [{ proto: 'tcp', dst: '10.96.0.3', dport: 80, timeoutMs: 800 }, { proto: 'udp', dst: '10.96.0.3', dport: 53, timeoutMs: 800 }] },
        { id: 'd6', from: 'external', concurrency: 4, probes: [{ proto: 'tcp', dst: 'fd00:10:96::3', dport: 80, timeoutMs: 800 }, { proto: 'udp', dst: 'fd00:10:96::3', dport: 53, timeoutMs: 800 }] },
      ]);
      expect(res.get('r4')).toEqual([{ kind: 'refused' }, { kind: 'refused' }]);
      expect(res.get('r6')).toEqual([{ kind: 'refused' }, { kind: 'refused' }]);
      expect(res.get('d4')?.map((r) => r.kind)).toEqual(['timeout', 'timeout']);
      expect(res.get('d6')?.map((r) => r.kind)).toEqual(['timeout', 'timeout']);
    });

    test('a batch of 100 probes in one client process', async () => {
      const probes = Array.from({ length: 100 }, () => ({ proto: 'tcp' as const, dst: '10.96.0.1', dport: 80 }));
      const res = await h.sendGroups([{ id: 'b', from: 'external', concurrency: 50, probes }]);
      expect(res.get('b')).toEqual(probes.map(() => answer('10.244.1.2:8080', PLAN.external.ipv4)));
    });
  });

  test('a setup failing halfway deletes the namespaces it made', async () => {
    const prefix = `kpx-${process.pid}-999`;
    spawnSync('ip', ['netns', 'add', `${prefix}-client`]);
    try {
      await expect(KernelHarness.create({ prefix })).rejects.toThrow(/netns add/);
      expect(namespaces().filter((n) => n.startsWith(prefix))).toEqual([`${prefix}-client`]);
    } finally {
      spawnSync('ip', ['netns', 'del', `${prefix}-client`]);
    }
  });
});
