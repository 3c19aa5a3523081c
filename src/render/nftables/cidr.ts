/**
 * CIDR helpers for interval sets. nft rejects overlapping intervals in one set
 * ("conflicting intervals specified") unless the set auto-merges, and auto-merge makes
 * incremental deletes ambiguous; so the renderer drops host bits and removes every CIDR
 * contained in another before it emits elements.
 */

interface Cidr {
  readonly v6: boolean;
  readonly base: bigint;
  readonly prefix: number;
}

function parseV4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

function parseV6(text: string): bigint | undefined {
  let head = text;
  let tailV4: bigint | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    tailV4 = parseV4(text.slice(lastColon + 1));
    if (tailV4 === undefined) return undefined;
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string | undefined): string[] => (s === undefined || s === '' ? [] : s.split(':'));
  const left = groups(halves[0]);
  const right = groups(halves[1]);
  const missing = 8 - left.length - right.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...left, ...Array<string>(halves.length === 1 ? 0 : missing).fill('0'), ...right];
  let value = 0n;
  for (const group of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
    value = (value << 16n) | BigInt(parseInt(group, 16));
  }
  return tailV4 === undefined ? value : (value & ~0xffffffffn) | tailV4;
}

function parseCidr(text: string): Cidr | undefined {
  const [addr = '', prefixText] = text.split('/');
  const v6 = addr.includes(':');
  const bits = v6 ? 128 : 32;
  const value = v6 ? parseV6(addr) : parseV4(addr);
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (value === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > bits) return undefined;
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  return { v6, base: value & ~hostMask, prefix };
}

function formatAddr(c: Cidr): string {
  if (!c.v6) {
    return [24n, 16n, 8n, 0n].map((s) => String((c.base >> s) & 255n)).join('.');
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((c.base >> BigInt(i * 16)) & 0xffffn));
  // Compress the longest run (length ≥ 2) of zero groups, as RFC 5952 prints.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

function formatCidr(c: Cidr): string {
  const bits = c.v6 ? 128 : 32;
  return c.prefix === bits ? formatAddr(c) : `${formatAddr(c)}/${c.prefix}`;
}

function contains(outer: Cidr, inner: Cidr): boolean {
  if (outer.v6 !== inner.v6 || outer.prefix > inner.prefix) return false;
  const bits = outer.v6 ? 128 : 32;
  const hostMask = (1n << BigInt(bits - outer.prefix)) - 1n;
  return (inner.base & ~hostMask) === outer.base;
}

/**
 * Canonical, non-overlapping, sorted CIDRs for an interval set: host bits cleared, a
 * full-length prefix printed as a bare address, CIDRs inside another removed.
 * Unparseable entries are kept verbatim (nft will report them).
 */
export function intervalElements(cidrs: readonly string[]): string[] {
  const parsed: Cidr[] = [];
  const verbatim: string[] = [];
  for (const text of cidrs) {
    const c = parseCidr(text.trim());
    if (c === undefined) verbatim.push(text);
    else parsed.push(c);
  }
  const kept = parsed.filter(
    (c, i) => !parsed.some((o, j) => j !== i && contains(o, c) && (o.prefix < c.prefix || j < i)),
  );
  kept.sort((a, b) => (a.v6 !== b.v6 ? (a.v6 ? 1 : -1) : a.base < b.base ? -1 : a.base > b.base ? 1 : a.prefix - b.prefix));
  return [...kept.map(formatCidr), ...[...new Set(verbatim)].sort()];
}

/** Numeric ordering key for an address (for deterministic element order); undefined if unparseable. */
export function addrOrder(addr: string): bigint | undefined {
  return addr.includes(':') ? parseV6(addr) : parseV4(addr);
}
