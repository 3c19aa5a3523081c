/**
 * The topology of ./README.md as commands: the namespaces, what runs in each and in which
 * order, and which namespace owns an address. Pure: the kernel harness (harness.ts) runs
 * the scripts with `ip netns exec` in namespaces it creates on the host, the IPVS VM job
 * (test/ipvs-vm/job.ts) as one shell script inside the VM. Address plan: ./topology.ts.
 */
import { PLAN, POD_HOSTS, extraClientAddresses, familyOf, localPodIP, remotePodIP, type From } from './topology.js';

/** The namespaces of one topology. */
export interface Namespaces {
  readonly node: string;
  readonly remote: string;
  readonly external: string;
  /** The in-cluster client pod. */
  readonly client: string;
  /** The local endpoint pod 10.244.1.<host>. */
  readonly pod: (host: number) => string;
}

/** `<prefix>-node`, `<prefix>-ext`, `<prefix>-pod2`, …; without a prefix `node`, `ext`, `pod2`, …. */
export function namespaceNames(prefix?: string): Namespaces {
  const name = (role: string): string => (prefix === undefined ? role : `${prefix}-${role}`);
  return {
    node: name('node'), remote: name('remote'), external: name('ext'), client: name('client'),
    pod: (h) => name(`pod${h}`),
  };
}

export interface PlanOptions {
  /**
   * How a sysctl is set: `procps` (default) `sysctl -qw k=v …`, one line per group;
   * `proc` `echo v > /proc/sys/…`, one line per key (busybox, the VM).
   */
  readonly sysctl?: 'procps' | 'proc';
  /** Also set what kube-proxy's IPVS mode sets on the node (the `net.ipv4.vs.*` sysctls). */
  readonly ipvs?: boolean;
}

export interface NamespaceScript {
  readonly ns: string;
  readonly commands: readonly string[];
}

export interface TopologyPlan {
  /** Every namespace, in the order to create them. */
  readonly namespaces: readonly string[];
  /** Runs in every namespace before anything else: loopback up, rp_filter off, DAD off. */
  readonly common: readonly string[];
  /** The node: forwarding, and every link (it creates the veths, each peer directly in its namespace). */
  readonly node: readonly string[];
  readonly remote: readonly string[];
  readonly external: readonly string[];
  /** Local pods, namespace → commands: the endpoint pods (pod2…pod9), then the client. */
  readonly pods: ReadonlyMap<string, readonly string[]>;
  /**
   * The build order: phases one after another, the scripts of one phase in any order or
   * concurrently. `common` runs in every namespace first, so DAD is off in each before
   * any veth end lands there (the node's script creates the peers of the other
   * namespaces' links) and no IPv6 address is ever tentative.
   */
  readonly phases: readonly (readonly NamespaceScript[])[];
}

type Sysctls = readonly (readonly [key: string, value: number | string])[];

