// A synthetic cluster for the benchmarks: `services` Services with `endpoints` ready
// endpoints each. Every 10th Service is a NodePort (while node ports 30000-32767 last),
// the rest ClusterIP; endpoints are spread over 100 nodes, the first of which is the
// rendered node.
export const NODES = 100;
export const NODE_NAME = 'node-0';

/** The n-th host address under firstOctet/8, skipping .0 and .255 for readability. */
export function ipv4(firstOctet, n) {
  const host = Math.floor(n / 254) * 256 + (n % 254) + 1;
  return `${firstOctet}.${(host >> 16) & 255}.${(host >> 8) & 255}.${host & 255}`;
}

export function generate(services, endpoints) {
  const svcs = [];
  const slices = [];
  let nodePort = 30000;
  let podIndex = 0;
  for (let i = 0; i < services; i++) {
    const name = `svc-${i}`;
    const namespace = `ns-${i % 100}`;
    const isNodePort = i % 10 === 0 && nodePort <= 32767;
    svcs.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace },
      spec: {
        type: isNodePort ? 'NodePort' : 'ClusterIP',
        clusterIP: ipv4(10, i), // 10.0.0.0/8 holds 16M; cluster IPs stay apart from pods (11/8)
        clusterIPs: [ipv4(10, i)],
        ipFamilies: ['IPv4'],
        ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080, ...(isNodePort ? { nodePort: nodePort++ } : {}) }],
      },
    });
    const eps = [];
    for (let e = 0; e < endpoints; e++) {
      const p = podIndex++;
      eps.push({
        addresses: [ipv4(11, p)],
        conditions: { ready: true, serving: true, terminating: false },
        nodeName: `node-${p % NODES}`,
      });
    }
    slices.push({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${name}-abcde`, namespace, labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      endpoints: eps,
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    });
  }
  const node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: NODE_NAME },
    status: { addresses: [{ type: 'InternalIP', address: '192.168.0.10' }] },
  };
  return { services: svcs, endpointSlices: slices, node };
}

/** A non-negative integer from `--flag N` or the environment variable, else the fallback. */
export function intOption(flag, env, fallback) {
  const i = process.argv.indexOf(flag);
  const text = i >= 0 ? process.argv[i + 1] : process.env[env];
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} / ${env}: want a non-negative integer, got ${text}`);
  return n;
}
