/**
 * Manifests for `kpx render -f`: YAML/JSON files as `kubectl get -o yaml|json` prints
 * them, sorted into the model's snapshot.
 *
 * Parsing (`parseManifests`, `selectNode`) is pure; `readManifestSources`
 * (manifest-files.ts) is the only part that touches the file system.
 *
 * - A file may hold several YAML documents (`---`) or JSON; see documents.ts for how
 *   each is parsed (JSON.parse where the text is JSON, one document at a time).
 * - `kind: List` and typed lists (`ServiceList`, `EndpointSliceList`, ...) are
 *   flattened, nested lists too (at most MAX_LIST_DEPTH deep, each object visited once:
 *   no input makes the walk recurse without bound or loop); items of a typed list
 *   without apiVersion/kind (as the raw API returns them) take them from the list. A
 *   top-level JSON/YAML array is a list.
 * - Service (v1), EndpointSlice (discovery.k8s.io/v1) and Node (v1) are kept; other
 *   kinds are counted and reported once per apiVersion/kind, then ignored.
 * - A namespaced object without metadata.namespace gets `default`, as kubectl does.
 * - The same object (kind + namespace/name) twice: the later one wins, with a note.
 * - A document that does not parse is reported and skipped; the rest of the file is kept.
 */
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { parseDocuments } from './documents.js';
import { quote } from './quote.js';

export { MANIFEST_EXTENSIONS, readManifestSources } from './manifest-files.js';

/** One input text and the name it is reported under (a path, or `<stdin>`). */
export interface ManifestSource {
  readonly name: string;
  readonly text: string;
}

/** Something worth telling the user on stderr; never fatal by itself. */
export interface ManifestNote {
  /** Where: `file`, `file:line` or `file:line: Kind ns/name`. */
  readonly where: string;
  readonly message: string;
}

export interface ManifestSet {
  readonly services: readonly V1Service[];
  readonly endpointSlices: readonly V1EndpointSlice[];
  readonly nodes: readonly V1Node[];
  /** Service, EndpointSlice and Node objects read (before de-duplication). */
  readonly objectsRead: number;
  readonly notes: readonly ManifestNote[];
}

type Known = 'Service' | 'EndpointSlice' | 'Node';

/** apiVersion + kind of the objects kpx reads. */
const KNOWN: Readonly<Record<Known, { readonly apiVersion: string; readonly namespaced: boolean }>> = {
  Service: { apiVersion: 'v1', namespaced: true },
  EndpointSlice: { apiVersion: 'discovery.k8s.io/v1', namespaced: true },
  Node: { apiVersion: 'v1', namespaced: false },
};

