/**
 * Tracer over the IPVS backend's typed ruleset (src/render/ipvs/types.ts): the iptables
 * glue (with ipset membership), IPVS itself, and the addresses bound on kube-ipvs0.
 *
 * Kernel semantics modelled, for the first packet of a new connection:
 * - the glue's built-in chains at iptables' priorities (nat PREROUTING/OUTPUT -100,
 *   filter 0, nat POSTROUTING 100), walked as in iptables.ts (jumps, RETURN, ACCEPT ends
 *   the table's traversal of the hook, DROP/REJECT end the packet); every glue match kind:
 *   `-m set` over the five ipset types with their direction flags, `-m addrtype`, `-s/-d`,
 *   `-m mark`, `-m conntrack` (the packet is NEW), `-m physdev ! --physdev-is-in` (the
 *   tracer has no bridge ports: never bridged in), `-m ipvs --vaddr/--vproto/--vport`
 *   (the packet was forwarded by IPVS for that virtual server);
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
 *   where KUBE-POSTROUTING masquerades marked and hairpin (KUBE-LOOP-BACK) packets. A
 *   real server that is a local address is delivered locally instead.
 *
 * Which source the node's own connection has is the caller's: an unbound socket gets a
 * local destination's own address (e.g. the VIP on kube-ipvs0), and the trace says so
 * when the given source differs.
 *
 * Anything else throws UnknownRuleError.
 */
import type { IPFamily, Protocol } from '../model/types.js';
import { cidrContains, parseCIDR, parseIP, type ParsedCIDR } from '../model/ip.js';
import { formatVirtualServer, glueRuleArgs, ipvsAddress } from '../render/ipvs/format.js';
import type {
  GlueChain, GlueMatch, GlueRule, GlueTable, GlueTarget, Ipset, IpsetType, IpvsFamilyRuleset, IpvsRuleset, RealServer, SetFlags, VirtualServer,
} from '../render/ipvs/types.js';
import { addrMatches, canonicalIP, hostPort, isLocal } from './addr.js';
import { addStep, fork, runTrace, withConn, type ChainExit, type HookEntry, type TraceProgram, type World } from './engine.js';
import { UnknownRuleError, type Hook, type PathStep, type TraceInput, type TraceResult, type Tracer } from './types.js';

function unknown(what: string, value: unknown): never {
  throw new UnknownRuleError(`ipvs tracer: unknown ${what}: ${JSON.stringify(value)}`);
}

// ---------------------------------------------------------------------------------------
// ipsets

type Dim = 'ip' | 'port' | 'net';

/** The dimensions of each set type, in entry order (`ip,proto:port,net`). */
const DIMS: Readonly<Record<IpsetType, readonly Dim[]>> = {
  'hash:ip': ['ip'],
  'hash:ip,port': ['ip', 'port'],
  'hash:ip,port,ip': ['ip', 'port', 'ip'],
  'hash:ip,port,net': ['ip', 'port', 'net'],
  'bitmap:port': ['port'],
};

type Elem =
  | { readonly dim: 'ip'; readonly ip: string }
  | { readonly dim: 'port'; readonly proto?: Protocol; readonly from: number; readonly to: number }
  | { readonly dim: 'net'; readonly cidr: ParsedCIDR };

interface ParsedSet {
  readonly set: Ipset;
  readonly dims: readonly Dim[];
  readonly entries: readonly (readonly Elem[])[];
}

const PROTOS: readonly string[] = ['tcp', 'udp', 'sctp'];
const isProtocol = (s: string): s is Protocol => PROTOS.includes(s);

function parsePort(text: string, bitmap: boolean, set: string): Elem {
  // hash sets: `proto:port`; bitmap:port: `port` or `from-to` (protocol-independent).
  const m = bitmap ? /^(\d+)(?:-(\d+))?$/.exec(text) : /^([a-z]+):(\d+)$/.exec(text);
  if (m === null) unknown(`port element in set ${set}`, text);
  if (bitmap) return { dim: 'port', from: Number(m[1]), to: Number(m[2] ?? m[1]) };
  const proto = m[1]!;
  if (!isProtocol(proto)) unknown(`protocol in set ${set}`, text);
  return { dim: 'port', proto, from: Number(m[2]), to: Number(m[2]) };
}

