// Reading a large manifest set: `kpx render -f` on 15k Services with their slices, as
// `kubectl get -o yaml` (multi-document YAML) and `-o json` (one List) print them, with
// the metadata a real cluster carries (managedFields, annotations, targetRefs).
//
//   npm run bench:manifests                        # 15k services, ~50 MB per format
//   SERVICES=2000 npm run bench:manifests
//
// Each measurement runs in a fresh child process (so peak RSS is the reading's own):
// `read` = readManifestSources + parseManifests (the part this benchmark guards),
// `render` = the whole `kpx render --backend nftables` command. Targets (issue 9): a
// 50 MB set read in at most 10 s and 1 GB. Prints one line per format and step.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SERVICES = Number(process.env.SERVICES ?? 15_000);
const ENDPOINTS = 4;

const ip = (a, n) => `${a}.${(n >> 16) & 255}.${(n >> 8) & 255}.${(n & 255) + 1 > 254 ? 254 : (n & 255) + 1}`;

function managedFields(manager) {
  return [{
    apiVersion: 'v1', fieldsType: 'FieldsV1', manager, operation: 'Update', time: '2026-01-01T00:00:00Z',
    fieldsV1: { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } }, 'f:spec': { 'f:ports': { '.': {}, 'k:{"port":80,"protocol":"TCP"}': { '.': {}, 'f:name': {}, 'f:port': {}, 'f:protocol': {}, 'f:targetPort': {} } }, 'f:selector': {}, 'f:sessionAffinity': {}, 'f:type': {} } },
  }];
}

function objects() {
  const out = [{ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-0', labels: { 'topology.kubernetes.io/zone': 'zone-a' } }, status: { addresses: [{ type: 'InternalIP', address: '10.100.0.10' }] } }];
  for (let i = 0; i < SERVICES; i++) {
    const name = `svc-${i}`;
    const ns = `ns-${i % 50}`;
    out.push({
      apiVersion: 'v1', kind: 'Service',
      metadata: {
        name, namespace: ns, uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, resourceVersion: String(1000 + i),
        creationTimestamp: '2026-01-01T00:00:00Z', labels: { app: name, 'app.kubernetes.io/part-of': 'bench' },
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }], selector: { app: name } } }) },
        managedFields: managedFields('kubectl-client-side-apply'),
      },
      spec: {
        clusterIP: ip(10, i), clusterIPs: [ip(10, i)], internalTrafficPolicy: 'Cluster', ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack',
        ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }], selector: { app: name }, sessionAffinity: 'None', type: 'ClusterIP',
      },
      status: { loadBalancer: {} },
    });
    out.push({
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: 'IPv4',
      metadata: {
        name: `${name}-abcde`, namespace: ns, generateName: `${name}-`, resourceVersion: String(50000 + i), creationTimestamp: '2026-01-01T00:00:00Z',
        labels: { 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io', 'kubernetes.io/service-name': name, app: name },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name, uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, blockOwnerDeletion: true, controller: true }],
      },
      endpoints: Array.from({ length: ENDPOINTS }, (_, e) => ({
        addresses: [ip(11, i * ENDPOINTS + e)], conditions: { ready: true, serving: true, terminating: false },
        nodeName: `node-${e}`, zone: 'zone-a', targetRef: { kind: 'Pod', name: `${name}-pod-${e}`, namespace: ns, uid: `10000000-0000-4000-8000-${String(i * ENDPOINTS + e).padStart(12, '0')}` },
      })),
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    });
  }
  return out;
}

/** A small YAML emitter for plain data, in kubectl's style (2-space indent, `- ` lists). */
function yaml(v, indent = '') {
  if (Array.isArray(v)) {
    if (v.length === 0) return ' []';
    return v.map((x) => `\n${indent}- ${yaml(x, `${indent}  `).replace(/^\n\s*/, '')}`).join('');
  }
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v);
    if (keys.length === 0) return ' {}';
    return keys.map((k) => `\n${indent}${/^[\w./-]+$/.test(k) ? k : JSON.stringify(k)}:${yaml(v[k], `${indent}  `)}`).join('');
  }
  if (typeof v === 'string') return ` ${/^[A-Za-z][\w./-]*$/.test(v) && !/^(true|false|null|yes|no|on|off)$/i.test(v) ? v : JSON.stringify(v)}`;
  return ` ${v}`;
}

function measure(args) {
  const t = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (t.status !== 0) throw new Error(`${args.join(' ')} failed (${t.status}): ${t.stderr.slice(0, 2000)}`);
  return JSON.parse(t.stdout.trim().split('\n').pop());
}

// WRITE_ONLY=DIR: write the two files into DIR and stop (to profile by hand).
const writeOnly = process.env.WRITE_ONLY;
const dir = writeOnly ?? mkdtempSync(join(tmpdir(), 'kpx-bench-manifests-'));
try {
  const objs = objects();
  const files = {
    yaml: join(dir, 'cluster.yaml'),
    json: join(dir, 'cluster.json'),
  };
  writeFileSync(files.yaml, objs.map((o) => `---${yaml(o)}\n`).join(''));
  writeFileSync(files.json, JSON.stringify({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: objs }, null, 4));
  if (writeOnly !== undefined) process.exit(0);
  const reader = join(ROOT, 'bench', 'manifests-child.mjs');
  for (const [format, file] of Object.entries(files)) {
    const mb = (statSync(file).size / 1e6).toFixed(1);
    const read = measure([reader, 'read', file]);
    console.log(`manifests ${format} ${mb} MB, ${SERVICES} services: read ${read.seconds.toFixed(2)} s (CPU ${read.cpuSeconds.toFixed(2)} s), peak RSS ${read.maxRssMB} MB (${read.objects} objects)`);
    const render = measure([reader, 'render', file]);
    console.log(`manifests ${format} ${mb} MB, ${SERVICES} services: kpx render ${render.seconds.toFixed(2)} s (CPU ${render.cpuSeconds.toFixed(2)} s), peak RSS ${render.maxRssMB} MB`);
  }
} finally {
  if (writeOnly === undefined) rmSync(dir, { recursive: true, force: true });
}
