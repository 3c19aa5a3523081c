/** Runs kpx's CLI in-process (main()) with captured stdout/stderr and a given stdin. */
import { main } from '../../src/cli/main.js';
import type { CliIO } from '../../src/cli/output.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `hostname`: what the CLI sees as the host name (main.test checks it is lower-cased). */
export async function runCli(argv: readonly string[], stdin = '', hostname = 'Host-1'): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    stdout: (t) => { stdout += t; },
    stderr: (t) => { stderr += t; },
    readStdin: async () => stdin,
    hostname: () => hostname,
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}
