/**
 * The backend-independent part of tracing: the kernel's hook order for the first packet
 * of a new connection, random choices as weighted "worlds", and outcomes.
 *
 * A world is one possible history of the packet (probability, connection state, steps
 * taken). A backend contributes `HookEntry`s (base chains with hook, type and priority)
 * whose `run` maps one world to the worlds that leave the chain, each with the chain's
 * verdict. The engine walks the hooks in kernel order:
 *
 *   arriving: prerouting → routing → input (destination is a node address)
 *                                  └→ forward → postrouting
 *   local:    routing → output → (re-routing after DNAT) → postrouting
 *                                  └→ destination local: loopback → prerouting → input
 *
 * Within a hook, entries run in priority order (lower first). A `nat` entry runs once
 * per connection and manipulation (kernel nf_nat: prerouting/output set up the
 * destination mapping, input/postrouting the source mapping; a chain that does not NAT
 * leaves a null binding), so on loopback the prerouting nat chains are skipped.
 *
 * IPVS fits the same shape: its hooks are entries at LOCAL_IN/LOCAL_OUT/FORWARD with the
 * kernel's IPVS priorities, and the addresses bound to kube-ipvs0 are extra local
 * addresses (`TraceProgram.localAddresses`).
 */
import { compareIPs, type IPFamily, type Protocol } from '../model/index.js';
import { canonicalIP, hostPort, isLocal } from './addr.js';
import {
  TraceInputError, type Hook, type Outcome, type PathBranch, type PathStep, type TraceInput, type TraceResult,
} from './types.js';

/** The connection as the rules see it now. */
export interface Conn {
  readonly family: IPFamily;
  readonly proto: Protocol;
  readonly saddr: string;
  /** Current destination (after DNAT, the endpoint). */
  readonly daddr: string;
  readonly dport: number;
  readonly mark: number;
  readonly dnat?: { readonly addr: string; readonly port: number };
  readonly masquerade: boolean;
  /** nf_nat's "already set up" per manipulation. */
  readonly natDone: { readonly dst: boolean; readonly src: boolean };
  /** ClientIP affinity recorded the client. */
  readonly sticky: boolean;
  /** A rule accepted the packet explicitly (iptables ACCEPT targets, nft accept). */
  readonly accepted: boolean;
  readonly origin: TraceInput['origin'];
  readonly local: ReadonlySet<string>;
}

/** An internal step: a random choice, turned into a `branch` step by `pathTree`. */
interface ChoiceStep {
  readonly kind: 'choice';
  readonly group: string;
  readonly label: string;
  readonly probability: number;
}

type Step = PathStep | ChoiceStep;

export interface World {
  readonly p: number;
  readonly conn: Conn;
  readonly steps: readonly Step[];
  /** Set once the packet is gone. */
  readonly end?: 'drop' | 'reject';
}

export type ChainVerdict = 'accept' | 'drop' | 'reject';

export interface ChainExit {
  readonly world: World;
  readonly verdict: ChainVerdict;
}

export interface HookEntry {
  readonly hook: Hook;
  readonly priority: number;
  readonly type: 'filter' | 'nat';
  /** Table (nft `ip kube-proxy`, iptables `nat`) and chain, for the path. */
  readonly table: string;
  readonly chain: string;
  run(world: World): ChainExit[];
}

/** What one backend's ruleset contributes for one family. */
export interface TraceProgram {
  readonly entries: readonly HookEntry[];
  /** Addresses the ruleset makes local beyond the node's (IPVS: kube-ipvs0). */
  readonly localAddresses?: readonly string[];
}

export function addStep(w: World, s: PathStep): World {
  return { ...w, steps: [...w.steps, s] };
}

export function withConn(w: World, patch: Partial<Conn>): World {
  return { ...w, conn: { ...w.conn, ...patch } };
}

/**
 * Splits a world by a random choice. `choices` are conditional probabilities summing to
 * 1; zero-probability choices are left out, and a certain one adds no branch.
 */
export function fork<T>(w: World, group: string, choices: readonly { label: string; p: number; value: T }[]): { world: World; value: T }[] {
  const live = choices.filter((c) => c.p > 0);
  if (live.length === 1 && live[0] !== undefined && live[0].p >= 1 - 1e-12) return [{ world: w, value: live[0].value }];
  return live.map((c) => ({
    world: { ...w, p: w.p * c.p, steps: [...w.steps, { kind: 'choice', group, label: c.label, probability: c.p }] },
    value: c.value,
  }));
}

