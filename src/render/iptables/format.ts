/**
 * Printing: typed rules → argument lists → `iptables-restore` input.
 *
 * Arguments are kube-proxy's, in its order. Addresses carry an explicit prefix (`/32`,
 * `/128`) and marks print as `0x4000`: the forms `iptables-save` prints back, so the text
 * can be compared with a dump.
 */
import { endpointString } from '../../model/ip.js';
import {
  builtinJumps, formatChainLine, formatMark, formatRestoreTable, formatRuleLine, quoteArg, type BuiltinJump, type RestoreOptions,
} from '../restore.js';
import type { IptMatch, IptRule, IptTable, IptTarget, IptablesRuleset } from './types.js';

export { formatChainLine, formatMark, quoteArg, type BuiltinJump, type RestoreOptions };

/**
 * `%0.10f` as Go prints it: the exact decimal value of the double, rounded half to even
 * at the 10th decimal. (`toFixed` rounds exact ties up: they differ for 1/2048.)
 */
export function formatProbability(p: number): string {
  // toFixed(100) is the exact expansion for every double ≥ 2^-47 (≤ 100 fraction digits).
  const exact = p.toFixed(100);
  const dot = exact.indexOf('.');
  const intPart = exact.slice(0, dot);
  const frac = exact.slice(dot + 1);
  const keep = frac.slice(0, 10);
  const rest = frac.slice(10).replace(/0+$/, '');
  let roundUp: boolean;
  if (rest === '' || rest[0]! < '5') roundUp = false;
  else if (rest[0]! > '5' || rest.length > 1) roundUp = true;
  else roundUp = Number(keep[keep.length - 1]) % 2 === 1; // exact tie: to even
  let digits = intPart + keep;
  if (roundUp) {
    const n = (BigInt(digits) + 1n).toString().padStart(digits.length, '0');
    digits = n;
  }
  return `${digits.slice(0, digits.length - 10)}.${digits.slice(-10)}`;
}

function matchArgs(m: IptMatch): string[] {
  const not = (negate: boolean): string[] => (negate ? ['!'] : []);
  switch (m.kind) {
    case 'comment': return ['-m', 'comment', '--comment', m.text];
    case 'protocol': return ['-m', m.protocol, '-p', m.protocol];
    case 'dport': return ['--dport', String(m.port)];
    case 'source': return [...not(m.negate), '-s', m.cidr];
    case 'destination': return [...not(m.negate), '-d', m.cidr];
    case 'addrtype-local': return ['-m', 'addrtype', m.addr === 'src' ? '--src-type' : '--dst-type', 'LOCAL'];
    case 'mark': return ['-m', 'mark', ...not(m.negate), '--mark', `${formatMark(m.value)}/${formatMark(m.mask)}`];
    case 'conntrack': return ['-m', 'conntrack', ...not(m.negate), '--ctstate', m.states.join(',')];
    case 'statistic-random': return ['-m', 'statistic', '--mode', 'random', '--probability', formatProbability(m.probability)];
    case 'recent-check': return ['-m', 'recent', '--name', m.name, '--rcheck', '--seconds', String(m.seconds), '--reap'];
    case 'recent-set': return ['-m', 'recent', '--name', m.name, '--set'];
  }
}

function targetArgs(t: IptTarget): string[] {
  switch (t.kind) {
    case 'jump': return ['-j', t.chain];
    case 'ACCEPT': case 'DROP': case 'RETURN': case 'REJECT': return ['-j', t.kind];
    case 'mark': return ['-j', 'MARK', t.op === 'or' ? '--or-mark' : '--xor-mark', formatMark(t.mark)];
    case 'MASQUERADE': return ['-j', 'MASQUERADE', ...(t.randomFully ? ['--random-fully'] : [])];
    case 'DNAT': return ['-j', 'DNAT', '--to-destination', endpointString(t.ip, t.port)];
  }
}

/** A rule's arguments after `-A CHAIN`, unquoted (one array element per argv word). */
export function ruleArgs(rule: IptRule): string[] {
  return [...rule.matches.flatMap(matchArgs), ...(rule.target ? targetArgs(rule.target) : [])];
}

/** Quotes a word for iptables-restore when it holds whitespace or quotes (comments). */
export function formatRule(chain: string, rule: IptRule): string {
  return formatRuleLine(chain, ruleArgs(rule));
}

export function formatTable(table: IptTable, options: RestoreOptions = {}): string {
  return formatRestoreTable(table, ruleArgs, options);
}

/**
 * iptables-restore input. Default form `noflush`: kpx's own chains only, for
 * `iptables-restore --noflush` (the jumps from the built-in chains: `iptablesJumps`);
 * `{ form: 'full' }`: whole tables for a plain `iptables-restore` (see ../restore.ts).
 */
export function toIptablesRestore(ruleset: IptablesRuleset, options: RestoreOptions = {}): string {
  return `${ruleset.tables.map((t) => formatTable(t, options)).join('\n')}\n`;
}

/** The jumps from the built-in chains into kpx's chains, in rendered order. */
export function iptablesJumps(ruleset: IptablesRuleset): BuiltinJump[] {
  return builtinJumps(ruleset.tables, ruleArgs);
}
