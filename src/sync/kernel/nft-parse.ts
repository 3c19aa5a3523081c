/**
 * A parser for the subset of nft's script language that kpx emits (and that `nft list`
 * prints back): flat commands (`add|create|delete|flush table|chain|set|map|element|rule`)
 * and `table F N { set … map … chain … }` blocks. Used by the fake kernel only.
 */

/** A piece of script text and the 1-based line it starts on. */
export interface Stmt { readonly text: string; readonly line: number }

/** How one splitter cuts text: where, whether braces nest, which pieces it keeps, how it cleans them. */
interface SplitRule {
  readonly at: (ch: string) => boolean;
  readonly braces: boolean;
  readonly keep: (t: string) => boolean;
  readonly clean: (t: string) => string;
}

/** Cuts text at separators outside quotes (and braces, when they nest); each piece keeps its 1-based line. */
function splitOutside(text: string, firstLine: number, rule: SplitRule): Stmt[] {
  const out: Stmt[] = [];
  let depth = 0;
  let quoted = false;
  let line = firstLine;
  let start = 0;
  let startLine = firstLine;
  const push = (end: number): void => {
    const raw = text.slice(start, end);
    const lead = raw.length - raw.trimStart().length;
    const t = raw.trim();
    if (t !== '' && rule.keep(t)) out.push({ text: rule.clean(t), line: startLine + (raw.slice(0, lead).split('\n').length - 1) });
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '"') quoted = !quoted;
    else if (rule.braces && !quoted && ch === '{') depth++;
    else if (rule.braces && !quoted && ch === '}') depth--;
    if (!quoted && depth === 0 && rule.at(ch)) {
      push(i);
      start = i + 1;
      startLine = ch === '\n' ? line + 1 : line;
    }
    if (ch === '\n') line++;
  }
  push(text.length);
  return out;
}

/**
 * Splits text into statements at newlines and `;` outside braces and quotes; a
 * statement keeps its inner braces (a block or an element list spans lines). Comments go.
 */
export function splitStatements(text: string, firstLine = 1, splitOnSemicolon = true): Stmt[] {
  return splitOutside(text, firstLine, {
    at: (ch) => ch === '\n' || (splitOnSemicolon && ch === ';'),
    braces: true,
    keep: (t) => !t.startsWith('#'),
    clean: (t) => t,
  });
}

/** Splits `a, b, c` at commas outside quotes, with each item's line offset; whitespace runs become one space. */
export function splitElements(text: string, firstLine: number): Stmt[] {
  return splitOutside(text, firstLine, { at: (ch) => ch === ',', braces: false, keep: () => true, clean: (t) => t.replace(/\s+/g, ' ') });
}

/** The text between the first `{` and its matching `}`, and the line that text starts on. */
export function braceBody(s: Stmt): { head: string; body: string; bodyLine: number } | undefined {
  const open = s.text.indexOf('{');
  const close = s.text.lastIndexOf('}');
  if (open < 0 || close < open) return undefined;
  const head = s.text.slice(0, open).trim();
  const bodyLine = s.line + (s.text.slice(0, open + 1).split('\n').length - 1);
  return { head, body: s.text.slice(open + 1, close), bodyLine };
}

export interface ParsedElement {
  /** The key as printed, whitespace collapsed: the element's identity. */
  readonly key: string;
  readonly comment?: string;
  /** A map element's value (`goto lb-3`, `10.0.0.1 . 8080`). */
  readonly value?: string;
}

/** `KEY [comment "C"] [: VALUE]` (IPv6 keys contain `:` but never ` : `). */
export function parseElement(text: string): ParsedElement {
  let rest = text.trim();
  let value: string | undefined;
  let comment: string | undefined;
  const c = /\s+comment\s+"([^"]*)"/.exec(rest);
  if (c) {
    comment = c[1] ?? '';
    rest = rest.slice(0, c.index) + rest.slice(c.index + c[0].length);
  }
  const sep = rest.indexOf(' : ');
  if (sep >= 0) {
    value = rest.slice(sep + 3).trim().replace(/\s+/g, ' ');
    rest = rest.slice(0, sep);
  }
  const key = rest.trim().replace(/\s+/g, ' ');
  return { key, ...(comment !== undefined ? { comment } : {}), ...(value !== undefined ? { value } : {}) };
}

/** Chains a rule or a map value jumps to. */
export function chainRefs(text: string): string[] {
  return [...text.matchAll(/\b(?:jump|goto)\s+([A-Za-z0-9_.-]+)/g)].map((m) => m[1] ?? '');
}

/** Sets and maps a rule refers to (`@name`). */
export function setRefs(text: string): string[] {
  return [...text.matchAll(/@([A-Za-z0-9_.-]+)/g)].map((m) => m[1] ?? '');
}
