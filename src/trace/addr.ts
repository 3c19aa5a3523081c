/** Address helpers for the tracers: canonical forms, CIDR membership, locality. */
import { cidrContains, parseCIDR, parseIP, type ParsedIP } from '../model/ip.js';
import { TraceInputError, UnknownRuleError } from './types.js';

/** Canonical text of an address; throws on anything that is not one. */
export function canonicalIP(text: string, what: string): string {
  const ip = parseIP(text.trim());
  if (ip === undefined) throw new TraceInputError(`${what}: not an IP address: ${JSON.stringify(text)}`);
  return ip.text;
}

/**
 * `value` (a canonical address) against a rule or element operand: a bare address
 * (equal) or, where `cidrAllowed`, a CIDR (contains). A CIDR where none may appear is a
 * renderer bug and throws.
 */
export function addrMatches(operand: string, value: string, cidrAllowed: boolean): boolean {
  const ip = parseIP(value);
  if (ip === undefined) return false;
  if (operand.includes('/')) {
    if (!cidrAllowed) throw new UnknownRuleError(`a CIDR (${operand}) where only an address may appear`);
    const c = parseCIDR(operand);
    if (c === undefined) throw new UnknownRuleError(`not a CIDR: ${operand}`);
    return cidrContains(c, ip);
  }
  const other = parseIP(operand);
  if (other === undefined) throw new UnknownRuleError(`not an address: ${operand}`);
  return other.text === ip.text;
}

const LOOPBACK = [parseCIDR('127.0.0.0/8'), parseCIDR('::1/128')];

/** Is `addr` one of the node's addresses (or loopback)? */
export function isLocal(addr: string, localAddresses: ReadonlySet<string>): boolean {
  const ip: ParsedIP | undefined = parseIP(addr);
  if (ip === undefined) return false;
  return localAddresses.has(ip.text) || LOOPBACK.some((c) => c !== undefined && cidrContains(c, ip));
}

/** `ip:port`, IPv6 `[ip]:port`: the model's one endpoint-string helper. */
export { endpointString as hostPort } from '../model/ip.js';