/** `n` uniform choices 0…n-1. */
export function forkUniform(w: World, group: string, n: number, label: (i: number) => string): { world: World; value: number }[] {
  return fork(w, group, Array.from({ length: n }, (_, i) => ({ label: label(i), p: 1 / n, value: i })));
}

const MANIP: Record<Hook, 'dst' | 'src'> = { prerouting: 'dst', output: 'dst', input: 'src', postrouting: 'src', forward: 'src' };

/**
 * Runs a hook's entries in priority order over the worlds (a `nat` entry once per
 * connection and manipulation). Worlds that end here come back with `end` set. IPVS uses
 * it too, for the packet it re-injects at LOCAL_OUT.
 */
export function runHook(worlds: readonly World[], hook: Hook, entries: readonly HookEntry[]): World[] {
  let out = [...worlds];
  const chains = entries.filter((e) => e.hook === hook).sort((a, b) => a.priority - b.priority);
  for (const entry of chains) {
    const next: World[] = [];
    for (const w of out) {
      if (w.end !== undefined) { next.push(w); continue; }
      if (entry.type === 'nat' && hook !== 'forward' && w.conn.natDone[MANIP[hook]]) { next.push(w); continue; }
      {
        const started = addStep(w, {
          kind: 'hook', hook, table: entry.table, chain: entry.chain, type: entry.type, priority: entry.priority,
          text: `${hook} hook: ${entry.table} ${entry.chain} (${entry.type}, priority ${entry.priority})`,
        });
        for (const exit of entry.run(started)) {
          let r = exit.world;
          if (entry.type === 'nat' && hook !== 'forward') {
            r = withConn(r, { natDone: { ...r.conn.natDone, [MANIP[hook]]: true } });
          }
          next.push(exit.verdict === 'accept' ? r : { ...r, end: exit.verdict });
        }
      }
    }
    out = next;
  }
  return out;
}

function alive(ws: readonly World[]): World[] {
  return ws.filter((w) => w.end === undefined);
}

function route(w: World, why: string, local: string, remote: string): { world: World; local: boolean } {
  const isLocalDst = isLocal(w.conn.daddr, w.conn.local);
  const text = isLocalDst
    ? `${why}: ${w.conn.daddr} is a local address → ${local}`
    : `${why}: ${w.conn.daddr} is not a local address → ${remote}`;
  return { world: addStep(w, { kind: 'route', text }), local: isLocalDst };
}

function walk(start: World, entries: readonly HookEntry[]): World[] {
  const done: World[] = [];
  if (start.conn.origin !== 'local') {
    const pre = runHook([start], 'prerouting', entries);
    done.push(...pre.filter((w) => w.end !== undefined));
    for (const w0 of alive(pre)) {
      const r = route(w0, 'routing', 'input (delivered on the node)', 'forward');
      if (r.local) {
        done.push(...runHook([r.world], 'input', entries));
      } else {
        const fwd = runHook([r.world], 'forward', entries);
        done.push(...runHook(fwd, 'postrouting', entries));
      }
    }
    return done;
  }
  const first = route(start, 'routing (locally generated)', 'loopback', 'out').world;
  const out = runHook([first], 'output', entries);
  done.push(...out.filter((w) => w.end !== undefined));
  for (const w0 of alive(out)) {
    const w1 = w0.conn.dnat !== undefined ? route(w0, 're-routing after DNAT', 'loopback', 'out').world : w0;
    const post = runHook([w1], 'postrouting', entries);
    for (const w2 of post) {
      if (w2.end !== undefined || !isLocal(w2.conn.daddr, w2.conn.local)) { done.push(w2); continue; }
      const lo = addStep(w2, { kind: 'route', text: `loopback: back in through prerouting to input` });
      done.push(...runHook(runHook([lo], 'prerouting', entries), 'input', entries));
    }
  }
  return done;
}