function parseSet(s: Ipset, family: IPFamily): ParsedSet {
  const dims = DIMS[s.type] ?? unknown('ipset type', s.type);
  if (s.type !== 'bitmap:port' && s.family !== family) unknown(`family of set ${s.name} in the ${family} ruleset`, s.family);
  const entries = s.entries.map((e) => {
    const parts = e.split(',');
    if (parts.length !== dims.length) unknown(`element of ${s.type} set ${s.name}`, e);
    return dims.map((d, i): Elem => {
      const part = parts[i]!;
      if (d === 'port') return parsePort(part, s.type === 'bitmap:port', s.name);
      if (d === 'net') {
        const cidr = parseCIDR(part.includes('/') ? part : `${part}/${family === 'ipv6' ? 128 : 32}`);
        if (cidr === undefined || cidr.ip.family !== family) unknown(`net element of set ${s.name}`, e);
        return { dim: 'net', cidr };
      }
      const ip = parseIP(part);
      if (ip === undefined || ip.family !== family) unknown(`address element of set ${s.name}`, e);
      return { dim: 'ip', ip: ip.text };
    });
  });
  return { set: s, dims, entries };
}

/** `-m set --match-set NAME FLAGS`: one direction per dimension (`src`: source address). */
function setContains(ps: ParsedSet, flags: SetFlags, w: World): boolean {
  const dirs = flags.split(',');
  if (dirs.length !== ps.dims.length) {
    throw new UnknownRuleError(`ipvs tracer: --match-set ${ps.set.name} ${flags}: ${dirs.length} directions for a ${ps.dims.length}-dimensional ${ps.set.type} set`);
  }
  const c = w.conn;
  const addr = (dir: string): string => (dir === 'src' ? c.saddr : c.daddr);
  dirs.forEach((dir, i) => {
    if (dir === 'src' && ps.dims[i] === 'port') throw new UnknownRuleError(`ipvs tracer: --match-set ${ps.set.name} ${flags}: source ports are not modelled`);
  });
  return ps.entries.some((entry) => entry.every((el, i) => {
    const dir = dirs[i]!;
    switch (el.dim) {
      case 'ip': return el.ip === addr(dir);
      case 'net': { const ip = parseIP(addr(dir)); return ip !== undefined && cidrContains(el.cidr, ip); }
      case 'port': return (el.proto === undefined || el.proto === c.proto) && c.dport >= el.from && c.dport <= el.to;
    }
  }));
}

// ---------------------------------------------------------------------------------------
// IPVS: which virtual server forwarded a packet (the kernel's ipvs_property + connection)

/**
 * The path step where IPVS scheduled the packet, mapped to its virtual server. Steps are
 * shared by identity between the worlds forked from one (engine.ts relies on that too),
 * so "was this packet forwarded by IPVS, and for which virtual server" is a lookup over
 * the world's steps.
 */
const scheduledAt = new WeakMap<object, VirtualServer>();

