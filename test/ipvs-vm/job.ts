/**
 * The job the IPVS test VM runs (kpx-vm run /job/job.json): the same topology as the
 * kernel harness (test/kernel/harness.ts, address plan in topology.ts) built inside the
 * VM, echo servers on every endpoint, and per scenario a load script plus the probe
 * groups of its flow cases. Pure: everything is derived from its arguments.
 */
import { probeCount, type FlowCase } from '../kernel/flows.js';
import {
  PLAN, POD_HOSTS, familyOf, localPodIP, remotePodIP, sourceAddress, type From,
} from '../kernel/topology.js';

export interface ServerSpec { readonly ip: string; readonly port: number; readonly proto: 'tcp' | 'udp' }

export interface JobScenario {
  readonly name: string;
  /** File name → content, as `kpx render --backend ipvs --out DIR` wrote them. */
  readonly files: ReadonlyMap<string, string>;
  readonly cases: readonly FlowCase[];
}

export interface VmJob {
  readonly setup: string;
  readonly servers: readonly { readonly ns: string; readonly specs: readonly ServerSpec[] }[];
  readonly scenarios: readonly {
    readonly name: string;
    readonly load: string;
    readonly groups: readonly { ns: string; id: string; concurrency: number; probes: object[] }[];
  }[];
}

/** Namespace names inside the VM (the VM is private: no pid prefix needed). */
export const NS = { node: 'node', remote: 'remote', ext: 'ext', client: 'client', pod: (h: number) => `pod${h}` } as const;

/** Probe timeout in the VM: software emulation is slower than the host. */
export const VM_PROBE_TIMEOUT_MS = 4000;

/**
 * busybox sh (the VM's shell) runs its own `ip` applet before anything on PATH, and that
 * applet knows no netns/veth: every `ip` of the scripts must be iproute2's, by path.
 */
