/**
 * `kpx render`: manifests (or, later, the live cluster) → model → one backend's
 * ruleset, printed or written to --out. Effects stay here; the deciding is done by the
 * pure parts (manifests.ts, src/model, src/render).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { buildProxyState, OptionsError, type BuildResult, type ProxyOptions } from '../model/index.js';
import { renderNftables, toNftScript } from '../render/nftables/index.js';
import { IPTABLES_OUT_FILES, renderIptablesFamilies, toIptablesOutput, toIptablesRestore } from '../render/iptables/index.js';
import type { RenderArgs } from './args.js';
import { parseManifests, readManifestSources, selectNode } from './manifests.js';
import { formatNote, formatProblem, type CliIO } from './output.js';

/** File written by `--out DIR` for the nftables backend. */
export const NFTABLES_OUT_FILE = 'kube-proxy.nft';

export async function renderCommand(args: RenderArgs, io: CliIO): Promise<number> {
  if (args.backend === 'ipvs') {
    io.stderr(`kpx: backend ${args.backend} is not implemented yet\n`);
    return 2;
  }
  if (args.files.length === 0) {
    io.stderr('kpx: reading the live cluster is not implemented yet; give manifests with -f FILE|DIR\n');
    return 2;
  }

  const read = await readManifestSources(args.files, io.readStdin);
  const set = parseManifests(read.sources);
  for (const note of [...read.notes, ...set.notes]) io.stderr(formatNote(note));
  if (set.objectsRead === 0) {
    io.stderr('kpx: nothing could be read: no Service, EndpointSlice or Node object in the input\n');
    return 1;
  }

  const choice = selectNode(set.nodes, args.nodeName);
  for (const note of choice.notes) io.stderr(formatNote(note));
  let nodeName = choice.nodeName;
  if (nodeName === undefined) {
    // kube-proxy's default for --hostname-override.
    nodeName = (io.hostname ?? hostname)().toLowerCase();
    io.stderr(`kpx: rendering for node "${nodeName}" (the host name)\n`);
  }

  const options: ProxyOptions = {
    nodeName,
    clusterCIDRs: args.clusterCIDRs,
    serviceCIDRs: args.serviceCIDRs,
    masqueradeAll: args.masqueradeAll,
    ...(args.nodePortAddresses.length > 0 ? { nodePortAddresses: args.nodePortAddresses } : {}),
    ...(args.masqueradeBit !== undefined ? { masqueradeBit: args.masqueradeBit } : {}),
  };
  const snapshot = {
    services: set.services,
    endpointSlices: set.endpointSlices,
    ...(choice.node !== undefined ? { node: choice.node } : {}),
  };
  let built: BuildResult;
  try {
    built = buildProxyState(snapshot, options);
  } catch (err) {
    // The operator's options, not the cluster's objects, are wrong: a usage error.
    if (err instanceof OptionsError) {
      io.stderr(`kpx: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const { state, problems } = built;
  for (const problem of problems) {
    // ExternalName, headless and other proxies' Services are not errors: say nothing.
    if (problem.effect !== 'not-proxied') io.stderr(formatProblem(problem));
  }

  if (args.backend === 'iptables') {
    const rulesets = renderIptablesFamilies(state);
    if (args.out === undefined) {
      io.stdout(toIptablesOutput(rulesets));
      return 0;
    }
    await mkdir(args.out, { recursive: true });
    for (const r of rulesets) {
      const file = join(args.out, IPTABLES_OUT_FILES[r.family]);
      await writeFile(file, toIptablesRestore(r));
      io.stderr(`kpx: wrote ${file}\n`);
    }
    return 0;
  }

  const script = toNftScript(renderNftables(state));
  if (args.out !== undefined) {
    await mkdir(args.out, { recursive: true });
    const file = join(args.out, NFTABLES_OUT_FILE);
    await writeFile(file, script);
    io.stderr(`kpx: wrote ${file}\n`);
  } else {
    io.stdout(script);
  }
  return 0;
}
