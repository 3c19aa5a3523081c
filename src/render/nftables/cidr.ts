/**
 * Address helpers for element order and interval sets, on the model's IP parser.
 * nft rejects overlapping intervals in one set ("conflicting intervals specified")
 * unless the set auto-merges, and auto-merge makes incremental deletes ambiguous; so
 * the renderer removes every CIDR contained in another before it emits elements.
 */
import { cidrContains, parseCIDR, type ParsedCIDR } from '../../model/ip.js';

/** A CIDR, or a bare address as its host CIDR. */
function toCidr(text: string): ParsedCIDR | undefined {
  const t = text.trim();
  return parseCIDR(t.includes('/') ? t : `${t}/${t.includes(':') ? 128 : 32}`);
}

function bits(c: ParsedCIDR): number {
  return c.ip.bytes.length * 8;
}

/**
 * A string that sorts like an address or CIDR: IPv4 before IPv6, numerically by
 * address (fixed-width hex), then by prefix length. Undefined for anything else.
 */
export function addrSortKey(text: string): string | undefined {
  const c = toCidr(text);
  if (!c) return undefined;
  const hex = c.ip.bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${c.ip.family === 'ipv4' ? '1' : '2'}${hex}/${String(c.prefix).padStart(3, '0')}`;
}

/**
 * Canonical, non-overlapping, sorted CIDRs for an interval set: host bits cleared, a
 * full-length prefix printed as a bare address, CIDRs inside another removed.
 * Unparseable entries are kept verbatim (nft will report them).
 */
export function intervalElements(cidrs: readonly string[]): string[] {
  const parsed: ParsedCIDR[] = [];
  const verbatim: string[] = [];
  for (const text of cidrs) {
    const c = toCidr(text);
    if (c === undefined) verbatim.push(text);
    else parsed.push(c);
  }
  const inside = (inner: ParsedCIDR, outer: ParsedCIDR): boolean => outer.prefix <= inner.prefix && cidrContains(outer, inner.ip);
  const kept = parsed.filter((c, i) => !parsed.some((o, j) => j !== i && inside(c, o) && (o.prefix < c.prefix || j < i)));
  const keyed = kept.map((c) => ({ c, k: addrSortKey(c.text) ?? c.text })).sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  return [...keyed.map(({ c }) => (c.prefix === bits(c) ? c.ip.text : c.text)), ...[...new Set(verbatim)].sort()];
}
