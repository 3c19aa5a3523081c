/**
 * FakeNftKernel: a FAKE of the nftables kernel for unit tests, named as such. It parses
 * the subset of nft script kpx emits (nft-parse.ts) and applies each script to a copy,
 * all or nothing, refusing what the kernel refuses (checked against nft 1.0.6, kernel
 * 6.x): deleting a missing element, chain, set or table; adding a map element whose key
 * exists with another value (an identical one is accepted, and an existing set element
 * keeps its old comment); `create` of anything that exists; a rule or map value that
 * jumps to a missing chain or names a missing set; deleting a chain that is referenced
 * (its own rules may remain: they go with it), or a set a rule uses. It does not check types or interval overlap.
 * Real-kernel tests (test/sync/nft-kernel.test.ts) keep it honest.
 */
import { NftError, objectAt } from './nft-error.js';
import type { NftKernel } from './nft.js';
import {
  braceBody, chainRefs, parseElement, setRefs, splitElements, splitStatements, type ParsedElement, type Stmt,
} from './nft-parse.js';

interface FakeSet { kind: 'set' | 'map'; head: string; elements: Map<string, ParsedElement> }
interface FakeChain { hook: string | undefined; rules: string[] }
interface FakeTable { sets: Map<string, FakeSet>; chains: Map<string, FakeChain> }
type State = Map<string, FakeTable>;

const clone = (s: State): State => new Map([...s].map(([k, t]) => [k, {
  sets: new Map([...t.sets].map(([n, x]) => [n, { kind: x.kind, head: x.head, elements: new Map(x.elements) }])),
  chains: new Map([...t.chains].map(([n, c]) => [n, { hook: c.hook, rules: [...c.rules] }])),
}]));

const norm = (s: string): string => s.trim().replace(/\s+/g, ' ');

class Tx {
  constructor(readonly state: State, readonly script: string) {}
  /** Sets and maps made by this transaction. */
  readonly freshSets = new Set<FakeSet>();
  /** Statements applied so far: the fake's own operation count. */
  ops = 0;

  fail(at: Stmt, message: string): never {
    const lineText = this.script.split('\n')[at.line - 1] ?? at.text.split('\n')[0];
    const object = objectAt(this.script, at.line);
    const what = object?.name !== undefined ? ` (${object.kind} ${object.name})` : '';
    throw new NftError(`nft: line ${at.line}${what}: ${message}`, at.line, lineText, object, -1, `/dev/stdin:${at.line}:1-1: Error: ${message}\n${lineText}\n`);
  }

  table(at: Stmt, family: string, name: string): FakeTable {
    const t = this.state.get(`${family} ${name}`);
    return t ?? this.fail(at, 'Could not process rule: No such file or directory');
  }

  chain(at: Stmt, t: FakeTable, name: string): FakeChain {
    return t.chains.get(name) ?? this.fail(at, `Could not process rule: No such file or directory (chain ${name})`);
  }

  set(at: Stmt, t: FakeTable, name: string): FakeSet {
    return t.sets.get(name) ?? this.fail(at, `Could not process rule: No such file or directory (set ${name})`);
  }

  checkRefs(at: Stmt, t: FakeTable, text: string): void {
    for (const c of chainRefs(text)) if (!t.chains.has(c)) this.fail(at, `No such file or directory: chain ${c}`);
    for (const s of setRefs(text)) if (!t.sets.has(s)) this.fail(at, `No such file or directory: set ${s}`);
  }

  addChain(at: Stmt, t: FakeTable, name: string, body: string | undefined, create: boolean): void {
    const hook = body === undefined ? undefined : splitStatements(body).map((s) => norm(s.text)).join('; ') || undefined;
    const old = t.chains.get(name);
    if (old) {
      if (create || old.hook !== hook) this.fail(at, 'Could not process rule: File exists');
      return;
    }
    t.chains.set(name, { hook, rules: [] });
  }

  addSet(at: Stmt, t: FakeTable, kind: 'set' | 'map', name: string, body: string, bodyLine: number, create: boolean): void {
    const clauses = splitStatements(body, bodyLine);
    const elements = clauses.filter((c) => c.text.startsWith('elements'));
    const head = clauses.filter((c) => !c.text.startsWith('elements')).map((c) => norm(c.text)).join('; ');
    const old = t.sets.get(name);
    if (old && (create || old.head !== head || old.kind !== kind)) this.fail(at, 'Could not process rule: File exists');
    if (!old) {
      t.sets.set(name, { kind, head, elements: new Map() });
      this.freshSets.add(t.sets.get(name)!);
    }
    for (const e of elements) {
      const b = braceBody(e);
      if (b) this.elements(e, t, name, 'add', b.body, b.bodyLine);
    }
  }