function forwardedBy(w: World): VirtualServer | undefined {
  for (let i = w.steps.length - 1; i >= 0; i--) {
    const vs = scheduledAt.get(w.steps[i]!);
    if (vs !== undefined) return vs;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------
// glue: iptables rules over the ipsets

/** Built-in chains: where they hook in and at which priority (as in iptables.ts). */
const BUILTINS: Readonly<Record<'filter' | 'nat', Readonly<Record<string, { hook: Hook; priority: number }>>>> = {
  filter: {
    INPUT: { hook: 'input', priority: 0 },
    FORWARD: { hook: 'forward', priority: 0 },
    OUTPUT: { hook: 'output', priority: 0 },
  },
  nat: {
    PREROUTING: { hook: 'prerouting', priority: -100 },
    INPUT: { hook: 'input', priority: 100 },
    OUTPUT: { hook: 'output', priority: -100 },
    POSTROUTING: { hook: 'postrouting', priority: 100 },
  },
};

const MAX_DEPTH = 32;

interface Ctx {
  readonly family: IPFamily;
  readonly table: GlueTable;
  readonly chains: ReadonlyMap<string, GlueChain>;
  readonly sets: ReadonlyMap<string, ParsedSet>;
  readonly hook: Hook;
}

type Exit = { readonly world: World; readonly exit: 'end' | 'return' | 'ACCEPT' | 'DROP' | 'REJECT' };

function cidrOf(ctx: Ctx, cidr: string): string {
  if (cidr.includes(':') !== (ctx.family === 'ipv6')) throw new UnknownRuleError(`ipvs tracer: ${cidr} in an ${ctx.family} ruleset`);
  return cidr;
}

/** The rule as iptables-save prints it; a printer failure is an unknown shape too. */
function ruleText(chain: string, rule: GlueRule): string {
  let args: string[];
  try {
    args = glueRuleArgs(rule);
  } catch (err) {
    throw new UnknownRuleError(`ipvs tracer: cannot print rule (unknown shape?): ${err instanceof Error ? err.message : String(err)}`);
  }
  return ['-A', chain, ...args].map((a) => (a !== '' && !/[\s"'\\]/.test(a) ? a : JSON.stringify(a))).join(' ');
}

function evalMatch(ctx: Ctx, w: World, m: GlueMatch): boolean {
  switch (m.kind) {
    case 'comment':
      return true;
    case 'protocol':
      if (!isProtocol(m.protocol)) unknown('protocol', m.protocol);
      return w.conn.proto === m.protocol;
    case 'set': {
      const ps = ctx.sets.get(m.name);
      if (ps === undefined) throw new UnknownRuleError(`ipvs tracer: --match-set of a missing set ${m.name}`);
      return setContains(ps, m.flags, w) !== m.negate;
    }
    case 'source':
      return addrMatches(cidrOf(ctx, m.cidr), w.conn.saddr, true) !== m.negate;
    case 'destination':
      return addrMatches(cidrOf(ctx, m.cidr), w.conn.daddr, true) !== m.negate;
    case 'addrtype-local': {
      const addr = m.addr === 'src' ? w.conn.saddr : m.addr === 'dst' ? w.conn.daddr : unknown('addrtype', m.addr);
      return isLocal(addr, w.conn.local) !== m.negate;
    }
    case 'not-physdev-in':
      return true;
    case 'mark':
      return ((w.conn.mark & m.mask) >>> 0 === m.value >>> 0) !== m.negate;
    case 'conntrack':
      for (const s of m.states) if (s !== 'NEW' && s !== 'RELATED' && s !== 'ESTABLISHED') unknown('conntrack state', s);
      return m.states.includes('NEW');
    case 'ipvs': {
      const vs = forwardedBy(w);
      return vs !== undefined && vs.protocol === m.vproto && vs.port === m.vport && canonicalIP(vs.address, 'vaddr') === canonicalIP(m.vaddr, '--vaddr');
    }
    default:
      return unknown('match', m);
  }
}

type Res = 'next' | 'RETURN' | 'ACCEPT' | 'DROP' | 'REJECT' | { readonly jump: string };

function applyTarget(ctx: Ctx, w: World, t: GlueTarget): { world: World; res: Res } {
  const table = ctx.table.name;
  switch (t.kind) {
    case 'jump':
      return { world: w, res: { jump: t.chain } };
    case 'ACCEPT': case 'DROP': case 'RETURN':
      return { world: w, res: t.kind };
    case 'REJECT':
      if (table !== 'filter' || (ctx.hook !== 'input' && ctx.hook !== 'forward' && ctx.hook !== 'output')) {
        throw new UnknownRuleError(`ipvs tracer: REJECT in ${table} on the ${ctx.hook} hook (only filter INPUT/FORWARD/OUTPUT)`);
      }
      return { world: w, res: 'REJECT' };
    case 'mark': {
      const mark = t.op === 'or' ? (w.conn.mark | t.mark) >>> 0 : t.op === 'xor' ? (w.conn.mark ^ t.mark) >>> 0 : unknown('mark op', t.op);
      return { world: withConn(w, { mark }), res: 'next' };
    }
    case 'MASQUERADE':
      if (table !== 'nat' || ctx.hook !== 'postrouting') throw new UnknownRuleError('ipvs tracer: MASQUERADE outside nat POSTROUTING');
      return { world: withConn(w, { masquerade: true }), res: 'ACCEPT' };
    default:
      return unknown('target', t);
  }
}

/** The glue has no random matches: one packet takes exactly one way through a chain. */
function runChain(ctx: Ctx, w0: World, chain: GlueChain, depth: number): Exit {
  if (depth > MAX_DEPTH) throw new UnknownRuleError(`ipvs tracer: chains nested deeper than ${MAX_DEPTH} at ${chain.name}`);
  let w = w0;
  for (const [index, rule] of chain.rules.entries()) {
    if (!rule.matches.every((m) => evalMatch(ctx, w, m))) continue;
    const text = ruleText(chain.name, rule);
    const { world, res } = applyTarget(ctx, addStep(w, { kind: 'rule', chain: chain.name, index, rule: text, text: `${ctx.table.name} ${text}` }), rule.target);
    w = world;
    if (res === 'next') continue;
    if (res === 'RETURN') return { world: w, exit: 'return' };
    if (typeof res === 'string') return { world: w, exit: res };
    const target = ctx.chains.get(res.jump);
    if (target === undefined) throw new UnknownRuleError(`ipvs tracer: jump to a missing chain ${res.jump} in ${ctx.table.name}`);
    if (target.builtin) throw new UnknownRuleError(`ipvs tracer: jump to built-in chain ${res.jump}`);
    const sub = runChain(ctx, w, target, depth + 1);
    if (sub.exit !== 'end' && sub.exit !== 'return') return sub;
    w = sub.world;
  }
  return { world: w, exit: 'end' };
}

function glueEntry(ctx: Omit<Ctx, 'hook'>, chain: GlueChain): HookEntry {
  const at = BUILTINS[ctx.table.name]?.[chain.name] ?? unknown(`built-in chain of ${ctx.table.name}`, chain.name);
  const full: Ctx = { ...ctx, hook: at.hook };
  return {
    hook: at.hook, priority: at.priority, type: ctx.table.name === 'nat' ? 'nat' : 'filter',
    table: `${ctx.family === 'ipv4' ? 'iptables' : 'ip6tables'} ${ctx.table.name}`, chain: chain.name,
    run: (w: World): ChainExit[] => {
      const e = runChain(full, w, chain, 0);
      switch (e.exit) {
        case 'end': case 'return': return [{ world: e.world, verdict: 'accept' }];
        case 'ACCEPT': return [{ world: ctx.table.name === 'filter' ? withConn(e.world, { accepted: true }) : e.world, verdict: 'accept' }];
        case 'DROP': return [{ world: e.world, verdict: 'drop' }];
        case 'REJECT': return [{ world: e.world, verdict: 'reject' }];
      }
    },
  };
}

// ---------------------------------------------------------------------------------------
// IPVS itself

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

/**
 * Runs one hook's glue entries on a packet IPVS re-injected, as the engine runs a hook
 * (nat once per manipulation); IPVS's own hooks skip such packets (ipvs_property).
 */
function runHookInline(w: World, hook: 'output' | 'postrouting', entries: readonly HookEntry[]): World[] {
  const manip = hook === 'output' ? 'dst' : 'src';
  let worlds = [w];
  for (const e of entries.filter((x) => x.hook === hook && x.table !== IPVS_TABLE).sort((a, b) => a.priority - b.priority)) {
    worlds = worlds.flatMap((x): World[] => {
      if (x.end !== undefined || (e.type === 'nat' && x.conn.natDone[manip])) return [x];
      const started = addStep(x, {
        kind: 'hook', hook, table: e.table, chain: e.chain, type: e.type, priority: e.priority,
        text: `${hook} hook: ${e.table} ${e.chain} (${e.type}, priority ${e.priority})`,
      });
      return e.run(started).map(({ world, verdict }) => {
        const r = e.type === 'nat' ? withConn(world, { natDone: { ...world.conn.natDone, [manip]: true } }) : world;
        return verdict === 'accept' ? r : { ...r, end: verdict };
      });
    });
  }
  return worlds;
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
      scheduledAt.set(vsStep, vs);
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
        // Re-injected at LOCAL_OUT (nat OUTPUT is bound already, IPVS skips its own), then POSTROUTING.
        x = note(x, 'IPVS re-injects the packet at LOCAL_OUT towards the real server');
        const out = runHookInline(x, 'output', entries()).flatMap((y) =>
          (y.end !== undefined ? [y] : runHookInline(addStep(y, { kind: 'route', text: `routing to ${ip}: out` }), 'postrouting', entries())));
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
  const entries: HookEntry[] = [];
  for (const table of f.tables) {
    if (table.name !== 'filter' && table.name !== 'nat') unknown('table', table.name);
    const chains = new Map(table.chains.map((c) => [c.name, c]));
    for (const c of table.chains) if (c.builtin) entries.push(glueEntry({ family, table, chains, sets }, c));
  }
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
