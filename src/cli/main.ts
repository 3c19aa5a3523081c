/** kpx command-line entry point; bin/kpx.js calls `main(process.argv.slice(2))`. */
import { parseArgs } from './args.js';
import { usageFor } from './usage.js';
import { processIO, type CliIO } from './output.js';
import { explainCommand } from './explain.js';
import { renderCommand } from './render.js';
import { runCommand } from './run.js';

/** Runs one command and returns the exit code: 0 ok, 1 nothing could be read (run: could not start), 2 usage, 3 run: proxy mode not implemented yet. */
export async function main(argv: readonly string[], io: CliIO = processIO): Promise<number> {
  if (argv.length === 0) {
    io.stderr(usageFor());
    return 2;
  }
  const parsed = parseArgs(argv);
  if (!parsed.ok) {
    const help = parsed.topic !== undefined ? `kpx ${parsed.topic} --help` : 'kpx --help';
    io.stderr(`kpx: ${parsed.error}\nRun '${help}' for usage.\n`);
    return 2;
  }
  const cmd = parsed.value;
  switch (cmd.command) {
    case 'help':
      io.stdout(usageFor(cmd.topic));
      return 0;
    case 'render':
      return renderCommand(cmd.args, io);
    case 'explain':
      return explainCommand(cmd.args, io);
    case 'run':
      return runCommand(cmd.argv, io);
    case 'diff':
    case 'cleanup':
      io.stderr(`kpx: ${cmd.command} is not implemented yet\n`);
      return 2;
  }
}
