/**
 * IPVS kernel state as kpx reads and writes it, with the text forms of the tools:
 * `ipvsadm -S -n` / `ipvsadm -R` lines, `ipvsadm -L -n` (connection counts), `ipset
 * save` / `ipset restore`, `ip -o addr show dev kube-ipvs0`. Pure: the adapter (ipvs.ts)
 * parses what the tools print with these, the fake (ipvs-fake.ts) prints with them.
 */
import { endpointString } from '../../model/ip.js';
import type { Protocol } from '../../model/types.js';
import type { IpsetType } from '../../render/ipvs/types.js';

export interface KVirtualServer {
  readonly protocol: Protocol;
  readonly address: string;
  readonly port: number;
  readonly scheduler: string;
  /** `-p` seconds, when persistent. */
  readonly persistence?: number;
  /** `-b` flags, sorted. */
  readonly flags: readonly string[];
}

export interface KRealServer {
  readonly ip: string;
  readonly port: number;
  readonly weight: number;
}

/** One virtual server with its real servers (by `endpointString`). */
export interface KService {
  readonly vs: KVirtualServer;
  readonly reals: Map<string, KRealServer>;
}

export interface KSet {
  readonly name: string;
  readonly type: IpsetType;
  /** inet / inet6 for hash sets; none for bitmap:port. */
  readonly family?: 'inet' | 'inet6';
  readonly entries: Set<string>;
}

const PROTO_FLAG: Record<Protocol, string> = { tcp: '-t', udp: '-u', sctp: '--sctp-service' };
const FLAG_PROTO: Readonly<Record<string, Protocol>> = { '-t': 'tcp', '-u': 'udp', '--sctp-service': 'sctp' };

/** `tcp 10.0.0.1:80`, `udp [fd00::1]:53`: the key of a virtual server. */
export function vsKey(v: { readonly protocol: Protocol; readonly address: string; readonly port: number }): string {
  return `${v.protocol} ${endpointString(v.address, v.port)}`;
}

export const rsKey = (r: { readonly ip: string; readonly port: number }): string => endpointString(r.ip, r.port);

/** `-t 10.0.0.1:80` as argv words. */
export function serviceArgs(v: KVirtualServer | { protocol: Protocol; address: string; port: number }): string[] {
  return [PROTO_FLAG[v.protocol], endpointString(v.address, v.port)];
}

/** The `-A`/`-E` line's words after the verb. */
export function vsArgs(v: KVirtualServer): string[] {
  return [
    ...serviceArgs(v), '-s', v.scheduler,
    ...(v.flags.length > 0 ? ['-b', v.flags.join(',')] : []),
    ...(v.persistence !== undefined ? ['-p', String(v.persistence)] : []),
  ];
}

export function rsArgs(v: KVirtualServer, r: KRealServer, withWeight = true): string[] {
  return [...serviceArgs(v), '-r', rsKey(r), ...(withWeight ? ['-m', '-w', String(r.weight)] : [])];
}

/** `ADDR:PORT` / `[ADDR]:PORT` → address and port. */
export function splitEndpoint(text: string): { ip: string; port: number } | undefined {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(text) ?? /^([0-9.]+):(\d+)$/.exec(text);
  return m ? { ip: m[1]!.toLowerCase(), port: Number(m[2]) } : undefined;
}

/** Option words of one ipvsadm line → map (flags without value map to ''). */
function options(words: readonly string[]): Map<string, string> {
  const withValue = new Set(['-t', '-u', '--sctp-service', '-f', '-s', '-p', '-M', '-b', '-r', '-w', '-x', '-y', '--pe', '--tun-type', '--tun-port']);
  const out = new Map<string, string>();
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (withValue.has(w)) { out.set(w, words[i + 1] ?? ''); i++; } else out.set(w, '');
  }
  return out;
}

export type IpvsLine =
  | { readonly verb: '-A' | '-E'; readonly vs: KVirtualServer }
  | { readonly verb: '-D'; readonly key: string }
  | { readonly verb: '-a' | '-e'; readonly key: string; readonly rs: KRealServer }
  | { readonly verb: '-d'; readonly key: string; readonly rs: { ip: string; port: number } }
  | { readonly verb: '-C' };