  elements(at: Stmt, t: FakeTable, name: string, verb: string, body: string, bodyLine: number): void {
    const s = this.set(at, t, name);
    for (const item of splitElements(body, bodyLine)) {
      const e = parseElement(item.text);
      const old = s.elements.get(e.key);
      if (verb === 'delete') {
        if (!old) this.fail(item, 'Could not process rule: No such file or directory');
        s.elements.delete(e.key);
        continue;
      }
      if (s.kind === 'map' && e.value === undefined) this.fail(item, 'map element without a value');
      if (e.value !== undefined) this.checkRefs(item, t, e.value);
      if (old) {
        if (verb === 'create' || old.value !== e.value) this.fail(item, 'Could not process rule: File exists');
        continue; // identical key: accepted, nothing changes (not even the comment)
      }
      s.elements.set(e.key, e);
    }
  }

  deleteChain(at: Stmt, t: FakeTable, name: string): void {
    this.chain(at, t, name);
    // A chain's own rules go with it (kernel 6.x accepts that); references from elsewhere do not.
    const used = [...t.chains.entries()].filter(([n]) => n !== name).map(([, o]) => o).some((o) => o.rules.some((r) => chainRefs(r).includes(name))) ||
      [...t.sets.values()].some((s) => [...s.elements.values()].some((e) => e.value !== undefined && chainRefs(e.value).includes(name)));
    if (used) this.fail(at, 'Could not process rule: Device or resource busy');
    t.chains.delete(name);
  }

  deleteSet(at: Stmt, t: FakeTable, name: string): void {
    this.set(at, t, name);
    if ([...t.chains.values()].some((c) => c.rules.some((r) => setRefs(r).includes(name)))) {
      this.fail(at, 'Could not process rule: Device or resource busy');
    }
    t.sets.delete(name);
  }

  /** `table F N { … }`: chains first, then sets and maps with elements, then rules (as nft orders a block). */
  block(at: Stmt, family: string, name: string, body: string, bodyLine: number): void {
    if (!this.state.has(`${family} ${name}`)) this.state.set(`${family} ${name}`, { sets: new Map(), chains: new Map() });
    const t = this.table(at, family, name);
    const inner = splitStatements(body, bodyLine, false);
    const parts = inner.map((s) => ({ s, words: s.text.split(/\s+/), b: braceBody(s) }));
    for (const { s, words, b } of parts) {
      if (words[0] !== 'chain' || !b) continue;
      const clauses = splitStatements(b.body, b.bodyLine);
      const hook = clauses.filter((c) => /^(type|policy)\s/.test(c.text));
      this.addChain(s, t, words[1] ?? '', hook.length > 0 ? hook.map((c) => c.text).join(';') : undefined, false);
    }
    for (const { s, words, b } of parts) {
      if ((words[0] === 'set' || words[0] === 'map') && b) this.addSet(s, t, words[0], words[1] ?? '', b.body, b.bodyLine, false);
      else if (words[0] !== 'chain') this.fail(s, `unsupported in a table block: ${words[0]}`);
    }
    for (const { words, b } of parts) {
      if (words[0] !== 'chain' || !b) continue;
      for (const r of splitStatements(b.body, b.bodyLine).filter((c) => !/^(type|policy)\s/.test(c.text))) {
        this.addRule(r, t, words[1] ?? '', r.text);
      }
    }
  }

  addRule(at: Stmt, t: FakeTable, chain: string, text: string): void {
    const c = this.chain(at, t, chain);
    this.checkRefs(at, t, text);
    // nft 1.0.6 cannot add a rule that uses a `typeof … th dport` map read back from the
    // kernel (one not made by this transaction): checked in nft-kernel.test.ts.
    for (const name of setRefs(text)) {
      const s = t.sets.get(name)!;
      if (s.head.startsWith('typeof') && s.head.includes('th dport') && !this.freshSets.has(s)) {
        const msg = 'conflicting protocols specified: tcp vs. th';
        throw new NftError(`nft: ${msg}`, undefined, undefined, undefined, -1, `internal:0:0-0: Error: ${msg}\n`);
      }
    }
    c.rules.push(norm(text));
  }

