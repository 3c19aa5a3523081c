/**
 * IP address and CIDR parsing. Every accepted value is returned in one canonical text
 * form so renderers can print it as is; zones and embedded spaces are always rejected.
 *
 * Two strengths:
 * - strict (`parseIP`, `parseCIDR`): for kpx's own options and packet addresses; an IPv4
 *   octet with a leading zero is rejected (a kernel tool might read it as octal).
 * - sloppy (`parseIPSloppy`, `parseCIDRSloppy`): for API object fields. The API server
 *   validates IPs and CIDRs in Services, EndpointSlices and Nodes with k8s.io/utils/net
 *   ParseIPSloppy/ParseCIDRSloppy (apimachinery `IsValidIPForLegacyField` /
 *   `IsValidCIDRForLegacyField` while the StrictIPCIDRValidation gate is off, its
 *   default), and kube-proxy parses them the same way: leading zeros are accepted and
 *   read as decimal (`010.001.0.1` is 10.1.0.1). The canonical text kpx prints is
 *   therefore never ambiguous.
 */
import type { IPFamily } from './types.js';

export interface ParsedIP {
  readonly family: IPFamily;
  /** 4 or 16 bytes. */
  readonly bytes: readonly number[];
  /** Canonical text (RFC 5952 for IPv6). */
  readonly text: string;
}

export interface ParsedCIDR {
  readonly ip: ParsedIP; // network address (host bits cleared)
  readonly prefix: number;
  readonly text: string;
}

const STRICT_OCTET = /^(0|[1-9][0-9]{0,2})$/;
/** Go's sloppy parser reads any run of decimal digits (bounded here) as one octet. */
const SLOPPY_OCTET = /^[0-9]{1,8}$/;

function parseIPv4Bytes(s: string, sloppy: boolean): number[] | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!(sloppy ? SLOPPY_OCTET : STRICT_OCTET).test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out.push(n);
  }
  return out;
}

function parseIPv6Bytes(s: string, sloppy: boolean): number[] | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || s.length > (sloppy ? 60 : 45)) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    const parts = h.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] ?? '';
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIPv4Bytes(p, sloppy);
        if (!v4) return undefined;
        out.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
      out.push(parseInt(p, 16));
    }
    return out;
  };
  const head = groups(halves[0] ?? '');
  const tail = halves.length === 2 ? groups(halves[1] ?? '') : [];
  if (!head || !tail) return undefined;
  let words: number[];
  if (halves.length === 2) {
    const fill = 8 - head.length - tail.length;
    if (fill < 1) return undefined;
    words = [...head, ...new Array<number>(fill).fill(0), ...tail];
  } else {
    words = head;
  }
  if (words.length !== 8) return undefined;
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

