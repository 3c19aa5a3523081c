/** Small typed builders for matches, targets and rules (no decisions here). */
import type { Protocol } from '../../model/types.js';
import type { CtState, IptMatch, IptRule, IptTarget } from './types.js';

export const rule = (matches: readonly IptMatch[], target?: IptTarget): IptRule =>
  (target ? { matches, target } : { matches });

export const comment = (text: string): IptMatch => ({ kind: 'comment', text });
export const protocol = (p: Protocol): IptMatch => ({ kind: 'protocol', protocol: p });
export const dport = (port: number): IptMatch => ({ kind: 'dport', port });
export const src = (cidr: string, negate = false): IptMatch => ({ kind: 'source', cidr, negate });
export const dst = (cidr: string, negate = false): IptMatch => ({ kind: 'destination', cidr, negate });
export const localSrc: IptMatch = { kind: 'addrtype-local', addr: 'src' };
export const localDst: IptMatch = { kind: 'addrtype-local', addr: 'dst' };
export const ctstate = (states: readonly CtState[], negate = false): IptMatch => ({ kind: 'conntrack', states, negate });
export const ctNew = ctstate(['NEW']);

export const jump = (chain: string): IptTarget => ({ kind: 'jump', chain });
export const ACCEPT: IptTarget = { kind: 'ACCEPT' };
export const DROP: IptTarget = { kind: 'DROP' };
export const RETURN: IptTarget = { kind: 'RETURN' };
export const REJECT: IptTarget = { kind: 'REJECT' };

/** `ip` as a host CIDR: `/32`, or `/128` for IPv6. */
export function host(ip: string): string {
  return ip.includes(':') ? `${ip}/128` : `${ip}/32`;
}

/** `-m P -p P -d IP/32 --dport N`: a frontend address and port. */
export function frontend(p: Protocol, ip: string, port: number): IptMatch[] {
  return [protocol(p), dst(host(ip)), dport(port)];
}
