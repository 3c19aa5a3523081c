/**
 * The e2e topology as constants and per-namespace commands (pure; world.ts runs them).
 * Diagram and reasons: ./README.md.
 *
 *   CP ns (etcd + kube-apiserver) ─ veth ─ NODE ns (the proxy) ─ veth ─ EXT ns (outside host)
 *                                            │ one veth per pod (/32 routes, no bridge)
 *                                  POD2 … POD9 (echo servers), CLIENT (traffic generator)
 *
 * IPv4 only: the chaos and churn checks are about the controller, not about families
 * (the kernel suites cover IPv6 rule shapes).
 */

export const NODE_NAME = 'node-a';
/** A node that exists only in the API: endpoints "on" it are served by local pods, but kube-proxy must treat them as remote. */
export const OTHER_NODE_NAME = 'node-b';

export const E2E = {
  /** The node's InternalIP, on its LAN link to the external host. */
  nodeIP: '10.100.0.10',
  externalHost: '10.100.0.20',
  /** Node and control-plane ends of the link to the control plane. */
  nodeCpSide: '10.102.0.1',
  apiServerIP: '10.102.0.2',
  clusterCIDR: '10.244.0.0/16',
  /** The in-cluster client pod. */
  clientPod: '10.244.1.100',
  /** LoadBalancer ingress IPs and externalIPs; the external host routes them to the node. */
  externalCIDR: '10.250.0.0/24',
  /** The port every echo server listens on (TCP and UDP). */
  podPort: 8080,
  healthzAddress: '0.0.0.0:10256',
  metricsAddress: '127.0.0.1:10249',
} as const;

/** Host numbers of the endpoint pods: 10.244.1.N. */
export const POD_HOSTS = [2, 3, 4, 5, 6, 7, 8, 9] as const;

export function podIP(host: number): string {
  return `10.244.1.${host}`;
}

export interface Names {
  readonly cp: string;
  readonly node: string;
  readonly ext: string;
  readonly client: string;
  readonly pod: (host: number) => string;
}

export function namesFor(prefix: string): Names {
  return {
    cp: `${prefix}-cp`, node: `${prefix}-node`, ext: `${prefix}-ext`, client: `${prefix}-client`,
    pod: (h) => `${prefix}-pod${h}`,
  };
}

export interface Plan {
  /** Every namespace, in creation order. */
  readonly namespaces: readonly string[];
  /** Phases run one after another; scripts of one phase concurrently. */
  readonly phases: readonly (readonly { readonly ns: string; readonly script: readonly string[] }[])[];
}

export function plan(n: Names): Plan {
  const pods: [string, string][] = [...POD_HOSTS.map((h): [string, string] => [n.pod(h), podIP(h)]), [n.client, E2E.clientPod]];
  const namespaces = [n.cp, n.node, n.ext, ...pods.map(([ns]) => ns)];
  const common = [
    'ip link set lo up',
    'sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0',
    'sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1',
  ];
  const node = [
    'sysctl -qw net.ipv4.ip_forward=1',
    // Rejects are ICMP errors, rate-limited per destination by default (burst 6, then
    // 1/s): a client sending every 20 ms would see timeouts instead of refusals.
    'sysctl -qw net.ipv4.icmp_ratelimit=0',
    `ip link add eth0 type veth peer name eth0 netns ${n.ext}`,
    `ip addr add ${E2E.nodeIP}/24 dev eth0`,
    'ip link set eth0 up',
    `ip link add cp0 type veth peer name eth0 netns ${n.cp}`,
    `ip addr add ${E2E.nodeCpSide}/24 dev cp0`,
    'ip link set cp0 up',
    ...pods.flatMap(([ns, ip], i) => [
      `ip link add p${i} type veth peer name eth0 netns ${ns}`,
      `ip link set p${i} up`,
      `ip route add ${ip}/32 dev p${i} src ${E2E.nodeIP}`,
    ]),
    // A default route, as every node has: a Service IP is routable, so traffic to it
    // reaches the forward hook (where a Service without endpoints is rejected). Without a
    // rule it goes to the external host, which does not forward: it times out.
    `ip route add default via ${E2E.externalHost} src ${E2E.nodeIP}`,
  ];
  const cp = ['ip link set eth0 up', `ip addr add ${E2E.apiServerIP}/24 dev eth0`];
  const ext = [
    'ip link set eth0 up',
    `ip addr add ${E2E.externalHost}/24 dev eth0`,
    `ip route add ${E2E.externalCIDR} via ${E2E.nodeIP}`,
  ];
  const pod = (ip: string): string[] => [
    'ip link set eth0 up',
    `ip addr add ${ip}/32 dev eth0`,
    `ip route add ${E2E.nodeIP}/32 dev eth0 scope link`,
    `ip route add default via ${E2E.nodeIP} dev eth0`,
  ];
  return {
    namespaces,
    phases: [
      namespaces.map((ns) => ({ ns, script: common })),
      [{ ns: n.node, script: node }],
      [{ ns: n.cp, script: cp }, { ns: n.ext, script: ext }, ...pods.map(([ns, ip]) => ({ ns, script: pod(ip) }))],
    ],
  };
}