/** One `ipvsadm -R` / `ipvsadm -S` line; undefined when it is not one kpx understands. */
export function parseIpvsLine(line: string): IpvsLine | undefined {
  const words = line.trim().split(/\s+/);
  const verb = words[0];
  if (verb === '-C') return { verb };
  const o = options(words.slice(1));
  const flag = ['-t', '-u', '--sctp-service'].find((f) => o.has(f));
  const ep = flag !== undefined ? splitEndpoint(o.get(flag)!) : undefined;
  if (flag === undefined || ep === undefined) return undefined;
  const key = `${FLAG_PROTO[flag]} ${endpointString(ep.ip, ep.port)}`;
  switch (verb) {
    case '-A': case '-E': {
      const p = o.get('-p');
      const vs: KVirtualServer = {
        protocol: FLAG_PROTO[flag]!, address: ep.ip, port: ep.port, scheduler: o.get('-s') ?? 'wlc',
        flags: (o.get('-b') ?? '').split(',').filter((f) => f !== '').sort(),
        ...(p !== undefined ? { persistence: Number(p) } : {}),
      };
      return { verb, vs };
    }
    case '-D': return { verb, key };
    case '-a': case '-e': case '-d': {
      const r = splitEndpoint(o.get('-r') ?? '');
      if (r === undefined) return undefined;
      if (verb === '-d') return { verb, key, rs: r };
      return { verb, key, rs: { ...r, weight: Number(o.get('-w') ?? '1') } };
    }
    default: return undefined;
  }
}

/** `ipvsadm -S -n` text → services (lines kpx does not understand are skipped). */
export function parseIpvsSave(text: string): Map<string, KService> {
  const out = new Map<string, KService>();
  for (const line of text.split('\n')) {
    const l = parseIpvsLine(line);
    if (l?.verb === '-A') out.set(vsKey(l.vs), { vs: l.vs, reals: new Map() });
    else if (l?.verb === '-a') out.get(l.key)?.reals.set(rsKey(l.rs), l.rs);
  }
  return out;
}

/** The `ipvsadm -S -n` form of services (what the fake prints). */
export function printIpvsSave(services: Iterable<KService>): string {
  const lines: string[] = [];
  for (const s of services) {
    lines.push(['-A', ...vsArgs(s.vs)].join(' '));
    for (const r of s.reals.values()) lines.push(['-a', ...rsArgs(s.vs, r)].join(' '));
  }
  return lines.map((l) => `${l}\n`).join('');
}

/** `ipvsadm -L -n` text → connection counts by virtual server key, then real server key. */
export function parseIpvsList(text: string): Map<string, Map<string, { active: number; inactive: number }>> {
  const out = new Map<string, Map<string, { active: number; inactive: number }>>();
  let current: Map<string, { active: number; inactive: number }> | undefined;
  for (const line of text.split('\n')) {
    const vs = /^(TCP|UDP|SCTP)\s+(\S+)/.exec(line);
    if (vs) {
      const ep = splitEndpoint(vs[2]!);
      current = new Map();
      if (ep) out.set(`${vs[1]!.toLowerCase()} ${endpointString(ep.ip, ep.port)}`, current);
      continue;
    }
    const rs = /^\s+->\s+(\S+)\s+\S+\s+\d+\s+(\d+)\s+(\d+)/.exec(line);
    const ep = rs ? splitEndpoint(rs[1]!) : undefined;
    if (rs && ep && current) current.set(endpointString(ep.ip, ep.port), { active: Number(rs[2]), inactive: Number(rs[3]) });
  }
  return out;
}

/** `ipset save` text → the sets whose name passes `keep`. */
export function parseIpsetSave(text: string, keep: (name: string) => boolean): Map<string, KSet> {
  const out = new Map<string, KSet>();
  for (const line of text.split('\n')) {
    const w = line.trim().split(/\s+/);
    if (w[0] === 'create' && w[1] !== undefined && keep(w[1])) {
      const fam = w.indexOf('family');
      const family = fam > 0 ? w[fam + 1] : undefined;
      out.set(w[1], { name: w[1], type: w[2] as IpsetType, ...(family === 'inet' || family === 'inet6' ? { family } : {}), entries: new Set() });
    } else if (w[0] === 'add' && w[1] !== undefined && w[2] !== undefined) {
      out.get(w[1])?.entries.add(w[2]);
    }
  }
  return out;
}

/** `create` line of a set (ipset restore -exist input). */
export function ipsetCreateLine(s: { name: string; type: IpsetType; family?: 'inet' | 'inet6' }): string {
  return s.type === 'bitmap:port'
    ? `create ${s.name} bitmap:port range 0-65535`
    : `create ${s.name} ${s.type} family ${s.family ?? 'inet'} hashsize 1024 maxelem 65536`;
}

/** `ip -o addr show dev D` text → its addresses (link-local IPv6 left out: the kernel adds it). */
export function parseAddrShow(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/\binet6?\s+([0-9a-fA-F:.]+)\/\d+/g)) {
    const a = m[1]!.toLowerCase();
    if (!a.startsWith('fe80:')) out.add(a);
  }
  return out;
}
