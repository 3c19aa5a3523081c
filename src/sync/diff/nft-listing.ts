/**
 * `nft list table …` text (the kernel's listing, or the desired tables loaded into a
 * scratch namespace and listed back, so both sides are in nft's own canonical form) →
 * Snapshot. Elements with a `comment "ns/name:port"` belong to that Service; a chain
 * belongs to a Service when every map element that jumps to it does (kpx's per-Service
 * chains: affinity); rules follow their chain. Everything else is node-wide.
 */
import { braceBody, chainRefs, parseElement, splitElements, splitStatements } from '../kernel/nft-parse.js';
import { serviceOfComment, type Chain, type Container, type Entry, type Snapshot } from './snapshot.js';

interface RawContainer { kind: 'set' | 'map'; name: string; definition: string[]; entries: Map<string, Entry & { refs: string[] }> }

/** Parses every `table FAMILY NAME { … }` block of the listing. */
export function parseNftListing(text: string): Snapshot {
  const containers = new Map<string, Container>();
  const chains = new Map<string, Chain>();
  for (const stmt of splitStatements(text, 1, false)) {
    const table = braceBody(stmt);
    const head = table?.head.split(/\s+/) ?? [];
    if (table === undefined || head[0] !== 'table' || head.length !== 3) continue;
    const prefix = `${head[1]} ${head[2]}`;
    const raws: RawContainer[] = [];
    const rawChains: { name: string; definition: string[]; rules: string[] }[] = [];
    for (const obj of splitStatements(table.body, table.bodyLine, false)) {
      const block = braceBody(obj);
      const words = block?.head.split(/\s+/) ?? [];
      if (block === undefined || words.length !== 2) continue;
      const [kind, name] = words as [string, string];
      if (kind === 'set' || kind === 'map') {
        const raw: RawContainer = { kind, name, definition: [], entries: new Map() };
        for (const s of splitStatements(block.body, block.bodyLine, false)) {
          const t = s.text.trim();
          if (t.startsWith('elements')) {
            const inner = braceBody(s);
            for (const e of inner ? splitElements(inner.body, inner.bodyLine) : []) {
              if (e.text.trim() === '') continue;
              const p = parseElement(e.text);
              const service = serviceOfComment(p.comment);
              raw.entries.set(p.key, { ...(p.value !== undefined ? { value: p.value } : {}), ...(service !== undefined ? { service } : {}), refs: p.value !== undefined ? chainRefs(p.value) : [] });
            }
          } else if (t !== '') raw.definition.push(t.replace(/\s+/g, ' '));
        }
        raws.push(raw);
      } else if (kind === 'chain') {
        const lines = splitStatements(block.body, block.bodyLine, false).map((s) => s.text.trim().replace(/\s+/g, ' ')).filter((l) => l !== '');
        const definition = lines.filter((l) => /^(type|policy) /.test(l));
        rawChains.push({ name, definition, rules: lines.filter((l) => !/^(type|policy) /.test(l)) });
      }
    }
    // A chain is a Service's when every element that jumps to it is that Service's.
    const owners = new Map<string, Set<string | undefined>>();
    for (const raw of raws) {
      for (const e of raw.entries.values()) {
        for (const ref of e.refs) {
          let s = owners.get(ref);
          if (s === undefined) owners.set(ref, s = new Set());
          s.add(e.service);
        }
      }
    }
    const chainService = (name: string): string | undefined => {
      const s = owners.get(name);
      return s !== undefined && s.size === 1 ? [...s][0] : undefined;
    };
    for (const raw of raws) {
      const entries = new Map<string, Entry>();
      for (const [k, { refs: _refs, ...e }] of raw.entries) entries.set(k, e);
      containers.set(`${prefix} ${raw.kind} ${raw.name}`, { kind: raw.kind, definition: raw.definition.join('; '), entries, entryKind: 'element' });
    }
    for (const c of rawChains) {
      const service = chainService(c.name);
      chains.set(`${prefix} chain ${c.name}`, { definition: c.definition.join('; '), rules: c.rules.map((text) => ({ text })), ...(service !== undefined ? { service } : {}) });
    }
  }
  return { containers, chains };
}
