/** kpx command-line entry point; bin/kpx.js calls `main(process.argv.slice(2))`. */
import { parseArgs, type Command } from './args.js';
import { escapeText } from './quote.js';
import { EXIT } from './exit.js';
import { usageFor } from './usage.js';
import { processIO, type CliIO } from './output.js';
import { explainCommand } from './explain.js';
import { renderCommand } from './render.js';
import { runCommand as proxyCommand } from './run.js';
import { cleanupCommand } from './cleanup.js';
import { diffCommand } from './diff.js';

/** Runs one command and returns the exit code (see exit.ts: 0 ok, 1 input/output error or run could not start, 2 usage, 3 not implemented). */
export async function main(argv: readonly string[], io: CliIO = processIO): Promise<number> {
  if (argv.length === 0) {
    io.stderr(usageFor());
    return EXIT.usage;
  }
  const parsed = parseArgs(argv);
  if (!parsed.ok) {
    const help = parsed.topic !== undefined ? `kpx ${parsed.topic} --help` : 'kpx --help';
    io.stderr(`kpx: ${parsed.error} (run '${help}' for usage)\n`);
    return EXIT.usage;
  }
  try {
    return await dispatch(parsed.value, io);
  } catch (err) {
    // A bug, not the user's input: still one line (the stack with KPX_DEBUG=1).
    const e = err instanceof Error ? err : new Error(String(err));
    if (process.env['KPX_DEBUG'] === '1') io.stderr(`kpx: internal error: ${e.stack ?? e.message}\n`);
    else io.stderr(`kpx: internal error: ${escapeText(e.message.split('\n')[0] ?? '', 500)} (KPX_DEBUG=1 shows where)\n`);
    return EXIT.input;
  }
}

async function dispatch(cmd: Command, io: CliIO): Promise<number> {
  switch (cmd.command) {
    case 'help':
      io.stdout(usageFor(cmd.topic));
      return EXIT.ok;
    case 'render':
      return renderCommand(cmd.args, io);
    case 'explain':
      return explainCommand(cmd.args, io);
    case 'run':
      return proxyCommand(cmd.argv, io);
    case 'cleanup':
      return cleanupCommand(cmd.argv, io);
    case 'diff':
      return diffCommand(cmd.argv, io);
  }
}
