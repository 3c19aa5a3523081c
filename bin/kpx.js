#!/usr/bin/env node
// Entry point: runs the compiled CLI (built by `npm install` through `prepare`).
import { main } from '../dist/cli/main.js';
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
  // `kpx run` has stopped everything it started; a lingering socket must not keep it alive.
  if (process.argv[2] === 'run') process.exit(code);
}, (err) => {
  process.stderr.write(`kpx: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
});