const iproute2 = (script: string): string => script.replace(/(^|[\s'(])ip (?=\S)/gm, '$1/usr/bin/ip ');

const sysctl = (key: string, value: string | number): string => `echo ${value} > /proc/sys/${key.replace(/\./g, '/')}`;

/** The topology script: test/kernel/harness.ts's build(), with the VM's namespace names. */
export function setupScript(): string {
  const n = PLAN.nodeIP;
  const pods: [string, string, string][] = [
    ...POD_HOSTS.map((h): [string, string, string] => [NS.pod(h), localPodIP(h, 'ipv4'), localPodIP(h, 'ipv6')]),
    [NS.client, PLAN.clientPod.ipv4, PLAN.clientPod.ipv6],
  ];
  const all = [NS.node, NS.remote, NS.ext, ...pods.map(([ns]) => ns)];
  // One shell per namespace: every process start is costly under software emulation.
  const inNs = (ns: string, lines: readonly string[]): string[] => [`ip netns exec ${ns} sh -ec '\n${lines.join('\n')}\n'`];
  const common = [
    'ip link set lo up',
    sysctl('net.ipv4.conf.all.rp_filter', 0), sysctl('net.ipv4.conf.default.rp_filter', 0),
    sysctl('net.ipv6.conf.all.accept_dad', 0), sysctl('net.ipv6.conf.default.accept_dad', 0),
  ];
  const node = [
    ...common,
    sysctl('net.ipv4.ip_forward', 1), sysctl('net.ipv6.conf.all.forwarding', 1),
    sysctl('net.ipv4.conf.all.send_redirects', 0), sysctl('net.ipv4.conf.default.send_redirects', 0),
    sysctl('net.ipv4.icmp_ratelimit', 0), sysctl('net.ipv6.icmp.ratelimit', 0),
    // What kube-proxy's IPVS mode sets: conntrack for IPVS connections (so iptables
    // MASQUERADE applies), and expiry of connections whose real server is gone.
    sysctl('net.ipv4.vs.conntrack', 1), sysctl('net.ipv4.vs.expire_nodest_conn', 1),
    sysctl('net.ipv4.vs.expire_quiescent_template', 1),
    `ip link add eth0 type veth peer name eth0 netns ${NS.remote}`,
    `ip addr add ${n.ipv4}/24 dev eth0`,
    `ip -6 addr add ${n.ipv6}/64 dev eth0 nodad`,
    'ip link set eth0 up',
    `ip link add ext0 type veth peer name eth0 netns ${NS.ext}`,
    `ip addr add ${PLAN.nodeExternalSide.ipv4}/24 dev ext0`,
    `ip addr add ${PLAN.nodeExternalOtherSide.ipv4}/24 dev ext0`,
    `ip -6 addr add ${PLAN.nodeExternalSide.ipv6}/64 dev ext0 nodad preferred_lft 0`,
    `ip -6 addr add ${PLAN.nodeExternalOtherSide.ipv6}/64 dev ext0 nodad preferred_lft 0`,
    'ip link set ext0 up',
    ...pods.flatMap(([ns, a4, a6], i) => [
      `ip link add p${i} type veth peer name eth0 netns ${ns}`,
      `ip link set p${i} up`,
      `ip -6 addr add fe80::1/64 dev p${i} nodad`,
      `ip route add ${a4}/32 dev p${i} src ${n.ipv4}`,
      `ip -6 route add ${a6}/128 dev p${i} src ${n.ipv6}`,
    ]),
    `ip route add 10.244.2.0/24 via ${PLAN.remoteNodeIP.ipv4}`,
    `ip -6 route add fd00:10:244:2::/64 via ${PLAN.remoteNodeIP.ipv6}`,
    `ip route add default via ${PLAN.external.ipv4} src ${n.ipv4}`,
    `ip -6 route add default via ${PLAN.external.ipv6} src ${n.ipv6}`,
  ];
  const remote = [
    ...common,
    'ip link set eth0 up',
    `ip addr add ${PLAN.remoteNodeIP.ipv4}/24 dev eth0`,
    `ip -6 addr add ${PLAN.remoteNodeIP.ipv6}/64 dev eth0 nodad`,
    ...POD_HOSTS.flatMap((h) => [
      `ip addr add ${remotePodIP(h, 'ipv4')}/32 dev lo`,
      `ip -6 addr add ${remotePodIP(h, 'ipv6')}/128 dev lo nodad`,
    ]),
    `ip route add default via ${n.ipv4}`,
    `ip -6 route add default via ${n.ipv6}`,
  ];
  const ext = [
    ...common,
    'ip link set eth0 up',
    `ip addr add ${PLAN.external.ipv4}/24 dev eth0`,
    `ip addr add ${PLAN.externalOther.ipv4}/24 dev eth0`,
    `ip -6 addr add ${PLAN.external.ipv6}/64 dev eth0 nodad`,
    `ip -6 addr add ${PLAN.externalOther.ipv6}/64 dev eth0 nodad`,
    `ip route add default via ${PLAN.nodeExternalSide.ipv4}`,
    `ip -6 route add default via ${PLAN.nodeExternalSide.ipv6}`,
  ];
  const pod = (a4: string, a6: string): string[] => [
    ...common,
    'ip link set eth0 up',
    `ip addr add ${a4}/32 dev eth0`,
    `ip -6 addr add ${a6}/128 dev eth0 nodad`,
    `ip route add ${n.ipv4}/32 dev eth0 scope link`,
    `ip route add default via ${n.ipv4} dev eth0`,
    'ip -6 route add default via fe80::1 dev eth0',
  ];
  return iproute2([
    ...all.map((ns) => `ip netns add ${ns}`),
    ...inNs(NS.node, node),
    ...inNs(NS.remote, remote),
    ...inNs(NS.ext, ext),
    ...pods.flatMap(([ns, a4, a6]) => inNs(ns, pod(a4, a6))),
  ].join('\n'));
}

/** The namespace that owns an endpoint address of the plan, or undefined. */
export function namespaceOf(ip: string): string | undefined {
  const v4 = familyOf(ip) === 'ipv4' ? ip : ip.replace(/^fd00:10:244:(\d)::(\d+)$/, '10.244.$1.$2');
  if (v4.startsWith('10.244.2.')) return NS.remote;
  if (v4 === PLAN.clientPod.ipv4) return NS.client;
  const m = /^10\.244\.1\.(\d+)$/.exec(v4);
  if (m && (POD_HOSTS as readonly number[]).includes(Number(m[1]))) return NS.pod(Number(m[1]));
  return undefined;
}

export function namespaceFor(from: From): string {
  switch (from) {
    case 'external': case 'external-other': return NS.ext;
    case 'pod': return NS.client;
    case 'node': return NS.node;
    default: {
      const ns = namespaceOf(from.slice('pod:'.length));
      if (ns === undefined) throw new Error(`no namespace for ${from}`);
      return ns;
    }
  }
}

/**
 * Resets the node namespace to nothing kpx made, then loads the rendered parts in the
 * order they depend on each other: sets (rules name them), virtual servers, addresses
 * on kube-ipvs0, iptables glue.
 */
export function loadScript(scenario: string, files: ReadonlyMap<string, string>): string {
  const dir = `/job/scenarios/${scenario}`;
  const N = `ip netns exec ${NS.node}`;
  const lines = [
    `${N} ipvsadm -C`,
    ...['iptables', 'ip6tables'].flatMap((t) => ['nat', 'filter'].flatMap((tbl) => [`${N} ${t} -t ${tbl} -F`, `${N} ${t} -t ${tbl} -X`])),
    `${N} ipset destroy`,
    `${N} ip link del kube-ipvs0 2>/dev/null || true`,
    `${N} ip link add kube-ipvs0 type dummy`,
    `${N} ip link set kube-ipvs0 up`,
    `${N} ipset restore -exist < ${dir}/ipset.restore`,
    `${N} ipvsadm -R < ${dir}/ipvsadm.rules`,
    `${N} ip -batch ${dir}/kube-ipvs0.batch`,
    `${N} iptables-restore < ${dir}/iptables.rules`,
    ...(files.has('ip6tables.rules') ? [`${N} ip6tables-restore < ${dir}/ip6tables.rules`] : []),
    `echo "virtual servers: $(${N} ipvsadm -Ln | grep -c -E '^(TCP|UDP|SCTP)')"`,
  ];
  return iproute2(lines.join('\n'));
}

export function buildJob(scenarios: readonly JobScenario[], servers: readonly ServerSpec[]): VmJob {
  const byNs = new Map<string, ServerSpec[]>();
  for (const s of servers) {
    const ns = namespaceOf(s.ip);
    if (ns === undefined) continue;
    byNs.set(ns, [...(byNs.get(ns) ?? []), s]);
  }
  return {
    setup: setupScript(),
    servers: [...byNs].map(([ns, specs]) => ({ ns, specs })),
    scenarios: scenarios.map((s) => ({
      name: s.name,
      load: loadScript(s.name, s.files),
      groups: s.cases.map((c, i) => ({
        ns: namespaceFor(c.from),
        id: String(i),
        concurrency: c.expect.kind === 'sticky' ? 1 : 10,
        probes: Array.from({ length: probeCount(c) }, () => {
          const src = sourceAddress(c.from, familyOf(c.dst));
          return { proto: c.proto, dst: c.dst, dport: c.dport, timeoutMs: VM_PROBE_TIMEOUT_MS, ...(src === undefined ? {} : { src }) };
        }),
      })),
    })),
  };
}
