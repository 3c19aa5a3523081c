/**
 * Defence in depth at the printers: every name, key and comment is checked against an
 * allowlist where it becomes nft or iptables-restore text (or a shell word of the
 * iptables load script). The model validates what it takes from the API server already;
 * these checks make sure that a future bug there throws here instead of turning a value
 * into extra rules (a newline starts a new iptables-restore command, `;` and braces end an
 * nft statement or block, a quote ends a comment).
 *
 * Each check throws UnsafeRenderTextError: a printer never prints a value it cannot prove
 * harmless.
 */

/** What a printed value is, for the error message. */
export type UnsafeTextKind =
  | 'chain name' | 'table name' | 'set name' | 'map name' | 'element key' | 'map value'
  | 'comment' | 'rule argument' | 'address' | 'tool name';

export class UnsafeRenderTextError extends Error {
  override readonly name = 'UnsafeRenderTextError';
  constructor(readonly kind: UnsafeTextKind, readonly value: string, readonly printer: string) {
    super(`${printer}: refusing to print ${kind} ${JSON.stringify(value) ?? String(value)}: not text, or characters outside the allowlist`);
  }
}

/**
 * A chain, set or map name: letters, digits, `_` and `-` (iptables chain names are at most
 * 28 characters, ipset names 31, nft names 256; the caller passes its limit).
 */
const NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;

/**
 * One argument word of an iptables rule (an address, a port, a flag, a set's flags, a mark,
 * a probability, `[ip]:port`): no whitespace, no quotes, no shell or nft punctuation.
 */
const WORD = /^[A-Za-z0-9_.:/,!@%+=\[\]-]+$/;

/**
 * A comment's text: printable words and the punctuation kube-proxy's own comments use
 * (`"kubernetes service nodeports; NOTE: this must be …"`, `ns/name:port -> ip:port`). No quote,
 * backslash, `#`, `$`, backquote, brace or control character.
 */
const COMMENT = /^[A-Za-z0-9 _.,:;/@+=()>[\]-]*$/;

/** One part of an nft element key or map value: an address, CIDR, protocol, port, number. */
const NFT_KEY_PART = /^[A-Za-z0-9_.:/-]+$/;

/** A printer bug can hand over `undefined` (a missing switch case): never print it as nothing. */
function isText(value: unknown): value is string {
  return typeof value === 'string';
}

export function checkName(kind: 'chain name' | 'table name' | 'set name' | 'map name', value: string, printer: string, maxLength = 256): string {
  if (!isText(value) || !NAME.test(value) || value.length > maxLength) throw new UnsafeRenderTextError(kind, value, printer);
  return value;
}

export function checkWord(value: string, printer: string, kind: UnsafeTextKind = 'rule argument'): string {
  if (!isText(value) || !WORD.test(value)) throw new UnsafeRenderTextError(kind, value, printer);
  return value;
}

export function checkComment(value: string, printer: string, maxLength = 256): string {
  if (!isText(value) || !COMMENT.test(value) || value.length > maxLength) throw new UnsafeRenderTextError('comment', value, printer);
  return value;
}

export function checkKeyPart(value: string, printer: string, kind: 'element key' | 'map value' | 'address' = 'element key'): string {
  if (!isText(value) || !NFT_KEY_PART.test(value)) throw new UnsafeRenderTextError(kind, value, printer);
  return value;
}
