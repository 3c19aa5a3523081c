/**
 * kpx's exit codes, one meaning each (printed by `kpx --help` and in README.md):
 * 0 success (skipped objects are reported on stderr but are not failures), 1 an input or
 * output error (nothing could be read, --out cannot be written, the rules cannot be
 * explained), 2 a usage error (bad flags or option values), 3 not implemented yet.
 */
export const EXIT = { ok: 0, input: 1, usage: 2, notImplemented: 3 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODES_HELP = `Exit status: 0 success (even with skipped objects, reported on stderr), 1 input or
output error (nothing could be read, --out cannot be written), 2 usage error, 3 not
implemented yet. kpx diff: 0 nothing would change, 1 something would, 2 error.
`;