function formatIPv6(bytes: readonly number[]): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  // Longest run of two or more zero words becomes '::' (first one on ties).
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = (ws: number[]): string => ws.map((w) => w.toString(16)).join(':');
  if (bestLen < 2) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLen))}`;
}

/** Parses an IP address strictly; undefined if it is not one. */
export function parseIP(s: string): ParsedIP | undefined {
  return parseIPWith(s, false);
}

/** Parses an IP address as the API server and kube-proxy do (netutils.ParseIPSloppy). */
export function parseIPSloppy(s: string): ParsedIP | undefined {
  return parseIPWith(s, true);
}

function parseIPWith(s: string, sloppy: boolean): ParsedIP | undefined {
  if (typeof s !== 'string') return undefined;
  if (s.includes(':')) {
    const bytes = parseIPv6Bytes(s, sloppy);
    if (!bytes) return undefined;
    // An IPv4-mapped IPv6 address is treated as IPv4, as Go's net.ParseIP does.
    const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
    if (mapped) {
      const v4 = bytes.slice(12);
      return { family: 'ipv4', bytes: v4, text: v4.join('.') };
    }
    return { family: 'ipv6', bytes, text: formatIPv6(bytes) };
  }
  const bytes = parseIPv4Bytes(s, sloppy);
  return bytes ? { family: 'ipv4', bytes, text: bytes.join('.') } : undefined;
}

/** Parses `addr/prefix` strictly (host bits are cleared). A bare address is not a CIDR. */
export function parseCIDR(s: string): ParsedCIDR | undefined {
  return parseCIDRWith(s, false);
}

/** Parses a CIDR as the API server and kube-proxy do (netutils.ParseCIDRSloppy). */
export function parseCIDRSloppy(s: string): ParsedCIDR | undefined {
  return parseCIDRWith(s, true);
}

function parseCIDRWith(s: string, sloppy: boolean): ParsedCIDR | undefined {
  if (typeof s !== 'string') return undefined;
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIPWith(s.slice(0, slash), sloppy);
  const prefixText = s.slice(slash + 1);
  if (!ip || !(sloppy ? SLOPPY_OCTET : STRICT_OCTET).test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  const bits = ip.bytes.length * 8;
  if (prefix > bits) return undefined;
  const masked = ip.bytes.map((b, i) => {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    return b & ((0xff << (8 - keep)) & 0xff);
  });
  const net: ParsedIP = {
    family: ip.family,
    bytes: masked,
    text: ip.family === 'ipv4' ? masked.join('.') : formatIPv6(masked),
  };
  return { ip: net, prefix, text: `${net.text}/${prefix}` };
}

/** True when `ip` lies inside `cidr` (same family). */
export function cidrContains(cidr: ParsedCIDR, ip: ParsedIP): boolean {
  if (cidr.ip.family !== ip.family) return false;
  for (let i = 0; i < ip.bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, cidr.prefix - i * 8));
    const mask = (0xff << (8 - keep)) & 0xff;
    if (((ip.bytes[i] ?? 0) & mask) !== (cidr.ip.bytes[i] ?? 0)) return false;
  }
  return true;
}

/**
 * `ip:port`, IPv6 as `[ip]:port` (Go's net.JoinHostPort): kube-proxy's endpoint string,
 * the one helper every part of kpx prints and hashes endpoints with.
 */
export function endpointString(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The host CIDR of an address: /32 or /128. */
export function hostCIDR(ip: ParsedIP): string {
  return `${ip.text}/${ip.family === 'ipv4' ? 32 : 128}`;
}

/** Total order for canonical IP texts of mixed families (IPv4 first, then numeric). */
export function compareIPs(a: string, b: string): number {
  const pa = parseIP(a);
  const pb = parseIP(b);
  if (!pa || !pb) return a < b ? -1 : a > b ? 1 : 0;
  if (pa.bytes.length !== pb.bytes.length) return pa.bytes.length - pb.bytes.length;
  for (let i = 0; i < pa.bytes.length; i++) {
    const d = (pa.bytes[i] ?? 0) - (pb.bytes[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The loopback address of a family: what kube-proxy assumes as node IP when it knows none. */
export const LOOPBACK: Readonly<Record<IPFamily, string>> = { ipv4: '127.0.0.1', ipv6: '::1' };

/**
 * Addresses the API server refuses as externalIPs and endpoint addresses
 * (pkg/apis/core/validation ValidateNonSpecialIP / ValidateEndpointIP): unspecified,
 * loopback (127/8, ::1), link-local unicast (169.254/16, fe80::/10) and link-local
 * multicast (224.0.0.0/24, ff02::/16), the classes of Go's net.IP predicates.
 */
export function specialIPKind(ip: ParsedIP): string | undefined {
  const b = ip.bytes;
  if (b.every((x) => x === 0)) return 'unspecified';
  if (ip.family === 'ipv4') {
    if (b[0] === 127) return 'loopback';
    if (b[0] === 169 && b[1] === 254) return 'link-local';
    if (b[0] === 224 && b[1] === 0 && b[2] === 0) return 'link-local multicast';
    return undefined;
  }
  if (b.slice(0, 15).every((x) => x === 0) && b[15] === 1) return 'loopback';
  if (b[0] === 0xfe && ((b[1] ?? 0) & 0xc0) === 0x80) return 'link-local';
  if (b[0] === 0xff && ((b[1] ?? 0) & 0x0f) === 0x02) return 'link-local multicast';
  return undefined;
}
