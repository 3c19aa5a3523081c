/**
 * `kpx explain`: manifests → model → one backend's ruleset → packet tracer → the path and
 * every possible outcome (text or the contract's JSON). The ruleset is rendered exactly
 * as `kpx render` renders it (`tracerFor`), so what is explained is what is loaded.
 */
import { cidrContains, parseCIDR, parseIP, type ProxyState } from '../model/index.js';
import { renderIptablesFamilies } from '../render/iptables/index.js';
import { renderIpvsFamilies } from '../render/ipvs/index.js';
import type { IpvsScheduler } from '../render/ipvs/types.js';
import { renderNftables } from '../render/nftables/index.js';
import { TraceInputError, UnknownRuleError, formatTrace, iptablesTracer, ipvsTracer, nftablesTracer, traceJson, type TraceInput, type Tracer } from '../trace/index.js';
import type { Backend, ExplainArgs } from './args.js';
import type { CliIO } from './output.js';
import { EXIT } from './exit.js';
import { loadState } from './pipeline.js';
import { escapeText } from './quote.js';

/** Backends with a tracer, in the order the conformance suite runs them. */
export const TRACED_BACKENDS = ['nftables', 'iptables', 'ipvs'] as const satisfies readonly Backend[];
export type TracedBackend = (typeof TRACED_BACKENDS)[number];

export function isTraced(b: Backend): b is TracedBackend {
  return (TRACED_BACKENDS as readonly string[]).includes(b);
}

/** Render options that change a backend's rules beyond the model (kube-proxy flags). */
export interface BackendOptions {
  readonly ipvsScheduler?: IpvsScheduler;
}

/** The backend's ruleset for `state`, rendered as `kpx render` does, behind its tracer. */
export const tracerFor: Record<TracedBackend, (state: ProxyState, options?: BackendOptions) => Tracer> = {
  nftables: (state) => nftablesTracer(renderNftables(state)),
  iptables: (state) => iptablesTracer(renderIptablesFamilies(state)),
  ipvs: (state, options = {}) =>
    ipvsTracer(renderIpvsFamilies(state, options.ipvsScheduler !== undefined ? { scheduler: options.ipvsScheduler } : {})),
};

/**
 * Addresses the backend's rules bind on the node beyond its Node object's (IPVS: the
 * service addresses on kube-ipvs0). They are the node's own: a source among them is
 * locally generated, and an unbound socket's connection to one comes from it.
 */
export const boundAddresses: Record<TracedBackend, (state: ProxyState) => readonly string[]> = {
  nftables: () => [],
  iptables: () => [],
  ipvs: (state) => renderIpvsFamilies(state).families.flatMap((f) => f.addresses),
};

/** The node's addresses from its Node object (both families). */
export function nodeAddresses(state: ProxyState): string[] {
  return [...state.ipv4.nodeIPs, ...state.ipv6.nodeIPs];
}

/**
 * How the packet enters: from one of the node's addresses (or one the backend binds,
 * `bound`) it is locally generated; otherwise it arrives, from a pod when the source is in
 * a cluster CIDR.
 */
export function originFor(state: ProxyState, src: string, bound: readonly string[] = []): TraceInput['origin'] {
  const ip = parseIP(src);
  if (ip === undefined) return 'external';
  if ([...nodeAddresses(state), ...bound].some((a) => parseIP(a)?.text === ip.text)) return 'local';
  const fs = ip.family === 'ipv4' ? state.ipv4 : state.ipv6;
  const inPods = fs.clusterCIDRs.some((c) => { const p = parseCIDR(c); return p !== undefined && cidrContains(p, ip); });
  return inPods ? 'pod' : 'external';
}

export async function explainCommand(args: ExplainArgs, io: CliIO): Promise<number> {
  if (!isTraced(args.backend)) {
    io.stderr(`kpx: explain has no tracer for backend ${args.backend} yet (available: ${TRACED_BACKENDS.join(', ')})\n`);
    return EXIT.usage;
  }
  const loaded = await loadState(args, io, 'explaining');
  if (!loaded.ok) return loaded.code;
  const { state } = loaded;
  const input: TraceInput = {
    src: args.src,
    dst: args.dst,
    dport: args.dport,
    proto: args.proto,
    origin: originFor(state, args.src, boundAddresses[args.backend](state)),
    localAddresses: nodeAddresses(state),
  };
  let result;
  try {
    result = tracerFor[args.backend](state, args).trace(input);
  } catch (err) {
    if (err instanceof TraceInputError) {
      io.stderr(`kpx: ${escapeText(err.message)}\n`);
      return EXIT.usage;
    }
    // A rule shape (or IPVS scheduler) the tracer does not model: say so, no stack.
    if (err instanceof UnknownRuleError) {
      io.stderr(`kpx: cannot explain this ruleset: ${escapeText(err.message)}\n`);
      return EXIT.input;
    }
    throw err;
  }
  io.stdout(args.output === 'json' ? `${JSON.stringify(traceJson(result), null, 2)}\n` : formatTrace(input, result));
  return EXIT.ok;
}
