/**
 * iptables' error output, parsed in one place into a typed error. The restore tools
 * report a failing input line in one of these forms (1.8.x, both flavours):
 *
 *   iptables-restore: line 5 failed[: MESSAGE]
 *   iptables-restore v1.8.9 (legacy): MESSAGE\n\nError occurred at line: 3
 *   iptables-restore: COMMIT expected at line 3
 *
 * (iptables-nft checks jump targets when the table commits and then names the line
 * after the rule). The line is looked up in the input kpx sent, which names the table
 * (the nearest `*table` above) and the chain (`:NAME`, `-A NAME`, `-X NAME`, ...).
 */

export class IptablesError extends Error {
  readonly name = 'IptablesError';
  constructor(
    message: string,
    /** The tool run (`iptables-nft-restore`, `ip6tables-legacy`, ...). */
    readonly tool: string,
    /** 1-based line of the restore input (undefined: not a restore, or no location). */
    readonly line: number | undefined,
    readonly lineText: string | undefined,
    readonly table: string | undefined,
    readonly chain: string | undefined,
    /** The tool's exit code (-1 for the fake kernel; 4: resource problem such as the xtables lock). */
    readonly exitCode: number,
    readonly stderr: string,
  ) {
    super(message);
  }
}

/** The binaries are missing: a start-up error, not a sync error. */
export class IptablesUnavailableError extends Error {
  readonly name = 'IptablesUnavailableError';
}

const LINE_FORMS = [/Error occurred at line: (\d+)/, /\bline (\d+) failed/, /COMMIT expected at line (\d+)/, /\bline (\d+):/];

/** The table and chain a restore line concerns. */
export function locate(input: string, line: number): { table?: string; chain?: string; lineText?: string } {
  const lines = input.split('\n');
  const lineText = lines[line - 1];
  let table: string | undefined;
  for (let i = Math.min(line, lines.length) - 1; i >= 0; i--) {
    const m = /^\*(\S+)/.exec(lines[i] ?? '');
    if (m) { table = m[1]; break; }
  }
  const c = /^(?::(\S+)|-[AIDXFNPZ] +(\S+))/.exec(lineText ?? '');
  const chain = c?.[1] ?? c?.[2];
  return { ...(table !== undefined ? { table } : {}), ...(chain !== undefined ? { chain } : {}), ...(lineText !== undefined ? { lineText } : {}) };
}

/** The most telling line of stderr: not the help hint, not the deprecation notes. */
function mainMessage(stderr: string, exitCode: number): string {
  const useful = stderr.split('\n').map((l) => l.trim())
    .filter((l) => l !== '' && !/^Try `/.test(l) && !/^Ignoring deprecated/.test(l) && !/^Error occurred at line/.test(l));
  const text = useful.find((l) => !/:\s*$/.test(l)) ?? useful[0] ?? `exit code ${exitCode}`;
  return text.replace(/^\S*(?:iptables|ip6tables)\S*(?: v[\d.]+(?: \([^)]*\))?)?: /, '');
}

/** A tool's stderr (and, for a restore, the input it was given) → IptablesError. */
export function parseIptablesStderr(tool: string, stderr: string, exitCode: number, input?: string): IptablesError {
  let line: number | undefined;
  for (const re of LINE_FORMS) {
    const m = re.exec(stderr);
    if (m) { line = Number(m[1]); break; }
  }
  const where = line !== undefined && input !== undefined ? locate(input, line) : {};
  const what = where.chain !== undefined ? ` (chain ${where.chain}${where.table !== undefined ? ` in ${where.table}` : ''})` : '';
  const message = `${tool}: ${line !== undefined ? `line ${line}${what}: ` : ''}${mainMessage(stderr, exitCode)}`;
  return new IptablesError(message, tool, line, where.lineText, where.table, where.chain, exitCode, stderr);
}
