// One measurement for bench/manifests.mjs, in its own process:
//   node bench/manifests-child.mjs read|render FILE
// prints {"seconds", "cpuSeconds", "maxRssMB", "objects"} as its last line (CPU time
// includes start-up; on a shared machine it is the steadier figure).
import { performance } from 'node:perf_hooks';

const [step, file] = process.argv.slice(2);
const start = performance.now();
let objects = 0;
if (step === 'read') {
  const { parseManifests, readManifestSources } = await import('../dist/cli/manifests.js');
  const read = await readManifestSources([file]);
  const set = parseManifests(read.sources);
  objects = set.objectsRead;
} else {
  const { main } = await import('../dist/cli/main.js');
  let bytes = 0;
  const code = await main(['render', '--backend', 'nftables', '-f', file, '--node-name', 'node-0'], {
    stdout: (t) => { bytes += t.length; },
    stderr: () => {},
  });
  if (code !== 0) throw new Error(`kpx render exited ${code}`);
  objects = bytes;
}
const seconds = (performance.now() - start) / 1000;
const cpu = process.cpuUsage();
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
console.log(JSON.stringify({ seconds, cpuSeconds, maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024), objects }));
