/**
 * The one place where the IPVS tools' stderr is read. Every failed tool run becomes an
 * IpvsToolError naming the tool, its arguments, the exit code and, when the tool says
 * which input line failed, that line and its text:
 * - ipset: `ipset v7.17: Error in line 3: The set with the given name does not exist`
 * - ip -batch: `RTNETLINK answers: File exists` … `Command failed -:3`
 * - iptables-restore: `iptables-restore: line 5 failed` / `Error occurred at line: 5`
 * - ipvsadm -R reads line by line and names no line: the message only.
 */
export class IpvsToolError extends Error {
  constructor(
    readonly tool: string,
    readonly argv: readonly string[],
    readonly exitCode: number,
    readonly stderr: string,
    readonly line?: number,
    readonly lineText?: string,
  ) {
    const where = line !== undefined ? ` at input line ${line}${lineText !== undefined ? ` (${JSON.stringify(lineText)})` : ''}` : '';
    super(`${argv.join(' ')} failed (exit ${exitCode})${where}: ${firstLine(stderr)}`);
    this.name = 'IpvsToolError';
  }
}

/** A tool kpx needs is not installed. */
export class IpvsUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IpvsUnavailableError';
  }
}

function firstLine(stderr: string): string {
  return stderr.split('\n').map((l) => l.trim()).find((l) => l !== '' && !/^Command failed/.test(l)) ?? '(no message)';
}

const LINE_PATTERNS: readonly RegExp[] = [
  /Error in line (\d+)/,
  /Command failed \S*:(\d+)/,
  /line (\d+) failed/,
  /Error occurred at line: (\d+)/,
];

export function parseToolError(argv: readonly string[], exitCode: number, stderr: string, input?: string): IpvsToolError {
  const tool = (argv[0] ?? '').split('/').pop() ?? '';
  for (const re of LINE_PATTERNS) {
    const m = re.exec(stderr);
    if (!m) continue;
    const line = Number(m[1]);
    return new IpvsToolError(tool, argv, exitCode, stderr, line, input?.split('\n')[line - 1]);
  }
  return new IpvsToolError(tool, argv, exitCode, stderr);
}
