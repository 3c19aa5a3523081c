/**
 * Running a kernel tool: argument arrays, input on stdin, never a shell. The one-off
 * commands (`kpx cleanup`, `kpx diff`), the takeover step and the IPVS adapter (ipvs.ts)
 * run every tool through one `Exec`, so tests can give them fakes (ipvs-fake.ts) and the
 * VM test a bridge into the VM (test/ipvs-vm/bridge). The nft proxier has its own adapter
 * (nft.ts).
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
  return (argv, stdin = '') => new Promise((resolve) => {
    const [cmd, ...args] = [...prefix, ...argv];
    const child = spawn(cmd ?? 'false', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    options.onSpawn?.(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('error', (err: NodeJS.ErrnoException) => {
      const missing = err.code === 'ENOENT';
      resolve({ code: 127, stdout, stderr: missing ? `${cmd}: not found` : String(err.message), missing });
    });
    child.on('close', (code, signal) => {
      const c = code ?? (signal !== null ? 128 : -1);
      const missing = prefix.length > 0 && c === 255 && /exec of .* failed: No such file or directory/.test(stderr);
      resolve({ code: c, stdout, stderr, missing });
    });
    child.stdin.on('error', () => { /* the tool may exit before reading all input; its exit code tells */ });
    child.stdin.end(stdin);
  });
}

/** createSpawnExec with only a prefix. */
export function createExec(prefix: readonly string[] = []): Exec {
  return createSpawnExec({ prefix });
}
