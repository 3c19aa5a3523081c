/**
 * The conntrack kernel adapter: the only code that runs the `conntrack` tool
 * (conntrack-tools). Argument arrays, never a shell; output parsed in
 * conntrack-parse.ts. Listing streams line by line (a busy node's table is large).
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { IPFamily } from '../../model/types.js';
import type { UdpFlow } from '../conntrack-cleanup.js';
import { ConntrackError, ConntrackUnavailableError, conntrackMessage, deleteOutcome, parseFlowLine } from './conntrack-parse.js';

/** What a deletion matches: protocol udp, the family, original destination and port, reply source and port. */
export interface UdpFlowFilter {
  readonly family: IPFamily;
  readonly origDst: string;
  readonly origDport: number;
  readonly replySrc: string;
  readonly replySport: number;
}

export interface UdpListing {
  readonly flows: readonly UdpFlow[];
  /** Lines that were neither a UDP flow nor blank (format drift shows up here). */
  readonly unparsed: number;
}

export interface ConntrackKernel {
  /** `conntrack --version`; throws ConntrackUnavailableError when the tool is missing or fails. */
  version(): Promise<string>;
  /** Every UDP flow of one family (`conntrack -L -p udp -f FAMILY`). */
  listUdp(family: IPFamily): Promise<UdpListing>;
  /** Deletes the UDP flows matching the filter; returns how many were deleted (0 is fine). */
  deleteUdp(filter: UdpFlowFilter): Promise<number>;
}

export interface ConntrackKernelOptions {
  /** The binary; default `conntrack` (found on PATH). */
  readonly binary?: string;
  /** A command prefix, e.g. `['ip', 'netns', 'exec', NS]` (tests, the e2e harness). */
  readonly prefix?: readonly string[];
}

interface Run { readonly code: number; readonly stderr: string }

export function createConntrackKernel(options: ConntrackKernelOptions = {}): ConntrackKernel {
  const binary = options.binary ?? 'conntrack';
  const argv = (args: readonly string[]): string[] => [...(options.prefix ?? []), binary, ...args];

  /** Runs conntrack; each stdout line goes to `onLine`. */
  const exec = (args: readonly string[], onLine?: (line: string) => void): Promise<Run> => new Promise((resolve, reject) => {
    const [cmd, ...rest] = argv(args);
    const child = spawn(cmd ?? binary, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (l) => onLine?.(l));
    const closed = new Promise<void>((r) => lines.once('close', r));
    child.on('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'ENOENT'
        ? new ConntrackUnavailableError(`${argv([])[0]} not found: install conntrack-tools (e.g. apt-get install conntrack)`)
        : err);
    });
    child.on('close', (code, signal) => {
      void closed.then(() => resolve({ code: code ?? (signal !== null ? 128 : -1), stderr }));
    });
  });

  return {
    async version() {
      const out: string[] = [];
      const r = await exec(['--version'], (l) => out.push(l));
      const text = `${out.join('\n')}\n${r.stderr}`;
      if (r.code !== 0) throw new ConntrackUnavailableError(`${argv(['--version']).join(' ')} failed (exit ${r.code}): ${conntrackMessage(r.stderr)}`);
      const m = /v(\d+\.\d+(?:\.\d+)?)/.exec(text);
      if (!m?.[1]) throw new ConntrackUnavailableError(`cannot read conntrack's version from ${JSON.stringify(text.trim())}`);
      return m[1];
    },
    async listUdp(family) {
      const flows: UdpFlow[] = [];
      let unparsed = 0;
      const args = ['-L', '-p', 'udp', '-f', family];
      const r = await exec(args, (line) => {
        const f = parseFlowLine(line);
        if (f !== undefined) flows.push(f);
        else if (line.trim() !== '') unparsed++;
      });
      if (r.code !== 0) throw new ConntrackError(args, r.code, r.stderr);
      return { flows, unparsed };
    },
    async deleteUdp(f) {
      const args = [
        '-D', '-p', 'udp', '-f', f.family,
        '--orig-dst', f.origDst, '--dport', String(f.origDport),
        '--reply-src', f.replySrc, '--reply-port-src', String(f.replySport),
      ];
      const r = await exec(args);
      const outcome = deleteOutcome(args, r.code, r.stderr);
      if (outcome instanceof ConntrackError) throw outcome;
      return outcome;
    },
  };
}

export { ConntrackError, ConntrackUnavailableError };
