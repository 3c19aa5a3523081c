/**
 * Running a kernel tool: argument arrays, input on stdin, never a shell. The IPVS
 * adapter (ipvs.ts) runs every tool through one `Exec`, so tests can give it the fake
 * tools (ipvs-fake.ts) and the VM test a bridge into the VM (test/ipvs-vm/bridge).
 */
import { spawn } from 'node:child_process';

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `argv[0]` with `argv[1..]`, writing `stdin` to it; resolves with its exit code and output. */
export type Exec = (argv: readonly string[], stdin?: string) => Promise<ExecResult>;

export interface SpawnExecOptions {
  /** A command prefix, e.g. `['ip', 'netns', 'exec', NS]`; none in production. */
  readonly prefix?: readonly string[];
  /** Told the pid of every process started. */
  readonly onSpawn?: (pid: number | undefined) => void;
}

/** An Exec that spawns the tool. A missing binary resolves with code 127 and a `not found` stderr. */
export function createSpawnExec(options: SpawnExecOptions = {}): Exec {
  return (argv, stdin = '') => new Promise((resolve) => {
    const [cmd, ...args] = [...(options.prefix ?? []), ...argv];
    const child = spawn(cmd ?? 'false', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    options.onSpawn?.(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('error', (err: NodeJS.ErrnoException) => {
      resolve({ code: 127, stdout, stderr: err.code === 'ENOENT' ? `${cmd}: not found` : String(err.message) });
    });
    child.on('close', (code, signal) => resolve({ code: code ?? (signal !== null ? 128 : -1), stdout, stderr }));
    child.stdin.on('error', () => { /* the tool may exit before reading all input; its exit code tells */ });
    child.stdin.end(stdin);
  });
}
