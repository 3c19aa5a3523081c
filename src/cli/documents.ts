/**
 * One manifest text → its documents' values, fast and one document at a time.
 *
 * - Text that starts with `{` or `[` is JSON (`kubectl get -o json`): JSON.parse, which
 *   is an order of magnitude faster than any YAML parser. A `*.json` file that does not
 *   parse is reported as JSON; other text falls back to YAML.
 * - YAML is split at its document markers (`---` / `...` at the start of a line, which
 *   YAML forbids inside content) and each document is parsed on its own with js-yaml
 *   (YAML 1.2 core schema, as the `yaml` package kpx used before: no timestamps,
 *   binaries or merge keys; a duplicate key keeps the later value, as kubectl does), so
 *   a broken document costs itself only and memory is one document's at a time. A
 *   document that is itself JSON (`{...}`) takes JSON.parse.
 * - Aliases are resolved by reference (no copies), so an alias bomb costs no memory;
 *   the caller walks each object once.
 * Never throws: problems come back as notes with a `file:line` position.
 */
import { extname } from 'node:path';
import { CORE_SCHEMA, load, type YAMLException } from 'js-yaml';

export interface ParsedDoc {
  readonly value: unknown;
  /** `file:line` of the document's first content line (`file` for a whole JSON text). */
  readonly where: string;
}

export interface DocNote {
  readonly where: string;
  readonly message: string;
}

/** The documents of one source; broken ones are reported in `notes` and left out. */
export function parseDocuments(name: string, text: string, notes: DocNote[]): ParsedDoc[] {
  const isJSONFile = extname(name).toLowerCase() === '.json';
  const start = firstContent(text, 0);
  const first = text[start];
  if (isJSONFile || first === '{' || first === '[') {
    try {
      return [{ value: JSON.parse(text) as unknown, where: name }];
    } catch (err) {
      if (isJSONFile) {
        notes.push({ where: name, message: `not valid JSON: ${firstLine(err)}` });
        return [];
      }
      // Not JSON after all (a YAML flow mapping, say): read it as YAML.
    }
  }
  const out: ParsedDoc[] = [];
  for (const chunk of splitDocuments(text)) {
    const contentAt = firstContent(chunk.text, 0);
    if (contentAt >= chunk.text.length) continue; // only markers, comments, directives
    const line = chunk.line + countLines(chunk.text, contentAt);
    const where = `${name}:${line}`;
    const body = chunk.text.slice(contentAt);
    if (body[0] === '{') {
      try {
        out.push({ value: JSON.parse(body) as unknown, where });
        continue;
      } catch {
        // a YAML flow mapping that is not JSON: js-yaml below
      }
    }
    try {
      out.push({ value: load(chunk.text, { schema: CORE_SCHEMA, json: true, filename: name }), where });
    } catch (err) {
      const mark = (err as Partial<YAMLException>).mark;
      const errLine = typeof mark?.line === 'number' ? chunk.line + mark.line : line;
      const reason = (err as Partial<YAMLException>).reason;
      const message = typeof reason === 'string' ? reason : firstLine(err);
      notes.push({ where: `${name}:${errLine}`, message: `not valid YAML; document skipped: ${message}` });
    }
  }
  return out;
}

interface Chunk {
  /** 1-based line of the chunk's first line. */
  readonly line: number;
  readonly text: string;
}

const MARKER = /^(?:---|\.\.\.)(?=[ \t\r\n]|$)/;

/**
 * Splits at document markers. A `---` line starts a document and stays in it (content
 * may follow it on the same line: `--- {a: 1}`); a `...` line ends one and is dropped.
 */
function splitDocuments(text: string): Chunk[] {
  const chunks: Chunk[] = [];
  let chunkStart = 0;
  let chunkLine = 1;
  let line = 1;
  let pos = 0;
  while (pos <= text.length) {
    const nl = text.indexOf('\n', pos);
    const end = nl < 0 ? text.length : nl + 1;
    if ((text[pos] === '-' || text[pos] === '.') && MARKER.test(text.slice(pos, Math.min(end, pos + 4)))) {
      if (pos > chunkStart) chunks.push({ line: chunkLine, text: text.slice(chunkStart, pos) });
      const isEnd = text[pos] === '.';
      chunkStart = isEnd ? end : pos;
      chunkLine = isEnd ? line + 1 : line;
    }
    if (nl < 0) break;
    pos = end;
    line++;
  }
  if (chunkStart < text.length) chunks.push({ line: chunkLine, text: text.slice(chunkStart) });
  return chunks;
}

/** Index of the first character that is not blank, a comment, a directive or a `---` marker. */
function firstContent(text: string, from: number): number {
  let pos = from;
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    const end = nl < 0 ? text.length : nl + 1;
    const lineText = text.slice(pos, end);
    const trimmed = lineText.trimStart();
    if (trimmed === '' || trimmed.startsWith('#') || (pos === from && lineText.startsWith('%'))) { pos = end; continue; }
    if (lineText.startsWith('%')) { pos = end; continue; }
    const marker = /^---[ \t]*/.exec(lineText);
    if (marker !== null) {
      const rest = lineText.slice(marker[0].length).trim();
      if (rest === '' || rest.startsWith('#')) { pos = end; continue; }
      return pos + marker[0].length;
    }
    return pos + (lineText.length - trimmed.length);
  }
  return text.length;
}

function countLines(text: string, upTo: number): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < upTo; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

export function firstLine(err: unknown): string {
  const m = typeof err === 'object' && err !== null ? (err as { message?: unknown }).message : undefined;
  const message = typeof m === 'string' ? m : String(err);
  return message.split('\n')[0] ?? message;
}
