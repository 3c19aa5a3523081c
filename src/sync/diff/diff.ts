/**
 * Pure comparison of the desired and the current Snapshot: what a sync would add,
 * change or remove, grouped by Service (node-wide items under `(node)`, last).
 */
import { NODE_GROUP, type Chain, type Container, type Snapshot } from './snapshot.js';

export type ChangeOp = 'add' | 'remove' | 'change';

export interface Change {
  readonly op: ChangeOp;
  /** `element`, `rule`, `chain`, `set`, `map`, `ipset`, `entry`, `virtual server`, `real server`, `address` … */
  readonly kind: string;
  /** The container or chain it is in, or the object itself for whole-object changes. */
  readonly where: string;
  /** The element key, the rule text; empty for whole-object changes. */
  readonly item: string;
  /** For `change`: what the kernel has now and what a sync would write. */
  readonly from?: string;
  readonly to?: string;
}

export interface Group {
  /** `namespace/name`, or `(node)`. */
  readonly name: string;
  readonly changes: readonly Change[];
}

export interface DiffResult {
  readonly groups: readonly Group[];
  readonly total: number;
}

function fmtEntry(key: string, value: string | undefined): string {
  return value === undefined ? key : `${key} : ${value}`;
}

function containerChanges(where: string, want: Container | undefined, have: Container | undefined, add: (g: string | undefined, c: Change) => void): void {
  const kind = (want ?? have)!.kind;
  const entryKind = (want ?? have)!.entryKind;
  if (have === undefined) add(want!.service, { op: 'add', kind, where, item: '' });
  else if (want === undefined) add(have.service, { op: 'remove', kind, where, item: '' });
  else if (want.definition !== have.definition) add(want.service, { op: 'change', kind, where, item: '', from: have.definition, to: want.definition });
  const wantEntries = want?.entries ?? new Map();
  const haveEntries = have?.entries ?? new Map();
  for (const [key, w] of wantEntries) {
    const h = haveEntries.get(key);
    if (h === undefined) add(w.service, { op: 'add', kind: entryKind, where, item: fmtEntry(key, w.value) });
    else if (h.value !== w.value) add(w.service ?? h.service, { op: 'change', kind: entryKind, where, item: key, ...(h.value !== undefined ? { from: h.value } : {}), ...(w.value !== undefined ? { to: w.value } : {}) });
  }
  for (const [key, h] of haveEntries) {
    if (!wantEntries.has(key)) add(h.service, { op: 'remove', kind: entryKind, where, item: fmtEntry(key, h.value) });
  }
}

/** Rules as multisets; when both hold the same rules in another order, one `change` of the chain's order. */
function chainChanges(where: string, want: Chain | undefined, have: Chain | undefined, add: (g: string | undefined, c: Change) => void): void {
  const service = want?.service ?? have?.service;
  if (want?.builtin === true || have?.builtin === true) { /* the chain is the kernel's: rules only */ }
  else if (have === undefined) add(service, { op: 'add', kind: 'chain', where, item: '' });
  else if (want === undefined) add(service, { op: 'remove', kind: 'chain', where, item: '' });
  else if (want.definition !== have.definition) add(service, { op: 'change', kind: 'chain', where, item: '', from: have.definition, to: want.definition });
  const wantRules = (want?.rules ?? []).map((r) => r.text);
  const haveRules = (have?.rules ?? []).map((r) => r.text);
  const serviceOf = new Map<string, string | undefined>();
  for (const r of [...(have?.rules ?? []), ...(want?.rules ?? [])]) serviceOf.set(r.text, r.service ?? service);
  const left = new Map<string, number>();
  for (const r of haveRules) left.set(r, (left.get(r) ?? 0) + 1);
  let edited = false;
  for (const r of wantRules) {
    const n = left.get(r) ?? 0;
    if (n > 0) left.set(r, n - 1);
    else { add(serviceOf.get(r), { op: 'add', kind: 'rule', where, item: r }); edited = true; }
  }
  for (const [r, n] of left) {
    for (let i = 0; i < n; i++) { add(serviceOf.get(r), { op: 'remove', kind: 'rule', where, item: r }); edited = true; }
  }
  if (!edited && want !== undefined && have !== undefined && wantRules.join('\n') !== haveRules.join('\n')) {
    add(service, { op: 'change', kind: 'rule order', where, item: '', from: haveRules.join(' | '), to: wantRules.join(' | ') });
  }
}

/** Everything that differs; groups sorted by Service, `(node)` last; changes in a stable order. */
export function diffSnapshots(desired: Snapshot, current: Snapshot): DiffResult {
  const byGroup = new Map<string, Change[]>();
  const add = (group: string | undefined, c: Change): void => {
    const g = group ?? NODE_GROUP;
    let list = byGroup.get(g);
    if (list === undefined) byGroup.set(g, list = []);
    list.push(c);
  };
  const containerKeys = [...new Set([...desired.containers.keys(), ...current.containers.keys()])].sort();
  for (const k of containerKeys) containerChanges(k, desired.containers.get(k), current.containers.get(k), add);
  const chainKeys = [...new Set([...desired.chains.keys(), ...current.chains.keys()])].sort();
  for (const k of chainKeys) chainChanges(k, desired.chains.get(k), current.chains.get(k), add);
  const names = [...byGroup.keys()].filter((g) => g !== NODE_GROUP).sort();
  if (byGroup.has(NODE_GROUP)) names.push(NODE_GROUP);
  const groups = names.map((name) => ({ name, changes: byGroup.get(name)! }));
  return { groups, total: groups.reduce((n, g) => n + g.changes.length, 0) };
}