export function topologyPlan(names: Namespaces, options: PlanOptions = {}): TopologyPlan {
  const sysctl = (settings: Sysctls): string[] => (options.sysctl === 'proc'
    ? settings.map(([k, v]) => `echo ${v} > /proc/sys/${k.replace(/\./g, '/')}`)
    : [`sysctl -qw ${settings.map(([k, v]) => `${k}=${v}`).join(' ')}`]);
  const n = PLAN.nodeIP;
  // Local pods: one namespace per endpoint IP (so a pod's source is its endpoint IP and
  // replies between pods always cross the node), plus the in-cluster client pod.
  const localPods: [string, string, string][] = [
    ...POD_HOSTS.map((h): [string, string, string] => [names.pod(h), localPodIP(h, 'ipv4'), localPodIP(h, 'ipv6')]),
    [names.client, PLAN.clientPod.ipv4, PLAN.clientPod.ipv6],
  ];
  const common = [
    'ip link set lo up',
    ...sysctl([['net.ipv4.conf.all.rp_filter', 0], ['net.ipv4.conf.default.rp_filter', 0]]),
    ...sysctl([['net.ipv6.conf.all.accept_dad', 0], ['net.ipv6.conf.default.accept_dad', 0]]),
  ];
  const node = [
    ...sysctl([['net.ipv4.ip_forward', 1], ['net.ipv6.conf.all.forwarding', 1]]),
    ...sysctl([['net.ipv4.conf.all.send_redirects', 0], ['net.ipv4.conf.default.send_redirects', 0]]),
    // A `reject` is an ICMP error, and ICMP errors are rate-limited per destination
    // (burst 6, then 1/s): without this, a batch of rejected probes partly times out.
    // (icmp_msgs_per_sec/burst are left alone: on older kernels they are not per-netns.)
    ...sysctl([['net.ipv4.icmp_ratelimit', 0], ['net.ipv6.icmp.ratelimit', 0]]),
    // What kube-proxy's IPVS mode sets: conntrack for IPVS connections (so iptables
    // MASQUERADE applies), and expiry of connections whose real server is gone.
    ...(options.ipvs === true
      ? sysctl([['net.ipv4.vs.conntrack', 1], ['net.ipv4.vs.expire_nodest_conn', 1], ['net.ipv4.vs.expire_quiescent_template', 1]])
      : []),
    // The link to the remote node comes first: an address-less pod veth masquerades to
    // the first global address in device order, which must be the node IP.
    `ip link add eth0 type veth peer name eth0 netns ${names.remote}`,
    `ip addr add ${n.ipv4}/24 dev eth0`,
    `ip -6 addr add ${n.ipv6}/64 dev eth0 nodad`,
    'ip link set eth0 up',
    // Extra client addresses for session-affinity cases (topology.ts clientAddress):
    // secondary, so never the source the node picks itself.
    ...extraClientAddresses('node', 'ipv4').map((a) => `ip addr add ${a}/24 dev eth0`),
    ...extraClientAddresses('node', 'ipv6').map((a) => `ip -6 addr add ${a}/64 dev eth0 nodad preferred_lft 0`),
    `ip link add ext0 type veth peer name eth0 netns ${names.external}`,
    `ip addr add ${PLAN.nodeExternalSide.ipv4}/24 dev ext0`,
    `ip addr add ${PLAN.nodeExternalOtherSide.ipv4}/24 dev ext0`,
    // Deprecated (preferred_lft 0): still receives, never chosen as a source, so IPv6
    // masquerade towards pods picks the node IP.
    `ip -6 addr add ${PLAN.nodeExternalSide.ipv6}/64 dev ext0 nodad preferred_lft 0`,
    `ip -6 addr add ${PLAN.nodeExternalOtherSide.ipv6}/64 dev ext0 nodad preferred_lft 0`,
    'ip link set ext0 up',
    ...localPods.flatMap(([ns, a4, a6], i) => [
      `ip link add p${i} type veth peer name eth0 netns ${ns}`,
      `ip link set p${i} up`,
      `ip -6 addr add fe80::1/64 dev p${i} nodad`,
      `ip route add ${a4}/32 dev p${i} src ${n.ipv4}`,
      `ip -6 route add ${a6}/128 dev p${i} src ${n.ipv6}`,
    ]),
    // The client pod's extra addresses (the client pod's veth is the last one).
    ...extraClientAddresses('pod', 'ipv4').map((a) => `ip route add ${a}/32 dev p${localPods.length - 1} src ${n.ipv4}`),
    ...extraClientAddresses('pod', 'ipv6').map((a) => `ip -6 route add ${a}/128 dev p${localPods.length - 1} src ${n.ipv6}`),
    `ip route add 10.244.2.0/24 via ${PLAN.remoteNodeIP.ipv4}`,
    `ip -6 route add fd00:10:244:2::/64 via ${PLAN.remoteNodeIP.ipv6}`,
    // Node-originated traffic to service/LB IPs needs a route before DNAT happens.
    `ip route add default via ${PLAN.external.ipv4} src ${n.ipv4}`,
    `ip -6 route add default via ${PLAN.external.ipv6} src ${n.ipv6}`,
  ];
  const remote = [
    'ip link set eth0 up',
    `ip addr add ${PLAN.remoteNodeIP.ipv4}/24 dev eth0`,
    `ip -6 addr add ${PLAN.remoteNodeIP.ipv6}/64 dev eth0 nodad`,
    // Remote pods are addresses of the remote node namespace itself.
    ...POD_HOSTS.flatMap((h) => [
      `ip addr add ${remotePodIP(h, 'ipv4')}/32 dev lo`,
      `ip -6 addr add ${remotePodIP(h, 'ipv6')}/128 dev lo nodad`,
    ]),
    `ip route add default via ${n.ipv4}`,
    `ip -6 route add default via ${n.ipv6}`,
  ];
  const external = [
    'ip link set eth0 up',
    `ip addr add ${PLAN.external.ipv4}/24 dev eth0`,
    `ip addr add ${PLAN.externalOther.ipv4}/24 dev eth0`,
    `ip -6 addr add ${PLAN.external.ipv6}/64 dev eth0 nodad`,
    `ip -6 addr add ${PLAN.externalOther.ipv6}/64 dev eth0 nodad`,
    ...extraClientAddresses('external', 'ipv4').map((a) => `ip addr add ${a}/24 dev eth0`),
    ...extraClientAddresses('external', 'ipv6').map((a) => `ip -6 addr add ${a}/64 dev eth0 nodad preferred_lft 0`),
    `ip route add default via ${PLAN.nodeExternalSide.ipv4}`,
    `ip -6 route add default via ${PLAN.nodeExternalSide.ipv6}`,
    // The outside world has no address the node sends it: everything the node routes here
    // (its default route: service IPs kpx left alone, unknown addresses) is rejected with
    // an ICMP unreachable (EHOSTUNREACH at the client) instead of being silently lost or
    // looped back. So a probe that times out was dropped by a rule on the node, never by
    // the topology (check.ts: dropped vs unanswered). A REJECT rule, not an unreachable
    // route: the route's ICMP errors are rate-limited per source (net.ipv4.route.error_cost,
    // 5 then 1/s, not per namespace), REJECT's go through icmp_send, whose limits
    // icmp_ratemask (0 here; IPv6: type 1 left out) switches off.
    // accept_local: a packet from one of its own addresses that the node hairpins back
    // (an address kpx leaves alone, external → node → here) is not a martian: it too is
    // rejected, and the client hears of it.
    ...sysctl([['net.ipv4.ip_forward', 1], ['net.ipv6.conf.all.forwarding', 1], ['net.ipv4.conf.all.accept_local', 1]]),
    ...sysctl([['net.ipv4.icmp_ratelimit', 0], ['net.ipv4.icmp_ratemask', 0], ['net.ipv6.icmp.ratelimit', 0]]),
    // ICMPv6 type 1 (destination unreachable) out of the rate mask (default 0-1,3-127).
    ...sysctl([['net.ipv6.icmp.ratemask', '0,3-127']]),
    'iptables -A FORWARD -j REJECT --reject-with icmp-host-unreachable',
    'ip6tables -A FORWARD -j REJECT --reject-with icmp6-addr-unreachable',
  ];
  const pods = new Map(localPods.map(([ns, a4, a6]): [string, string[]] => [ns, [
    'ip link set eth0 up',
    `ip addr add ${a4}/32 dev eth0`,
    `ip -6 addr add ${a6}/128 dev eth0 nodad`,
    ...(ns === names.client ? [
      ...extraClientAddresses('pod', 'ipv4').map((a) => `ip addr add ${a}/32 dev eth0`),
      ...extraClientAddresses('pod', 'ipv6').map((a) => `ip -6 addr add ${a}/128 dev eth0 nodad preferred_lft 0`),
    ] : []),
    `ip route add ${n.ipv4}/32 dev eth0 scope link`,
    `ip route add default via ${n.ipv4} dev eth0`,
    'ip -6 route add default via fe80::1 dev eth0',
  ]]));
  const namespaces = [names.node, names.remote, names.external, names.client, ...POD_HOSTS.map(names.pod)];
  return {
    namespaces, common, node, remote, external, pods,
    phases: [
      namespaces.map((ns) => ({ ns, commands: common })),
      [{ ns: names.node, commands: node }],
      [
        { ns: names.remote, commands: remote },
        { ns: names.external, commands: external },
        ...[...pods].map(([ns, commands]) => ({ ns, commands })),
      ],
    ],
  };
}

/** The namespace that owns an endpoint address of the plan (local pod, client pod or remote pod), if any. */
export function namespaceOf(names: Namespaces, ip: string): string | undefined {
  const v4 = familyOf(ip) === 'ipv4' ? ip : ip.replace(/^fd00:10:244:(\d)::(\d+)$/, '10.244.$1.$2');
  if (v4.startsWith('10.244.2.')) return names.remote;
  if (v4 === PLAN.clientPod.ipv4) return names.client;
  const host = POD_HOSTS.find((h) => localPodIP(h, 'ipv4') === v4);
  return host === undefined ? undefined : names.pod(host);
}

/** The namespace a probe from `from` is sent from. */
export function namespaceFor(names: Namespaces, from: From): string {
  switch (from) {
    case 'external':
    case 'external-other':
      return names.external;
    case 'pod':
      return names.client;
    case 'node':
      return names.node;
    default: {
      const ns = namespaceOf(names, from.slice('pod:'.length));
      if (ns === undefined) throw new Error(`no namespace for ${from}: not an endpoint address of the plan`);
      return ns;
    }
  }
}