/** Builds the path tree: steps shared by all worlds, then a `branch` step per choice. */
function pathTree(worlds: readonly World[], from: number): PathStep[] {
  const out: PathStep[] = [];
  let i = from;
  for (;;) {
    const at = worlds.map((w) => w.steps[i]);
    const first = at[0];
    if (first === undefined) return out;
    if (at.every((s) => s === first)) {
      if (first.kind === 'choice') throw new Error('internal: a choice shared by every world');
      out.push(first);
      i++;
      continue;
    }
    const groups = new Map<Step | undefined, World[]>();
    for (const w of worlds) {
      const s = w.steps[i];
      groups.set(s, [...(groups.get(s) ?? []), w]);
    }
    const branches: PathBranch[] = [];
    let group = '';
    for (const [s, ws] of groups) {
      if (s === undefined || s.kind !== 'choice') throw new Error('internal: worlds diverge without a choice');
      group = s.group;
      branches.push({ label: s.label, probability: s.probability, path: pathTree(ws, i + 1) });
    }
    out.push({ kind: 'branch', text: group, branches });
    return out;
  }
}

function outcomeOf(w: World): Omit<Outcome, 'probability'> {
  const c = w.conn;
  if (w.end !== undefined) return { verdict: w.end, masquerade: false, sticky: c.sticky };
  if (c.dnat !== undefined) {
    return { verdict: 'dnat', endpoint: hostPort(c.dnat.addr, c.dnat.port), masquerade: c.masquerade, sticky: c.sticky };
  }
  return { verdict: c.accepted ? 'accept' : 'none', masquerade: c.masquerade, sticky: c.sticky };
}

const VERDICT_ORDER: Record<Outcome['verdict'], number> = { dnat: 0, reject: 1, drop: 2, accept: 3, none: 4 };

function compareEndpoints(a: string, b: string): number {
  const split = (s: string): [string, number] => {
    const i = s.lastIndexOf(':');
    return [s.slice(0, i).replace(/^\[|\]$/g, ''), Number(s.slice(i + 1))];
  };
  const [ia, pa] = split(a);
  const [ib, pb] = split(b);
  return compareIPs(ia, ib) || pa - pb;
}

export function mergeOutcomes(worlds: readonly World[]): Outcome[] {
  const merged = new Map<string, Outcome>();
  for (const w of worlds) {
    const o = outcomeOf(w);
    const key = `${o.verdict} ${o.endpoint ?? ''} ${o.masquerade} ${o.sticky}`;
    const prev = merged.get(key);
    merged.set(key, { ...o, probability: (prev?.probability ?? 0) + w.p });
  }
  return [...merged.values()].sort((a, b) =>
    VERDICT_ORDER[a.verdict] - VERDICT_ORDER[b.verdict]
    || compareEndpoints(a.endpoint ?? '0.0.0.0:0', b.endpoint ?? '0.0.0.0:0')
    || Number(a.masquerade) - Number(b.masquerade));
}

/** Validates the input and returns the packet's family and canonical addresses. */
export function normaliseInput(input: TraceInput): { family: IPFamily; src: string; dst: string } {
  const src = canonicalIP(input.src, 'source');
  const dst = canonicalIP(input.dst, 'destination');
  const family: IPFamily = dst.includes(':') ? 'ipv6' : 'ipv4';
  if ((src.includes(':') ? 'ipv6' : 'ipv4') !== family) {
    throw new TraceInputError(`source ${src} and destination ${dst} are of different IP families`);
  }
  if (!Number.isInteger(input.dport) || input.dport < 1 || input.dport > 65535) {
    throw new TraceInputError(`destination port must be 1..65535, got ${input.dport}`);
  }
  return { family, src, dst };
}

/** Runs one trace: `program(family)` gives the backend's hook entries for the packet's family. */
export function runTrace(backend: string, input: TraceInput, program: (family: IPFamily) => TraceProgram): TraceResult {
  const { family, src, dst } = normaliseInput(input);
  const p = program(family);
  const local = new Set<string>();
  for (const a of [...input.localAddresses, ...(p.localAddresses ?? [])]) local.add(canonicalIP(a, 'local address'));
  const start: World = {
    p: 1,
    steps: [],
    conn: {
      family, proto: input.proto, saddr: src, daddr: dst, dport: input.dport, mark: 0, masquerade: false,
      natDone: { dst: false, src: false }, sticky: false, accepted: false, origin: input.origin, local,
    },
  };
  const worlds = walk(start, p.entries);
  return { backend, family, outcomes: mergeOutcomes(worlds), path: pathTree(worlds, 0) };
}
