import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { V1Node } from '@kubernetes/client-node';
import { parseManifests, readManifestSources, selectNode } from '../../src/cli/manifests.js';

const svc = (name: string, ns = 'default'): string => `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${ns}}
spec: {clusterIP: 10.96.0.10, ports: [{port: 80}]}
`;

const names = (objs: readonly { metadata?: { name?: string; namespace?: string } }[]): string[] =>
  objs.map((o) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`);

describe('parseManifests', () => {
  it('reads multi-document YAML and sorts by kind', () => {
    const text = `${svc('a')}---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: a-1, namespace: default, labels: {kubernetes.io/service-name: a}}
addressType: IPv4
endpoints: []
---
# an empty document
---
apiVersion: v1
kind: Node
metadata: {name: node-a}
`;
    const set = parseManifests([{ name: 'c.yaml', text }]);
    expect(names(set.services)).toEqual(['default/a']);
    expect(names(set.endpointSlices)).toEqual(['default/a-1']);
    expect(names(set.nodes)).toEqual(['/node-a']);
    expect(set.objectsRead).toBe(3);
    expect(set.notes).toEqual([]);
  });

  it('flattens List, typed lists and nested lists; typed-list items inherit apiVersion and kind', () => {
    const list = `apiVersion: v1
kind: List
items:
- ${svc('a').replace(/\n/g, '\n  ')}
- apiVersion: v1
  kind: List
  items:
  - ${svc('b').replace(/\n/g, '\n    ')}
`;
    const json = JSON.stringify({
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSliceList', metadata: { resourceVersion: '1' },
      items: [{ metadata: { name: 'a-x', namespace: 'default' }, addressType: 'IPv4', endpoints: [] }],
    });
    const svcList = `apiVersion: v1
kind: ServiceList
items:
- metadata: {name: c, namespace: other}
  spec: {clusterIP: 10.96.0.11}
`;
    const set = parseManifests([{ name: 'l.yaml', text: list }, { name: 'e.json', text: json }, { name: 's.yml', text: svcList }]);
    expect(names(set.services)).toEqual(['default/a', 'default/b', 'other/c']);
    expect(set.services[2]).toMatchObject({ apiVersion: 'v1', kind: 'Service' });
    expect(names(set.endpointSlices)).toEqual(['default/a-x']);
    expect(set.endpointSlices[0]).toMatchObject({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice' });
    expect(set.notes).toEqual([]);
  });

  it('reads JSON, including a top-level array, and JSON inside a .yaml file', () => {
    const one = JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'j', namespace: 'n' } });
    const set = parseManifests([
      { name: 'a.json', text: `[${one}]` },
      { name: 'b.yaml', text: one.replace('"j"', '"k"') },
    ]);
    expect(names(set.services)).toEqual(['n/j', 'n/k']);
  });

  it('reports unknown kinds and unsupported versions once per kind and ignores them', () => {
    const text = `apiVersion: v1
kind: ConfigMap
metadata: {name: x}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: y}
---
apiVersion: v1
kind: Endpoints
metadata: {name: a}
---
apiVersion: discovery.k8s.io/v1beta1
kind: EndpointSlice
metadata: {name: old}
---
${svc('a')}`;
    const set = parseManifests([{ name: 'm.yaml', text }]);
    expect(set.objectsRead).toBe(1);
    expect(set.notes).toEqual([
      { where: 'm.yaml:1', message: 'ignored 2 objects of kind v1 ConfigMap: kpx reads only Service, EndpointSlice and Node' },
      { where: 'm.yaml:9', message: 'ignored 1 object of kind v1 Endpoints: kpx reads only Service, EndpointSlice and Node' },
      { where: 'm.yaml:13', message: 'ignored 1 object of kind discovery.k8s.io/v1beta1 EndpointSlice: kpx reads EndpointSlice discovery.k8s.io/v1 only' },
    ]);
  });

  it('reports non-objects', () => {
    const set = parseManifests([{ name: 'x.yaml', text: 'just a string\n---\nfoo: bar\n' }]);
    expect(set.objectsRead).toBe(0);
    expect(set.notes.map((n) => n.where)).toEqual(['x.yaml:1', 'x.yaml:3']);
  });

  it('skips a broken YAML document but keeps the others', () => {
    const text = `${svc('good')}---
