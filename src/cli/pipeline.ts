/**
 * The front half every command shares: `-f` manifests, or the live cluster without
 * `-f`, → the model's ProxyState, with every note and problem reported on stderr.
 * `kpx render`, `kpx explain` and the conformance tests use it.
 */
import { hostname } from 'node:os';
import { buildProxyState, defaultNodePortAddresses, OptionsError, type BuildResult, type ProxyOptions, type ProxyState } from '../model/index.js';
import type { ClusterSnapshot } from '../model/snapshot.js';
import { LiveReadError, readLiveSnapshot } from '../watch/index.js';
import type { RenderArgs } from './args.js';
import { parseManifests, readManifestSources, selectNode } from './manifests.js';
import { formatNote, formatProblem, type CliIO } from './output.js';

/** The options of RenderArgs the model needs (explain and render share them). */
export type StateArgs = Pick<
  RenderArgs, 'backend' | 'files' | 'nodeName' | 'clusterCIDRs' | 'nodePortAddresses' | 'serviceCIDRs' | 'masqueradeAll' | 'masqueradeBit' | 'kubeconfig'
>;

export type LoadResult =
  | { readonly ok: true; readonly state: ProxyState; readonly nodeName: string }
  /** Exit code: 1 nothing could be read, 2 usage error (bad options). */
  | { readonly ok: false; readonly code: 1 | 2 };

/** Reads the manifests and builds the state; effects: file reads and stderr only. */
export async function loadState(args: StateArgs, io: CliIO, verb = 'rendering'): Promise<LoadResult> {
  const input = args.files.length > 0 ? await readFiles(args, io, verb) : await readLive(args, io, verb);
  if (!input.ok) return input;
  const { snapshot, nodeName } = input;

  const options: ProxyOptions = {
    nodeName,
    clusterCIDRs: args.clusterCIDRs,
    serviceCIDRs: args.serviceCIDRs,
    masqueradeAll: args.masqueradeAll,
    // kube-proxy's default differs per mode: nftables `primary`, iptables and IPVS `all`.
    nodePortAddresses: args.nodePortAddresses.length > 0 ? args.nodePortAddresses : defaultNodePortAddresses(args.backend),
    ...(args.masqueradeBit !== undefined ? { masqueradeBit: args.masqueradeBit } : {}),
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

type Input = { readonly ok: true; readonly snapshot: ClusterSnapshot; readonly nodeName: string } | { readonly ok: false; readonly code: 1 | 2 };

/** kube-proxy's default for --hostname-override: the host name, lower-cased. */
function defaultNodeName(io: CliIO, verb: string): string {
  const name = (io.hostname ?? hostname)().toLowerCase();
  io.stderr(`kpx: ${verb} for node "${name}" (the host name)\n`);
  return name;
}

/** `-f` manifests: files, directories or stdin. */
async function readFiles(args: StateArgs, io: CliIO, verb: string): Promise<Input> {
  const read = await readManifestSources(args.files, io.readStdin);
  const set = parseManifests(read.sources);
  for (const note of [...read.notes, ...set.notes]) io.stderr(formatNote(note));
  if (set.objectsRead === 0) {
    io.stderr('kpx: nothing could be read: no Service, EndpointSlice or Node object in the input\n');
    return { ok: false, code: 1 };
  }
  const choice = selectNode(set.nodes, args.nodeName);
  for (const note of choice.notes) io.stderr(formatNote(note));
  const nodeName = choice.nodeName ?? defaultNodeName(io, verb);
  const snapshot: ClusterSnapshot = {
    services: set.services,
    endpointSlices: set.endpointSlices,
    ...(choice.node !== undefined ? { node: choice.node } : {}),
  };
  return { ok: true, snapshot, nodeName };
}

/** No `-f`: one list of the live cluster through the watch layer's sources. */
async function readLive(args: StateArgs, io: CliIO, verb: string): Promise<Input> {
  const nodeName = args.nodeName ?? defaultNodeName(io, verb);
  try {
    const snapshot = await readLiveSnapshot({ nodeName, ...(args.kubeconfig !== undefined ? { kubeconfig: args.kubeconfig } : {}) });
    return { ok: true, snapshot, nodeName };
  } catch (err) {
    if (err instanceof LiveReadError) {
      io.stderr(`kpx: ${err.message}\n`);
      return { ok: false, code: 1 };
    }
    throw err;
  }
}
