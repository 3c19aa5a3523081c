/**
 * Running a kernel tool: argument arrays, input on stdin, never a shell. `runTool` is the
 * one spawn of every kernel tool (nft, iptables-restore/-save, and the `Exec` below).
 * The one-off commands (`kpx cleanup`, `kpx diff`), the takeover step and the IPVS
 * adapter (ipvs.ts) run tools through an `Exec`, so tests can give them fakes
 * (ipvs-fake.ts) and the VM test a bridge into the VM (test/ipvs-vm/bridge).
 */
import { spawn } from 'node:child_process';

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The tool is not installed (ENOENT, or `ip netns exec` failing to find it). */
  readonly missing?: boolean;
}

/** Runs `argv[0]` with `argv[1..]`, writing `stdin` to it; resolves with its exit code and output. */
export type Exec = (argv: readonly string[], stdin?: string) => Promise<ExecResult>;

export interface SpawnExecOptions {
  /** A command prefix, e.g. `['ip', 'netns', 'exec', NS]`; none in production. */
  readonly prefix?: readonly string[];
  /** Told the pid of every process started. */
  readonly onSpawn?: (pid: number | undefined) => void;
}

/**
 * An Exec that spawns the tool. A missing binary resolves with code 127, a `not found`
 * stderr and `missing`; through a prefix a missing tool is seen by its message
 * (`ip netns exec` exits 255 with "No such file or directory").
 */
export function createSpawnExec(options: SpawnExecOptions = {}): Exec {
  const prefix = options.prefix ?? [];
  return (argv, stdin = '') => runTool([...prefix, ...argv], stdin, options.onSpawn).then(
    ({ code, stdout, stderr }) => {
      const missing = prefix.length > 0 && code === 255 && /exec of .* failed: No such file or directory/.test(stderr);
      return { code, stdout, stderr, missing };
    },
    (err: NodeJS.ErrnoException) => {
      const missing = err.code === 'ENOENT';
      return { code: 127, stdout: '', stderr: missing ? `${argv[0] ?? ''}: not found` : String(err.message), missing };
    },
  );
}

/** createSpawnExec with only a prefix. */
export function createExec(prefix: readonly string[] = []): Exec {
  return createSpawnExec({ prefix });
}

export interface ToolRun { readonly code: number; readonly stdout: string; readonly stderr: string }

/**
 * Runs `argv` with `input` on its stdin and collects its output; rejects when the tool
 * cannot be started (ENOENT …). A signal's exit is 128.
 */
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