apiVersion: v1
kind: Service
metadata: {name: bad
spec: [
---
${svc('also-good')}`;
    const set = parseManifests([{ name: 'b.yaml', text }]);
    expect(names(set.services)).toEqual(['default/good', 'default/also-good']);
    expect(set.notes).toHaveLength(1);
    expect(set.notes[0]?.where).toMatch(/^b\.yaml:\d+$/);
    expect(set.notes[0]?.message).toMatch(/^not valid YAML; document skipped: /);
    expect(set.notes[0]?.message).not.toContain('\n');
  });

  it('reports an unparseable JSON file', () => {
    const set = parseManifests([{ name: 'bad.json', text: '{"apiVersion": "v1",' }]);
    expect(set.objectsRead).toBe(0);
    expect(set.notes).toEqual([{ where: 'bad.json', message: expect.stringMatching(/^not valid JSON: /) }]);
  });

  it('defaults the namespace of namespaced kinds and keeps the later of two duplicates', () => {
    const text = `apiVersion: v1
kind: Service
metadata: {name: a}
spec: {clusterIP: 10.96.0.1}
---
apiVersion: v1
kind: Service
metadata: {name: a, namespace: default}
spec: {clusterIP: 10.96.0.2}
`;
    const set = parseManifests([{ name: 'd.yaml', text }]);
    expect(set.services).toHaveLength(1);
    expect(set.services[0]?.spec?.clusterIP).toBe('10.96.0.2');
    expect(set.objectsRead).toBe(2);
    expect(set.notes).toEqual([{ where: 'd.yaml:6', message: 'Service default/a given again; the later one is used' }]);
  });

  it('handles empty input', () => {
    expect(parseManifests([{ name: 'e.yaml', text: '' }])).toEqual({ services: [], endpointSlices: [], nodes: [], objectsRead: 0, notes: [] });
  });
});

describe('selectNode', () => {
  const node = (name: string): V1Node => ({ apiVersion: 'v1', kind: 'Node', metadata: { name } });

  it('picks the named node', () => {
    const r = selectNode([node('a'), node('b')], 'b');
    expect(r.node?.metadata?.name).toBe('b');
    expect(r.nodeName).toBe('b');
    expect(r.notes).toEqual([]);
  });

  it('uses the only node when no name is given', () => {
    expect(selectNode([node('a')])).toMatchObject({ nodeName: 'a', notes: [] });
  });

  it('reports a name without a Node and keeps the name', () => {
    const r = selectNode([node('a')], 'z');
    expect(r.node).toBeUndefined();
    expect(r.nodeName).toBe('z');
    expect(r.notes[0]?.message).toContain('no Node named "z" in the input (Nodes given: a)');
  });

  it('reports when neither a name nor a single node is given', () => {
    const r = selectNode([node('a'), node('b')]);
    expect(r.node).toBeUndefined();
    expect(r.nodeName).toBeUndefined();
    expect(r.notes[0]?.message).toContain('2 Node objects were given');
    expect(selectNode([]).notes[0]?.message).toContain('no Node objects were given');
  });
});

describe('readManifestSources', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kpx-manifests-'));
    await writeFile(join(dir, 'b.yaml'), 'b');
    await writeFile(join(dir, 'a.json'), 'a');
    await writeFile(join(dir, 'c.yml'), 'c');
    await writeFile(join(dir, 'README.md'), 'no');
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'sub', 'd.yaml'), 'not read: no recursion');
    await mkdir(join(dir, 'empty'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a directory non-recursively, sorted, manifest extensions only', async () => {
    const r = await readManifestSources([dir]);
    expect(r.sources.map((s) => [s.name.slice(dir.length + 1), s.text])).toEqual([['a.json', 'a'], ['b.yaml', 'b'], ['c.yml', 'c']]);
    expect(r.notes).toEqual([]);
  });

  it('reads files of any name, stdin, and reports what it cannot read', async () => {
    const r = await readManifestSources([join(dir, 'README.md'), '-', join(dir, 'missing.yaml'), join(dir, 'empty')], async () => 'in');
    expect(r.sources.map((s) => s.text)).toEqual(['no', 'in']);
    expect(r.sources[1]?.name).toBe('<stdin>');
    expect(r.notes).toEqual([
      { where: join(dir, 'missing.yaml'), message: 'cannot read: no such file or directory' },
      { where: join(dir, 'empty'), message: 'directory has no *.yaml, *.yml or *.json files' },
    ]);
  });
});
