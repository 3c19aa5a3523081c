/**
 * ipset membership for the IPVS glue's `-m set --match-set NAME FLAGS`: the five set
 * types kube-proxy creates, parsed once per trace program.
 *
 * One direction per dimension (`src` = source address, `dst` = destination); source
 * ports are not modelled. The protocol of a hash set's `proto:port` element must match;
 * bitmap:port is protocol-independent.
 */
import type { IPFamily, Protocol } from '../model/types.js';
import { cidrContains, parseCIDR, parseIP, type ParsedCIDR } from '../model/ip.js';
import type { Ipset, IpsetType, SetFlags } from '../render/ipvs/types.js';
import type { World } from './engine.js';
import { UnknownRuleError, unknownShape } from './types.js';

function unknown(what: string, value: unknown): never {
  return unknownShape('ipvs', what, value);
}

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

export interface ParsedSet {
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

export function parseSet(s: Ipset, family: IPFamily): ParsedSet {
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
export function setContains(ps: ParsedSet, flags: SetFlags, w: World): boolean {
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
