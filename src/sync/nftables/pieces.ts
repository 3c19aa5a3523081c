/**
 * The nftables ruleset as keyed pieces, per Service: set/map elements keyed by their key
 * text, chains by name with their rules, set/map declarations by name. Built with the
 * renderer's own collector and printers (src/render/nftables), so a piece prints exactly
 * as the full renderer prints it; the differ compares pieces as text.
 */
import type { FamilyState, ServicePort } from '../../model/types.js';
import { lbChain } from '../../render/nftables/chains.js';
import { intervalElements } from '../../render/nftables/cidr.js';
import { formatChain, formatMap, formatMapElement, formatSet, formatSetElement } from '../../render/nftables/format.js';
import { Collector, collectServicePort } from '../../render/nftables/frontends.js';
import { lbChainName, lbMapName, type LbKind } from '../../render/nftables/names.js';
import { LB_KINDS, lbMap, renderFamily } from '../../render/nftables/render.js';
import type { NftChain, NftFamily, NftMap, NftSet } from '../../render/nftables/types.js';

/** A chain: its hook line (base chains) and its rules, as nft prints them. */
export interface ChainPiece {
  readonly hook?: string;
  readonly rules: readonly string[];
  /** hook and rules in one string, for comparison. */
  readonly text: string;
}

/** A set or map declaration: `set`/`map` and its body `{ type …; flags …; }`. */
export interface DeclPiece {
  readonly kind: 'set' | 'map';
  /** `{ type ipv4_addr; flags interval; }` */
  readonly body: string;
}

/** [container (set/map name), element key text, element text]. */
export type ElementPiece = readonly [string, string, string];

/**
 * A Service's elements as one flat array of triples `container, key, text, …` (one
 * array instead of one per element: at 10k Services that is 200k+ small arrays less).
 */
export type ElementList = readonly string[];

/** What one Service (all its ports of one family) puts into its family's table. */
export interface ServicePieces {
  readonly ports: number;
  readonly elements: ElementList;
  /** lb chains (`lb-3`, `np-lbc-2`) whose chain and map this Service uses. */
  readonly lb: readonly string[];
  readonly chains: ReadonlyMap<string, ChainPiece>;
  readonly decls: ReadonlyMap<string, DeclPiece>;
}

const NONE: ReadonlyMap<string, never> = new Map<string, never>();

export const EMPTY_PIECES: ServicePieces = { ports: 0, elements: [], lb: [], chains: NONE, decls: NONE };

export function chainPiece(c: NftChain, family: NftFamily): ChainPiece {
  const lines = formatChain(c, family, '').slice(1, -1).map((l) => l.trim());
  const hook = c.hook !== undefined ? lines[0] : undefined;
  const rules = c.hook !== undefined ? lines.slice(1) : lines;
  return { ...(hook !== undefined ? { hook } : {}), rules, text: [hook ?? '', ...rules].join('\n') };
}

export function declPiece(s: NftSet | NftMap): DeclPiece {
  const isMap = 'value' in s;
  const lines = (isMap ? formatMap({ ...s, elements: [] }, '') : formatSet({ ...s, elements: [] }, '')).slice(1, -1).map((l) => l.trim());
  return { kind: isMap ? 'map' : 'set', body: `{ ${lines.join('; ')}; }` };
}

export const declText = (d: DeclPiece): string => `${d.kind} ${d.body}`;

/**
 * A flat copy of a string built by concatenation. V8 keeps `a + b` as a rope (cons
 * string) of its parts; measured on 230k element texts like kpx's: 64 MB as ropes, 23 MB
 * flat. A UTF-8 round trip is the cheapest way found to get a flat copy.
 */
export function flat(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}

const addrType = (family: NftFamily): string => (family === 'ip' ? 'ipv4_addr' : 'ipv6_addr');

/** One Service's pieces in one family (its ports after conflict resolution). */
export function servicePieces(ports: readonly ServicePort[], family: NftFamily): ServicePieces {
  if (ports.length === 0) return EMPTY_PIECES;
  const c = new Collector(addrType(family));
  for (const sp of ports) collectServicePort(c, sp, intervalElements);
  const elements: string[] = [];
  for (const [name, m] of c.maps) for (const [id, e] of m) elements.push(name, id, flat(formatMapElement(e)));
  for (const [name, s] of c.sets) for (const [id, e] of s) elements.push(name, id, flat(formatSetElement(e)));
  const lb = LB_KINDS.flatMap((kind) => [...c.lbCounts[kind]].map((n) => lbChainName(kind, n)));
  const chains: ReadonlyMap<string, ChainPiece> = c.affinityChains.size === 0 ? NONE : new Map([...c.affinityChains].map(([n, ch]) => [n, chainPiece(ch, family)]));
  const decls: ReadonlyMap<string, DeclPiece> = c.affinitySets.size === 0 ? NONE : new Map([...c.affinitySets].map(([n, s]) => [n, declPiece(s)]));
  return { ports: ports.length, elements, lb, chains, decls };
}

/** The lb chain `lb-N` and its map `eps-N`, from the chain's name. */
export function lbPieces(chain: string, family: NftFamily): { chain: ChainPiece; map: string; decl: DeclPiece } {
  const m = /^(lb|lbc|np-lb|np-lbc)-(\d+)$/.exec(chain);
  if (!m) throw new Error(`not an lb chain: ${chain}`);
  const kind = m[1] as LbKind;
  const count = Number(m[2]);
  return { chain: chainPiece(lbChain(kind, count), family), map: lbMapName(kind, count), decl: declPiece(lbMap(family, kind, count)) };
}

/** What a family's table holds with no Service at all: fixed sets, maps, chains and the option-given elements. */
export interface Skeleton {
  readonly decls: ReadonlyMap<string, DeclPiece>;
  readonly chains: ReadonlyMap<string, ChainPiece>;
  readonly elements: readonly ElementPiece[];
}

export function skeleton(fs: FamilyState): Skeleton {
  const t = renderFamily({ ...fs, services: [] });
  const decls = new Map<string, DeclPiece>();
  const elements: ElementPiece[] = [];
  for (const s of t.sets) {
    decls.set(s.name, declPiece(s));
    for (const e of s.elements) elements.push([s.name, e.key.join(' . '), formatSetElement(e)]);
  }
  for (const m of t.maps) {
    decls.set(m.name, declPiece(m));
    for (const e of m.elements) elements.push([m.name, e.key.join(' . '), formatMapElement(e)]);
  }
  return { decls, chains: new Map(t.chains.map((c) => [c.name, chainPiece(c, t.family)])), elements };
}