  statement(s: Stmt): void {
    this.ops++;
    const words = s.text.split(/\s+/);
    const [verb = '', kind = '', family = '', table = '', name = ''] = words;
    if (verb === 'table') {
      const b = braceBody(s);
      if (!b) this.fail(s, 'syntax error: table without a body');
      return this.block(s, kind, family, b.body, b.bodyLine);
    }
    if (kind === 'table') {
      if (verb === 'add' || verb === 'create') {
        if (this.state.has(`${family} ${table}`)) {
          if (verb === 'create') this.fail(s, 'Could not process rule: File exists');
        } else this.state.set(`${family} ${table}`, { sets: new Map(), chains: new Map() });
        return;
      }
      if (verb === 'delete') {
        this.table(s, family, table);
        this.state.delete(`${family} ${table}`);
        return;
      }
    }
    if (!['chain', 'set', 'map', 'element', 'rule'].includes(kind)) this.fail(s, `syntax error: the fake kernel does not know "${verb} ${kind}"`);
    const t = this.table(s, family, table);
    const b = braceBody(s);
    const key = `${verb} ${kind}`;
    if (key === 'add chain' || key === 'create chain') return this.addChain(s, t, name, b?.body, verb === 'create');
    if (key === 'flush chain') { this.chain(s, t, name).rules = []; return; }
    if (key === 'delete chain') return this.deleteChain(s, t, name);
    if ((verb === 'add' || verb === 'create') && (kind === 'set' || kind === 'map')) {
      if (!b) this.fail(s, 'syntax error: set without a body');
      return this.addSet(s, t, kind, name, b.body, b.bodyLine, verb === 'create');
    }
    if (verb === 'delete' && (kind === 'set' || kind === 'map')) return this.deleteSet(s, t, name);
    if (kind === 'element' && (verb === 'add' || verb === 'create' || verb === 'delete') && b) {
      return this.elements(s, t, name, verb, b.body, b.bodyLine);
    }
    if (key === 'add rule') return this.addRule(s, t, name, words.slice(5).join(' '));
    this.fail(s, `syntax error: the fake kernel does not know "${verb} ${kind}"`);
  }
}

export class FakeNftKernel implements NftKernel {
  private state: State = new Map();
  /** Every script applied successfully, in order. */
  readonly applied: string[] = [];
  /** Calls of apply(), failed ones included. */
  calls = 0;
  /** When set, the next apply() fails with this error before doing anything (then it clears). */
  failNext: NftError | undefined;

  constructor(readonly versionString = '1.0.6') {}

  async version(): Promise<string> {
    return this.versionString;
  }

  async apply(script: string): Promise<void> {
    this.calls++;
    if (this.failNext) {
      const e = this.failNext;
      this.failNext = undefined;
      throw e;
    }
    const tx = new Tx(clone(this.state), script);
    for (const s of splitStatements(script, 1, false)) tx.statement(s);
    this.state = tx.state;
    this.applied.push(script);
  }

  async list(kind: 'set' | 'map' | 'chain' | 'table', family: string, table: string, name?: string): Promise<string> {
    const t = this.state.get(`${family} ${table}`);
    if (!t) throw new NftError(`nft: table ${family} ${table}: No such file or directory`, undefined, undefined, undefined, 1, '');
    if (kind === 'table') return dumpTable(`${family} ${table}`, t);
    const lines = kind === 'chain' ? dumpChain(name ?? '', t.chains.get(name ?? '')) : dumpSet(name ?? '', t.sets.get(name ?? ''));
    if (lines.length === 0) throw new NftError(`nft: ${kind} ${name}: No such file or directory`, undefined, undefined, undefined, 1, '');
    return `${lines.join('\n')}\n`;
  }

  /** Deterministic text of everything: tables, sets (elements sorted), chains (rules in order). */
  dump(): string {
    return [...this.state.keys()].sort().map((k) => dumpTable(k, this.state.get(k)!)).join('');
  }

  /** Forget everything (a host's `nft flush ruleset`). */
  flushRuleset(): void {
    this.state = new Map();
  }
}

function dumpSet(name: string, s: FakeSet | undefined): string[] {
  if (!s) return [];
  const el = [...s.elements.values()].map((e) =>
    `    ${e.key}${e.comment !== undefined ? ` comment "${e.comment}"` : ''}${e.value !== undefined ? ` : ${e.value}` : ''}`);
  return [`  ${s.kind} ${name} { ${s.head} }`, ...el.sort()];
}

function dumpChain(name: string, c: FakeChain | undefined): string[] {
  if (!c) return [];
  return [`  chain ${name}${c.hook !== undefined ? ` { ${c.hook} }` : ''}`, ...c.rules.map((r) => `    ${r}`)];
}

function dumpTable(key: string, t: FakeTable): string {
  const sets = [...t.sets.keys()].sort().flatMap((n) => dumpSet(n, t.sets.get(n)));
  const chains = [...t.chains.keys()].sort().flatMap((n) => dumpChain(n, t.chains.get(n)));
  return `table ${key}\n${[...sets, ...chains].join('\n')}\n`;
}
