/**
 * nft's error output, parsed in one place into a typed error. nft reports a failing
 * script line as
 *
 *   /dev/stdin:LINE:COL-COL: Error: MESSAGE
 *   <the line's text>
 *   <carets under the failing part>
 *
 * (a failure outside a script, such as a missing table on the command line, has no
 * location). kpx's scripts name one object per command, so the line tells which object
 * (`add element ip kube-proxy eps-10 { … }` → map eps-10 of table ip kube-proxy).
 */

/** The object a failing command concerns, read from the command's text. */
export interface NftObject {
  /** add, delete, flush, create, table (a table block), … */
  readonly verb: string;
  readonly kind: 'table' | 'chain' | 'set' | 'map' | 'element' | 'rule' | 'unknown';
  readonly family?: string;
  readonly table?: string;
  /** The chain, set or map name. */
  readonly name?: string;
}

export class NftError extends Error {
  readonly name = 'NftError';
  constructor(
    message: string,
    /** 1-based line of the script (undefined when nft gave no location). */
    readonly line: number | undefined,
    /** Text of that line as nft echoed it (or as the script has it). */
    readonly lineText: string | undefined,
    readonly object: NftObject | undefined,
    /** nft's exit code (or -1 for a fake kernel). */
    readonly exitCode: number,
    /** Everything nft printed on stderr. */
    readonly stderr: string,
  ) {
    super(message);
  }
}

/** The binary is missing or too old: a start-up error, not a sync error. */
export class NftUnavailableError extends Error {
  readonly name = 'NftUnavailableError';
}

const KINDS = new Set(['table', 'chain', 'set', 'map', 'element', 'rule']);

/** `add element ip kube-proxy eps-10 { … }` → its verb, kind, family, table and name. */
export function objectOfLine(text: string): NftObject | undefined {
  const words = text.trim().split(/\s+/);
  if (words.length === 0 || words[0] === '') return undefined;
  const [verb = '', kind = '', family, table, name] = words;
  if (verb === 'table' || verb === 'chain' || verb === 'set' || verb === 'map') {
    // Inside a block: `table ip kube-proxy {` or `chain foo {`.
    return verb === 'table'
      ? { verb: 'define', kind: 'table', ...(kind !== '' ? { family: kind } : {}), ...(family !== undefined ? { table: family } : {}) }
      : { verb: 'define', kind: verb, ...(kind !== '' ? { name: kind } : {}) };
  }
  if (!KINDS.has(kind)) return { verb, kind: 'unknown' };
  const k = kind as NftObject['kind'];
  if (k === 'table') {
    return { verb, kind: k, ...(family !== undefined ? { family } : {}), ...(table !== undefined ? { table } : {}) };
  }
  return {
    verb, kind: k,
    ...(family !== undefined ? { family } : {}),
    ...(table !== undefined ? { table } : {}),
    ...(name !== undefined && name !== '{' ? { name } : {}),
  };
}

/**
 * The object of the command that holds script line `line`: kpx prints an element list
 * one element per line, continuation lines indented, so the command is the nearest line
 * above (or at) `line` that starts in column 1.
 */
export function objectAt(script: string, line: number): NftObject | undefined {
  const lines = script.split('\n');
  for (let i = line - 1; i >= 0; i--) {
    const text = lines[i];
    if (text !== undefined && text !== '' && !/^\s/.test(text)) return objectOfLine(text);
  }
  return undefined;
}

const LOCATION = /^(?:\/dev\/stdin|[^:\s]+):(\d+):(\d+)(?:-(\d+))?: Error: (.*)$/;

/**
 * nft's stderr (and the script it was given) → the first error as an NftError. Later
 * errors of the same run are kept in `stderr`.
 */
export function parseNftStderr(stderr: string, exitCode: number, script?: string): NftError {
  const lines = stderr.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = LOCATION.exec(lines[i] ?? '');
    // `internal:0:0-0`: nft's own objects (e.g. read back from the kernel), no script line.
    if (!m || m[1] === '0') continue;
    const line = Number(m[1]);
    const message = m[4] ?? 'unknown error';
    const fromScript = script?.split('\n')[line - 1];
    const lineText = fromScript ?? lines[i + 1];
    const object = script !== undefined ? objectAt(script, line) : lineText !== undefined ? objectOfLine(lineText) : undefined;
    const what = object?.name !== undefined ? ` (${object.kind} ${object.name})` : '';
    return new NftError(`nft: line ${line}${what}: ${message}`, line, lineText, object, exitCode, stderr);
  }
  const first = lines.find((l) => l.trim() !== '') ?? `exit code ${exitCode}`;
  return new NftError(`nft: ${first.replace(/^Error: /, '')}`, undefined, undefined, undefined, exitCode, stderr);
}
