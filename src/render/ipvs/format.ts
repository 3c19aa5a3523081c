/**
 * Printing the four parts, each as its tool reads it:
 * - `toIpsetRestore`: input for `ipset restore -exist` (create, flush, add: a full replace
 *   of kube-proxy's sets that also works when they exist),
 * - `toIpvsadmRestore`: input for `ipvsadm-restore` (`-A` virtual server, `-a` real server
 *   lines, as `ipvsadm-save -n` prints them),
 * - `toGlueRestore`: input for `iptables-restore --noflush` (kpx's chains; `glueJumps` for the
 *   jumps from the built-in chains) or, form `full`, whole tables for `iptables-restore`,
 * - `toAddressBatch`: input for `ip -batch` (`address add IP/32 dev kube-ipvs0`).
 * None of them holds comment lines, so every part loads exactly as printed. Every name,
 * address and set entry passes an allowlist (../safe.ts) before it is printed.
 */
import { endpointString } from '../../model/ip.js';
import { builtinJumps, formatMark, formatRestoreTable, type BuiltinJump, type RestoreOptions } from '../restore.js';
import { checkName, checkWord } from '../safe.js';
import { DUMMY_DEVICE } from './names.js';
import type { GlueMatch, GlueRule, GlueTable, GlueTarget, Ipset, IpvsFamilyRuleset, VirtualServer } from './types.js';

export { formatMark };

const PRINTER = 'IPVS printer';
/** IPSET_MAXNAMELEN − 1. */
const SET_NAME_MAX = 31;


/** An address with its prefix (`/32`, `/128`), as iptables-save prints it. */
function withPrefix(cidr: string): string {
  return cidr.includes('/') ? cidr : `${cidr}/${cidr.includes(':') ? 128 : 32}`;
}

/** `ip:port`, IPv6 as `[ip]:port` (ipvsadm's syntax is the endpoint string's). */
export function ipvsAddress(ip: string, port: number): string {
  checkWord(ip, PRINTER, 'address');
  return endpointString(ip, port);
}

const PROTO_FLAG: Record<VirtualServer['protocol'], string> = { tcp: '-t', udp: '-u', sctp: '--sctp-service' };

export function formatVirtualServer(vs: VirtualServer): string[] {
  const svc = `${PROTO_FLAG[vs.protocol]} ${ipvsAddress(vs.address, vs.port)}`;
  const head = [`-A ${svc} -s ${checkWord(vs.scheduler, PRINTER)}`];
  if (vs.schedulerFlags.length > 0) head.push(`-b ${checkWord(vs.schedulerFlags.join(','), PRINTER)}`);
  if (vs.persistenceSeconds !== undefined) head.push(`-p ${vs.persistenceSeconds}`);
  return [head.join(' '), ...vs.realServers.map((rs) => `-a ${svc} -r ${ipvsAddress(rs.ip, rs.port)} -m -w ${rs.weight}`)];
}

/** `ipvsadm-restore` input for the virtual servers of every family given. */
export function toIpvsadmRestore(families: readonly IpvsFamilyRuleset[]): string {
  return families.flatMap((f) => f.virtualServers.flatMap(formatVirtualServer)).map((l) => `${l}\n`).join('');
}

function createLine(s: Ipset): string {
  checkName('set name', s.name, PRINTER, SET_NAME_MAX);
  checkWord(s.type, PRINTER);
  if (s.type === 'bitmap:port') return `create ${s.name} bitmap:port range 0-65535`;
  return `create ${s.name} ${s.type} family ${s.family === 'ipv6' ? 'inet6' : 'inet'} hashsize 1024 maxelem 65536`;
}

/** `ipset restore -exist` input: every set created (if missing), flushed, then filled. */
export function toIpsetRestore(families: readonly IpvsFamilyRuleset[]): string {
  const lines: string[] = [];
  for (const f of families) {
    for (const s of f.ipsets) {
      lines.push(createLine(s), `flush ${s.name}`, ...s.entries.map((e) => `add ${s.name} ${checkWord(e, PRINTER, 'element key')}`));
    }
  }
  return lines.map((l) => `${l}\n`).join('');
}

/**
 * `ip -batch` input binding the family's service addresses on kube-ipvs0. IPv6 addresses
 * are bound `nodad preferred_lft 0`: usable at once, and deprecated, so that IPv6 source
 * selection never picks a service address for other traffic (it would, e.g., for
 * masquerade out of a pod veth that has only a link-local address).
 */
export function toAddressBatch(families: readonly IpvsFamilyRuleset[]): string {
  return families.flatMap((f) => f.addresses.map((a) => (checkWord(a, PRINTER, 'address').includes(':')
    ? `address add ${a}/128 dev ${DUMMY_DEVICE} nodad preferred_lft 0\n`
    : `address add ${a}/32 dev ${DUMMY_DEVICE}\n`))).join('');
}

function matchArgs(m: GlueMatch): string[] {
  const not = (negate: boolean): string[] => (negate ? ['!'] : []);
  switch (m.kind) {
    case 'comment': return ['-m', 'comment', '--comment', m.text];
    case 'protocol': return ['-p', m.protocol];
    case 'set': return ['-m', 'set', ...not(m.negate), '--match-set', m.name, m.flags];
    case 'source': return [...not(m.negate), '-s', withPrefix(m.cidr)];
    case 'destination': return [...not(m.negate), '-d', withPrefix(m.cidr)];
    case 'addrtype-local': return ['-m', 'addrtype', ...not(m.negate), m.addr === 'src' ? '--src-type' : '--dst-type', 'LOCAL'];
    case 'not-physdev-in': return ['-m', 'physdev', '!', '--physdev-is-in'];
    case 'mark': return ['-m', 'mark', ...not(m.negate), '--mark', `${formatMark(m.value)}/${formatMark(m.mask)}`];
    case 'conntrack': return ['-m', 'conntrack', '--ctstate', m.states.join(',')];
    case 'ipvs': return ['-m', 'ipvs', '--vaddr', withPrefix(m.vaddr), '--vproto', m.vproto, '--vport', String(m.vport)];
  }
}

function targetArgs(t: GlueTarget): string[] {
  switch (t.kind) {
    case 'jump': return ['-j', t.chain];
    case 'ACCEPT': case 'DROP': case 'RETURN': case 'REJECT': return ['-j', t.kind];
    case 'mark': return ['-j', 'MARK', t.op === 'or' ? '--or-mark' : '--xor-mark', formatMark(t.mark)];
    case 'MASQUERADE': return ['-j', 'MASQUERADE', ...(t.randomFully ? ['--random-fully'] : [])];
  }
}

/** A rule's arguments after `-A CHAIN`, one array element per argv word. */
export function glueRuleArgs(r: GlueRule): string[] {
  return [...r.matches.flatMap(matchArgs), ...targetArgs(r.target)];
}

/** Options of the glue's iptables-restore text (the same as the iptables backend's). */
export type GlueRestoreOptions = RestoreOptions;

export function formatGlueTable(t: GlueTable, options: GlueRestoreOptions = {}): string {
  return formatRestoreTable(t, glueRuleArgs, options);
}

/** Default form `noflush`: kpx's own chains only, for `iptables-restore --noflush`. */
export function toGlueRestore(f: IpvsFamilyRuleset, options: GlueRestoreOptions = {}): string {
  return `${f.tables.map((t) => formatGlueTable(t, options)).join('\n')}\n`;
}

/** The glue's jumps from the built-in chains, in rendered order. */
export function glueJumps(f: IpvsFamilyRuleset): BuiltinJump[] {
  return builtinJumps(f.tables, glueRuleArgs);
}
