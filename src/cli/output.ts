/** How the CLI talks to the user: injected streams and one-line message formats. */
import type { Problem } from '../model/types.js';
import type { ManifestNote } from './manifests.js';
import { escapeText } from './quote.js';

export interface CliIO {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** `-f -`; defaults to process.stdin. */
  readonly readStdin?: () => Promise<string>;
  /** Default node name when none is given; defaults to os.hostname. */
  readonly hostname?: () => string;
}

let stdoutGuarded = false;

export const processIO: CliIO = {
  stdout: (text) => {
    if (!stdoutGuarded) {
      // `kpx render ... | head`: a reader that leaves early is not an error.
      process.stdout.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EPIPE') throw err;
      });
      stdoutGuarded = true;
    }
    process.stdout.write(text);
  },
  stderr: (text) => { process.stderr.write(text); },
};

/** `kpx: skipped Service ns/name: spec.ports[0].port: message`; `kpx: warning: message`. */
export function formatProblem(p: Problem): string {
  if (p.effect === 'warning') return `kpx: warning: ${oneLine(p.message)}\n`;
  const path = p.path === '' ? '' : `${p.path}: `;
  return `kpx: ${p.effect} ${p.kind} ${escapeText(p.object)}: ${path}${oneLine(p.message)}\n`;
}

/** `kpx: file.yaml:12: message` */
export function formatNote(n: ManifestNote): string {
  return `kpx: ${escapeText(n.where)}: ${oneLine(n.message)}\n`;
}

/** One line, with any control character from the input escaped. */
function oneLine(s: string): string {
  return escapeText(s.replace(/\s*\n\s*/g, ' '), 2000);
}
