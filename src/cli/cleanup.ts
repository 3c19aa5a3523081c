/**
 * `kpx cleanup [--proxy-mode nftables|iptables|ipvs]... [--all]` and `kpx run --cleanup`:
 * removes what kube-proxy or kpx left in this network namespace (src/sync/cleanup).
 * One line per item on stdout; exit 0 when everything owned is gone, 1 when something
 * could not be removed, 2 on a usage error.
 */
import { CLEANUP_MODES, type CleanupMode } from '../sync/cleanup/owned.js';
import { cleanupModes, type CleanupItem } from '../sync/cleanup/run.js';
import { createExec, type Exec } from '../sync/kernel/exec.js';
import { EXIT } from './exit.js';
import type { CliIO } from './output.js';
import { escapeText, quote } from './quote.js';

export type CleanupArgs = { readonly ok: true; readonly modes: readonly CleanupMode[] } | { readonly ok: false; readonly error: string };

/** Pure: argv (after `cleanup`) → the modes to clean. Default and `--all`: every mode. */
export function parseCleanupArgs(argv: readonly string[]): CleanupArgs {
  const modes: CleanupMode[] = [];
  let all = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--all' || arg === '--all=true') { all = true; continue; }
    let value: string | undefined;
    if (arg.startsWith('--proxy-mode=')) value = arg.slice('--proxy-mode='.length);
    else if (arg === '--proxy-mode') {
      value = argv[i + 1];
      i++;
      if (value === undefined) return { ok: false, error: '--proxy-mode needs a value' };
    } else return { ok: false, error: arg.startsWith('-') ? `unknown flag ${escapeText(arg.split('=')[0] ?? arg)}` : `unexpected argument ${quote(arg)}` };
    for (const v of value.split(',')) {
      if (!(CLEANUP_MODES as readonly string[]).includes(v)) return { ok: false, error: `--proxy-mode must be one of ${CLEANUP_MODES.join(', ')}, got ${quote(v)}` };
      if (!modes.includes(v as CleanupMode)) modes.push(v as CleanupMode);
    }
  }
  if (all && modes.length > 0) return { ok: false, error: '--all and --proxy-mode exclude each other' };
  return { ok: true, modes: modes.length > 0 ? modes : [...CLEANUP_MODES] };
}

export function formatCleanupItem(item: CleanupItem): string {
  const detail = item.detail !== undefined ? `: ${item.detail}` : '';
  return escapeText(`${item.outcome} ${item.what}${detail}`, 2000) + '\n';
}

/** Runs the cleanup of `modes` and reports it; the exit code. */
export async function runCleanup(modes: readonly CleanupMode[], io: CliIO, exec: Exec = createExec()): Promise<number> {
  const items = await cleanupModes(modes, exec);
  for (const item of items) {
    if (item.outcome === 'failed') io.stderr(`kpx: ${formatCleanupItem(item)}`);
    else io.stdout(formatCleanupItem(item));
  }
  return items.some((i) => i.outcome === 'failed') ? EXIT.input : EXIT.ok;
}

export async function cleanupCommand(argv: readonly string[], io: CliIO, exec?: Exec): Promise<number> {
  const parsed = parseCleanupArgs(argv);
  if (!parsed.ok) {
    io.stderr(`kpx: ${parsed.error} (run 'kpx cleanup --help' for usage)\n`);
    return EXIT.usage;
  }
  return runCleanup(parsed.modes, io, exec);
}
