/**
 * What kpx wants in one family's table, aggregated from every Service's pieces, with
 * the names that changed since the last sync (the differ looks only at those).
 *
 * An element key can come from several Services (a `hairpin` pair of an endpoint two
 * Services share; a `cluster-ips` address in odd manifests): the renderer keeps the
 * first in port-key order, so each key keeps its contributors sorted by Service order
 * and the first one's text wins. The skeleton (option-given elements) sorts first.
 */
import type { NftFamily } from '../../render/nftables/types.js';
import {
  EMPTY_PIECES, lbPieces, type ChainPiece, type DeclPiece, type ServicePieces, type Skeleton,
} from './pieces.js';

interface Owner<T> { readonly order: string; readonly value: T }

/** An element's contributors as a sorted linked list (almost always one: no array per element). */
interface ElementOwner { readonly order: string; readonly value: string; next: ElementOwner | undefined }

/** Adds or replaces `order`'s text; returns the new head. */
function ownElement(head: ElementOwner | undefined, order: string, value: string): ElementOwner {
  if (head === undefined || order < head.order) return { order, value, next: head };
  if (head.order === order) return { order, value, next: head.next };
  head.next = ownElement(head.next, order, value);
  return head;
}

function disownElement(head: ElementOwner | undefined, order: string): ElementOwner | undefined {
  if (head === undefined) return undefined;
  if (head.order === order) return head.next;
  head.next = disownElement(head.next, order);
  return head;
}

/** Inserts (or replaces) `order`'s value, keeping owners sorted by order. */
function own<T>(list: Owner<T>[], order: string, value: T): void {
  let i = 0;
  while (i < list.length && list[i]!.order < order) i++;
  if (list[i]?.order === order) list[i] = { order, value };
  else list.splice(i, 0, { order, value });
}

function disown<T>(list: Owner<T>[] | undefined, order: string): void {
  const i = list?.findIndex((o) => o.order === order) ?? -1;
  if (i >= 0) list!.splice(i, 1);
}

const SKELETON_ORDER = '';

export class DesiredTable {
  private readonly elements = new Map<string, Map<string, ElementOwner>>();
  private readonly lbRefs = new Map<string, number>();
  private readonly chainOwners = new Map<string, Owner<ChainPiece>[]>();
  private readonly declOwners = new Map<string, Owner<DeclPiece>[]>();
  private readonly services = new Map<string, ServicePieces>();
  /** Service ports in this family (the ip6 table exists only with some, or a node IPv6). */
  ports = 0;

  /** Element keys, chains and declarations touched since clearDirty(). */
  dirtyElements = new Map<string, Set<string>>();
  dirtyChains = new Set<string>();
  dirtyDecls = new Set<string>();

  constructor(readonly family: NftFamily, readonly skeleton: Skeleton) {
    for (const [container, id, text] of skeleton.elements) this.addElement(container, id, SKELETON_ORDER, text);
    this.clearDirty();
  }

  private addElement(container: string, id: string, order: string, text: string): void {
    let m = this.elements.get(container);
    if (!m) this.elements.set(container, (m = new Map()));
    m.set(id, ownElement(m.get(id), order, text));
    this.touch(container, id);
  }

  /** Off while a table is built from scratch (the differ then compares everything anyway). */
  tracking = true;

  private touch(container: string, id: string): void {
    if (!this.tracking) return;
    let d = this.dirtyElements.get(container);
    if (!d) this.dirtyElements.set(container, (d = new Set()));
    d.add(id);
  }

  /** Replaces one Service's pieces (`order`: its sort key, `namespace/name:`). */
  setService(order: string, pieces: ServicePieces): void {
    const old = this.services.get(order) ?? EMPTY_PIECES;
    if (old === EMPTY_PIECES && pieces === EMPTY_PIECES) return;
    this.ports += pieces.ports - old.ports;
    const oe = old.elements;
    for (let i = 0; i < oe.length; i += 3) {
      const container = oe[i]!;
      const id = oe[i + 1]!;
      const m = this.elements.get(container);
      const rest = disownElement(m?.get(id), order);
      if (rest) m!.set(id, rest);
      else m?.delete(id);
      this.touch(container, id);
    }
    const ne = pieces.elements;
    for (let i = 0; i < ne.length; i += 3) this.addElement(ne[i]!, ne[i + 1]!, order, ne[i + 2]!);
    for (const lb of old.lb) {
      const n = (this.lbRefs.get(lb) ?? 0) - 1;
      if (n <= 0) { this.lbRefs.delete(lb); if (this.tracking) { this.dirtyChains.add(lb); this.dirtyDecls.add(lbPieces(lb, this.family).map); } }
      else this.lbRefs.set(lb, n);
    }
    for (const lb of pieces.lb) {
      const n = (this.lbRefs.get(lb) ?? 0) + 1;
      this.lbRefs.set(lb, n);
      if (n === 1 && this.tracking) { this.dirtyChains.add(lb); this.dirtyDecls.add(lbPieces(lb, this.family).map); }
    }
    const swap = <T>(owners: Map<string, Owner<T>[]>, before: ReadonlyMap<string, T>, after: ReadonlyMap<string, T>, dirty: Set<string>): void => {
      for (const name of before.keys()) {
        const list = owners.get(name);
        disown(list, order);
        if (list?.length === 0) owners.delete(name);
        dirty.add(name);
      }
      for (const [name, value] of after) {
        let list = owners.get(name);
        if (!list) owners.set(name, (list = []));
        own(list, order, value);
        dirty.add(name);
      }
    };
    swap(this.chainOwners, old.chains, pieces.chains, this.dirtyChains);
    swap(this.declOwners, old.decls, pieces.decls, this.dirtyDecls);
    if (pieces === EMPTY_PIECES) this.services.delete(order);
    else this.services.set(order, pieces);
  }

  /** The element's text as the renderer would print it; undefined when no one wants it. */
  element(container: string, id: string): string | undefined {
    return this.elements.get(container)?.get(id)?.value;
  }

  /** Every container and element key. */
  *allElements(): Generator<[string, string, string]> {
    for (const [container, m] of this.elements) for (const [id, owner] of m) yield [container, id, owner.value];
  }

  chain(name: string): ChainPiece | undefined {
    const fixed = this.skeleton.chains.get(name);
    if (fixed) return fixed;
    if (this.lbRefs.has(name)) return lbPieces(name, this.family).chain;
    return this.chainOwners.get(name)?.[0]?.value;
  }

  decl(name: string): DeclPiece | undefined {
    const fixed = this.skeleton.decls.get(name);
    if (fixed) return fixed;
    const lb = /^(eps|epsc|np-eps|np-epsc)-(\d+)$/.exec(name);
    if (lb) {
      const chain = `${{ eps: 'lb', epsc: 'lbc', 'np-eps': 'np-lb', 'np-epsc': 'np-lbc' }[lb[1]!]}-${lb[2]}`;
      return this.lbRefs.has(chain) ? lbPieces(chain, this.family).decl : undefined;
    }
    return this.declOwners.get(name)?.[0]?.value;
  }

  /** Every chain name wanted (skeleton first, as the renderer orders them). */
  chainNames(): string[] {
    return [...this.skeleton.chains.keys(), ...this.lbRefs.keys(), ...this.chainOwners.keys()];
  }

  declNames(): string[] {
    return [...this.skeleton.decls.keys(), ...[...this.lbRefs.keys()].map((lb) => lbPieces(lb, this.family).map), ...this.declOwners.keys()];
  }

  clearDirty(): void {
    this.dirtyElements = new Map();
    this.dirtyChains = new Set();
    this.dirtyDecls = new Set();
  }
}
