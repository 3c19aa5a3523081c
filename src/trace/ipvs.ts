/**
 * Tracer over the IPVS backend's typed ruleset (src/render/ipvs/types.ts): the iptables
 * glue (with ipset membership), IPVS itself, and the addresses bound on kube-ipvs0.
 *
 * Kernel semantics modelled, for the first packet of a new connection:
 * - the glue's built-in chains at iptables' priorities (nat PREROUTING/OUTPUT -100,
 *   filter 0, nat POSTROUTING 100), walked by xtables.ts as iptables.ts's chains are,
 *   over the glue's vocabulary (ipvs-glue.ts: `-m set` over the ipsets of ipset.ts,
 *   `-m ipvs`, `-m physdev ! --physdev-is-in`, …);
 * - IPVS's request hooks: LOCAL_IN at priority 99 (NF_IP_PRI_NAT_SRC - 1: after filter
 *   INPUT, so KUBE-IPVS-FILTER and the firewall drops come first) for arriving packets
 *   routed to a local address (a node IP or one bound on kube-ipvs0), and LOCAL_OUT at
 *   -98 (NF_IP_PRI_NAT_DST + 2: after nat OUTPUT) for the node's own. A packet whose
 *   (protocol, destination, port) is a virtual server is scheduled: rr over the real
 *   servers with weight > 0 (uniform over connections), wrr by weight; persistence
 *   (`-p`, ClientIP affinity) makes the outcome sticky; no real server: IPVS answers
 *   ICMP port unreachable (reject). Other schedulers depend on live load or on a hash of
 *   the addresses: UnknownRuleError.
 * - Masquerading forwarding (`-m`): IPVS rewrites the destination and re-injects the
 *   packet at LOCAL_OUT (marked ipvs_property, so IPVS and the already-bound nat
 *   OUTPUT leave it alone): filter OUTPUT (KUBE-IPVS-OUT-FILTER) and then POSTROUTING,
 *   where KUBE-POSTROUTING masquerades marked and hairpin (KUBE-LOOP-BACK) packets; the
 *   glue's entries run there through engine.ts's `runHook`. A real server that is a
 *   local address is delivered locally instead.
 *
 * Which source the node's own connection has is the caller's: an unbound socket gets a
 * local destination's own address (e.g. the VIP on kube-ipvs0), and the trace says so
 * when the given source differs.
 *
 * Anything else throws UnknownRuleError.
 */
import type { IPFamily, Protocol } from '../model/types.js';
import { formatVirtualServer, ipvsAddress } from '../render/ipvs/format.js';
import type { IpvsFamilyRuleset, IpvsRuleset, RealServer, VirtualServer } from '../render/ipvs/types.js';
import { canonicalIP, hostPort, isLocal } from './addr.js';
import { addStep, fork, runHook, runTrace, withConn, type ChainExit, type HookEntry, type TraceProgram, type World } from './engine.js';
import { parseSet, type ParsedSet } from './ipset.js';
import { GLUE, forwardedBy, markScheduled } from './ipvs-glue.js';
import { UnknownRuleError, unknownShape, type PathStep, type TraceInput, type TraceResult, type Tracer } from './types.js';
import { xtablesEntries } from './xtables.js';

function unknown(what: string, value: unknown): never {
  return unknownShape('ipvs', what, value);
}

/** IPVS's request hooks (net/netfilter/ipvs/ip_vs_core.c, ip_vs_ops4/6). */
const IPVS_HOOKS = {
  input: { priority: 99, chain: 'ip_vs_remote_request (LOCAL_IN)' },
  output: { priority: -98, chain: 'ip_vs_local_request (LOCAL_OUT)' },
} as const;

const IPVS_TABLE = 'IPVS';

const vsKey = (proto: Protocol, addr: string, port: number): string => `${proto} ${addr} ${port}`;

const PROTO_NAME: Record<Protocol, string> = { tcp: 'TCP', udp: 'UDP', sctp: 'SCTP' };

/**
 * The scheduler's choice for a new connection from a fresh client: rr takes the next
 * real server each time (uniform over connections), wrr in proportion to the weights.
 */
function schedule(vs: VirtualServer): { rs: RealServer; p: number }[] {
  const live = vs.realServers.filter((rs) => rs.weight > 0);
  switch (vs.scheduler) {
    case 'rr':
      return live.map((rs) => ({ rs, p: 1 / live.length }));
    case 'wrr': {
      const total = live.reduce((s, rs) => s + rs.weight, 0);
      return live.map((rs) => ({ rs, p: rs.weight / total }));
    }
    default:
      throw new UnknownRuleError(`ipvs tracer: scheduler ${vs.scheduler} chooses by live load or a hash of the addresses; the tracer models rr and wrr`);
  }
}

