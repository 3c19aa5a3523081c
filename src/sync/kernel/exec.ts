/**
 * Runs one kernel tool as an argument array (never a shell string) and collects its
 * output. Used by the one-off commands (`kpx cleanup`, `kpx diff`) and the takeover
 * step; the nft proxier has its own adapter (nft.ts).
 */
import { spawn } from 'node:child_process';

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The tool is not installed (ENOENT). */
  readonly missing: boolean;
}

/** `argv[0]` is the tool; `input` goes to its stdin. */
export type Exec = (argv: readonly string[], input?: string) => Promise<ExecResult>;

/**
 * An Exec that runs each command behind `prefix` (e.g. `['ip', 'netns', 'exec', NS]` in
 * tests). Through a prefix a missing tool is seen by its message (`ip netns exec` exits 255
 * with "No such file or directory").
 */
export function createExec(prefix: readonly string[] = []): Exec {
  return (argv, input = '') => runTool([...prefix, ...argv], input).then(
    ({ code, stdout, stderr }) => {
      const missing = prefix.length > 0 && code === 255 && /exec of .* failed: No such file or directory/.test(stderr);
      return { code, stdout, stderr, missing };
    },
    (err: NodeJS.ErrnoException) => ({ code: 127, stdout: '', stderr: err.message, missing: err.code === 'ENOENT' }),
  );
}

/**
 * Runs `argv` with `input` on its stdin and collects its output; rejects when the tool
 * cannot be started (ENOENT …). A signal's exit is 128. The one spawn of every kernel
 * tool (nft, iptables-restore/-save, createExec's commands).
 */
export interface ToolRun { readonly code: number; readonly stdout: string; readonly stderr: string }

export function runTool(argv: readonly string[], input: string, onSpawn?: (pid: number | undefined) => void): Promise<ToolRun> {
  const [cmd, ...args] = argv;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd ?? 'true', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    onSpawn?.(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal !== null ? 128 : -1), stdout, stderr }));
    child.stdin.on('error', () => { /* the tool may exit before reading all of stdin; its exit code tells */ });
    child.stdin.end(input);
  });
}