/** Lists nested deeper than this are not followed (guards against odd input). */
const MAX_LIST_DEPTH = 8;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses every source and sorts the objects by kind; never throws. */
export function parseManifests(sources: readonly ManifestSource[]): ManifestSet {
  const notes: ManifestNote[] = [];
  const kept: Record<Known, Map<string, Json>> = { Service: new Map(), EndpointSlice: new Map(), Node: new Map() };
  const ignored = new Map<string, { count: number; first: string; reason: string }>();
  let objectsRead = 0;

  // YAML aliases share objects: each is walked once, so no alias bomb multiplies the work.
  const visited = new WeakSet<object>();
  const take = (obj: unknown, where: string, depth: number): void => {
    if (obj === null || obj === undefined) return; // empty document
    if (typeof obj === 'object') {
      if (visited.has(obj)) return;
      visited.add(obj);
    }
    if (Array.isArray(obj)) {
      if (depth >= MAX_LIST_DEPTH) {
        notes.push({ where, message: 'list nested too deeply; ignored' });
        return;
      }
      obj.forEach((item, i) => take(item, `${where}[${i}]`, depth + 1));
      return;
    }
    if (!isObject(obj)) {
      notes.push({ where, message: 'not a Kubernetes object (expected a mapping with apiVersion and kind)' });
      return;
    }
    const apiVersion = obj['apiVersion'];
    const kind = obj['kind'];
    if (typeof kind !== 'string' || typeof apiVersion !== 'string') {
      notes.push({ where, message: 'not a Kubernetes object (no apiVersion or kind)' });
      return;
    }
    if (kind === 'List' || (kind.endsWith('List') && Array.isArray(obj['items']))) {
      if (depth >= MAX_LIST_DEPTH) {
        notes.push({ where, message: `${kind} nested too deeply; ignored` });
        return;
      }
      const items = obj['items'];
      if (!Array.isArray(items)) {
        notes.push({ where, message: `${kind} without an items array` });
        return;
      }
      const itemKind = kind === 'List' ? undefined : kind.slice(0, -'List'.length);
      items.forEach((item, i) => {
        const at = `${where} items[${i}]`;
        // Typed lists from the raw API leave apiVersion/kind out of their items.
        if (itemKind !== undefined && isObject(item) && item['kind'] === undefined) {
          take({ apiVersion, kind: itemKind, ...item }, at, depth + 1);
        } else {
          take(item, at, depth + 1);
        }
      });
      return;
    }
    const known = KNOWN[kind as Known] as (typeof KNOWN)[Known] | undefined;
    if (known === undefined || known.apiVersion !== apiVersion) {
      const key = `${apiVersion} ${kind}`;
      const reason = known === undefined
        ? 'kpx reads only Service, EndpointSlice and Node'
        : `kpx reads ${kind} ${known.apiVersion} only`;
      const seen = ignored.get(key);
      if (seen === undefined) ignored.set(key, { count: 1, first: where, reason });
      else seen.count++;
      return;
    }
    objectsRead++;
    const meta = isObject(obj['metadata']) ? obj['metadata'] : {};
    const name = typeof meta['name'] === 'string' ? meta['name'] : '';
    let namespace = typeof meta['namespace'] === 'string' ? meta['namespace'] : '';
    let object = obj;
    if (known.namespaced && namespace === '') {
      namespace = 'default';
      object = { ...obj, metadata: { ...meta, namespace } };
    }
    const id = known.namespaced ? `${namespace}/${name}` : name;
    const map = kept[kind as Known];
    if (name !== '' && map.has(id)) {
      notes.push({ where, message: `${kind} ${id} given again; the later one is used` });
      map.delete(id); // re-insert so the order follows the later occurrence
    }
    // Nameless objects are kept (the model reports them) under a unique key.
    map.set(name === '' ? `\0${objectsRead}` : id, object);
  };

  for (const source of sources) {
    for (const doc of parseDocuments(source.name, source.text, notes)) take(doc.value, doc.where, 0);
  }
  for (const [key, { count, first, reason }] of ignored) {
    const times = count === 1 ? '1 object' : `${count} objects`;
    notes.push({ where: first, message: `ignored ${times} of kind ${key}: ${reason}` });
  }
  // The model trusts none of the fields (it validates each), so the casts only name
  // what the objects claim to be.
  return {
    services: [...kept.Service.values()] as unknown as V1Service[],
    endpointSlices: [...kept.EndpointSlice.values()] as unknown as V1EndpointSlice[],
    nodes: [...kept.Node.values()] as unknown as V1Node[],
    objectsRead,
    notes,
  };
}

export interface NodeChoice {
  readonly node?: V1Node;
  /** The node name to render for; undefined when neither a flag nor a single Node gave one. */
  readonly nodeName?: string;
  readonly notes: readonly ManifestNote[];
}

/**
 * Picks this node's Node object: the one named `nodeName`, or, without a name, the
 * only Node given. No match is reported; rendering goes on without node IPs.
 */
export function selectNode(nodes: readonly V1Node[], nodeName?: string): NodeChoice {
  if (nodeName !== undefined) {
    const node = nodes.find((n) => n.metadata?.name === nodeName);
    if (node !== undefined) return { node, nodeName, notes: [] };
    const names = nodes.map((n) => n.metadata?.name ?? '').filter((n) => n !== '');
    const given = names.length === 0 ? 'no Node objects were given' : `Nodes given: ${names.join(', ')}`;
    return {
      nodeName,
      notes: [{ where: '--node-name', message: `no Node named ${quote(nodeName)} in the input (${given})` }],
    };
  }
  const only = nodes.length === 1 ? nodes[0] : undefined;
  const onlyName = only?.metadata?.name;
  if (only !== undefined && onlyName !== undefined && onlyName !== '') {
    return { node: only, nodeName: onlyName, notes: [] };
  }
  const why = nodes.length === 0 ? 'no Node objects were given' : `${nodes.length} Node objects were given`;
  return { notes: [{ where: '--node-name', message: `not given and ${why}` }] };
}