function ipvsEntry(hook: 'input' | 'output', f: IpvsFamilyRuleset, vss: ReadonlyMap<string, VirtualServer>, bound: ReadonlySet<string>, entries: () => readonly HookEntry[]): HookEntry {
  const { priority, chain } = IPVS_HOOKS[hook];
  const note = (w: World, text: string): World => addStep(w, { kind: 'note', text });
  return {
    hook, priority, type: 'filter', table: IPVS_TABLE, chain,
    run: (w0: World): ChainExit[] => {
      let w = w0;
      if (forwardedBy(w) !== undefined) return [{ world: note(w, 'IPVS: already forwarded by IPVS (ipvs_property): not scheduled again'), verdict: 'accept' }];
      const c = w.conn;
      if (hook === 'output' && bound.has(c.daddr) && c.saddr !== c.daddr) {
        w = note(w, `source ${c.saddr} as given (a bound socket); an unbound socket on the node sends from ${c.daddr} itself (a local destination's own address)`);
      }
      const vs = vss.get(vsKey(c.proto, c.daddr, c.dport));
      if (vs === undefined) return [{ world: note(w, `IPVS: no virtual server ${PROTO_NAME[c.proto]} ${ipvsAddress(c.daddr, c.dport)}: the packet passes`), verdict: 'accept' }];
      const [head] = formatVirtualServer(vs);
      const vsStep: PathStep = {
        kind: 'rule', chain: 'IPVS', index: f.virtualServers.indexOf(vs), rule: head ?? '',
        text: `ipvs ${head ?? ''} (${vs.realServers.length} real server${vs.realServers.length === 1 ? '' : 's'})`,
      };
      markScheduled(vsStep, vs);
      w = addStep(w, vsStep);
      const choices = schedule(vs);
      if (choices.length === 0) {
        return [{ world: note(w, 'IPVS: no real server: ICMP port unreachable to the client (connection refused)'), verdict: 'reject' }];
      }
      const group = `IPVS scheduler ${vs.scheduler} over ${choices.length} real server${choices.length === 1 ? '' : 's'}${vs.scheduler === 'rr' ? ' (round robin: each new connection takes the next; uniform over connections)' : ''}`;
      return fork(w, group, choices.map(({ rs, p }) => ({ label: `real server ${hostPort(rs.ip, rs.port)}`, p, value: rs }))).flatMap(({ world, value: rs }): ChainExit[] => {
        const ip = canonicalIP(rs.ip, 'real server');
        let x = addStep(world, { kind: 'rule', chain: 'IPVS', index: vs.realServers.indexOf(rs), rule: `-a -r ${ipvsAddress(rs.ip, rs.port)} -m -w ${rs.weight}`, text: `ipvs masquerading forwarding: DNAT to ${hostPort(ip, rs.port)}` });
        x = withConn(x, { daddr: ip, dport: rs.port, dnat: { addr: ip, port: rs.port } });
        if (vs.persistenceSeconds !== undefined) {
          x = withConn(note(x, `IPVS persistence -p ${vs.persistenceSeconds}: the client is recorded (session affinity: later connections stick to this real server)`), { sticky: true });
        }
        if (hook === 'output' || isLocal(ip, x.conn.local)) return [{ world: x, verdict: 'accept' }];
        // Re-injected at LOCAL_OUT (nat OUTPUT is bound already), then POSTROUTING: the glue's
        // entries only, as IPVS's own skip such packets (ipvs_property).
        x = note(x, 'IPVS re-injects the packet at LOCAL_OUT towards the real server');
        const glue = entries().filter((e) => e.table !== IPVS_TABLE);
        const out = runHook([x], 'output', glue).flatMap((y) =>
          (y.end !== undefined ? [y] : runHook([addStep(y, { kind: 'route', text: `routing to ${ip}: out` })], 'postrouting', glue)));
        return out.map(({ end, ...y }): ChainExit => ({ world: y, verdict: end ?? 'accept' }));
      });
    },
  };
}

export function ipvsProgram(ruleset: IpvsRuleset, family: IPFamily): TraceProgram {
  const f = ruleset.families.find((x) => x.family === family);
  if (f === undefined) return { entries: [] };
  const sets = new Map<string, ParsedSet>();
  for (const s of f.ipsets) {
    if (sets.has(s.name)) unknown('duplicate set', s.name);
    sets.set(s.name, parseSet(s, family));
  }
  const vss = new Map<string, VirtualServer>();
  for (const vs of f.virtualServers) {
    if (vs.family !== family) unknown(`family of virtual server ${vs.address}:${vs.port}`, vs.family);
    const key = vsKey(vs.protocol, canonicalIP(vs.address, 'virtual server'), vs.port);
    if (vss.has(key)) unknown('duplicate virtual server', key);
    vss.set(key, vs);
  }
  const bound = new Set(f.addresses.map((a) => canonicalIP(a, 'kube-ipvs0 address')));
  const entries: HookEntry[] = xtablesEntries(GLUE, family, f.tables, sets);
  // IPVS steals the packet at LOCAL_IN 99: an input chain after it would never see IPVS traffic.
  const late = entries.find((e) => e.hook === 'input' && e.priority > IPVS_HOOKS.input.priority);
  if (late !== undefined) throw new UnknownRuleError(`ipvs tracer: ${late.table} ${late.chain} runs after IPVS on LOCAL_IN; not modelled`);
  entries.push(ipvsEntry('input', f, vss, bound, () => entries), ipvsEntry('output', f, vss, bound, () => entries));
  return { entries, localAddresses: [...bound] };
}

export function ipvsTracer(ruleset: IpvsRuleset): Tracer {
  const programs = new Map<IPFamily, TraceProgram>();
  const program = (family: IPFamily): TraceProgram => {
    let p = programs.get(family);
    if (p === undefined) programs.set(family, (p = ipvsProgram(ruleset, family)));
    return p;
  };
  return {
    backend: 'ipvs',
    trace: (input: TraceInput): TraceResult => runTrace('ipvs', input, program),
  };
}
