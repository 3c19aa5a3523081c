/**
 * The front half every command shares: `-f` manifests → the model's ProxyState, with
 * every note and problem reported on stderr exactly as `kpx render` reports them.
 * `kpx explain` and the conformance tests use it; render.ts has the same steps inline
 * (it can call `loadState` once the ipvs backend work on it has landed).
 */
import { hostname } from 'node:os';
import { buildProxyState, OptionsError, type BuildResult, type ProxyOptions, type ProxyState } from '../model/index.js';
import type { RenderArgs } from './args.js';
import { parseManifests, readManifestSources, selectNode } from './manifests.js';
import { formatNote, formatProblem, type CliIO } from './output.js';

/** The options of RenderArgs the model needs (explain and render share them). */
export type StateArgs = Pick<
  RenderArgs, 'files' | 'nodeName' | 'clusterCIDRs' | 'nodePortAddresses' | 'serviceCIDRs' | 'masqueradeAll' | 'masqueradeBit'
>;

export type LoadResult =
  | { readonly ok: true; readonly state: ProxyState; readonly nodeName: string }
  /** Exit code: 1 nothing could be read, 2 usage error (bad options, no -f). */
  | { readonly ok: false; readonly code: 1 | 2 };

/** Reads the manifests and builds the state; effects: file reads and stderr only. */
export async function loadState(args: StateArgs, io: CliIO, verb = 'rendering'): Promise<LoadResult> {
  if (args.files.length === 0) {
    io.stderr('kpx: reading the live cluster is not implemented yet; give manifests with -f FILE|DIR\n');
    return { ok: false, code: 2 };
  }
  const read = await readManifestSources(args.files, io.readStdin);
  const set = parseManifests(read.sources);
  for (const note of [...read.notes, ...set.notes]) io.stderr(formatNote(note));
  if (set.objectsRead === 0) {
    io.stderr('kpx: nothing could be read: no Service, EndpointSlice or Node object in the input\n');
    return { ok: false, code: 1 };
  }

  const choice = selectNode(set.nodes, args.nodeName);
  for (const note of choice.notes) io.stderr(formatNote(note));
  let nodeName = choice.nodeName;
  if (nodeName === undefined) {
    // kube-proxy's default for --hostname-override.
    nodeName = (io.hostname ?? hostname)().toLowerCase();
    io.stderr(`kpx: ${verb} for node "${nodeName}" (the host name)\n`);
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
      return { ok: false, code: 2 };
    }
    throw err;
  }
  for (const problem of built.problems) {
    // ExternalName, headless and other proxies' Services are not errors: say nothing.
    if (problem.effect !== 'not-proxied') io.stderr(formatProblem(problem));
  }
  return { ok: true, state: built.state, nodeName };
}
