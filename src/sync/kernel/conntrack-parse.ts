/**
 * The `conntrack` tool's text, parsed in one place (pure).
 *
 * Listing lines (`conntrack -L -p udp [-f ipv4|ipv6] [-o extended|id]`), with or without
 * the extended `ipv4     2 ` head, flags such as `[UNREPLIED]`/`[ASSURED]`, and trailing
 * `mark= zone= use= id= secctx= labels=` fields in any order:
 *   ipv4     2 udp      17 29 src=10.0.0.1 dst=10.96.0.10 sport=40000 dport=53 [UNREPLIED] src=10.244.1.5 dst=10.0.0.1 sport=53 dport=40000 mark=0 use=1
 * The first `src= dst= sport= dport=` are the original direction, the second the reply.
 *
 * stderr: every command ends with `conntrack vX (conntrack-tools): N flow entries have
 * been shown|deleted|created.`; `-D` that matched nothing says `0 flow entries have been
 * deleted.` and exits 1 — that is not an error. Anything else on a non-zero exit is.
 */
import type { IPFamily } from '../../model/types.js';
import { parseAddress, type UdpFlow } from '../conntrack-cleanup.js';

/** One listing line → a UDP flow; undefined for anything else (other protocols, summary lines, garbage). */
const TUPLE = /\bsrc=(\S+) dst=(\S+) sport=(\d+) dport=(\d+)/g;
const HEAD = /^\s*(?:(ipv4|ipv6)\s+\d+\s+)?udp\s/;

export function parseFlowLine(line: string): UdpFlow | undefined {
  const head = HEAD.exec(line);
  if (head === null) return undefined;
  TUPLE.lastIndex = 0;
  const orig = TUPLE.exec(line);
  const reply = orig === null ? null : TUPLE.exec(line);
  if (orig === null || reply === null) return undefined;
  const origSrc = parseAddress(orig[1] ?? '');
  const origDst = parseAddress(orig[2] ?? '');
  const replySrc = parseAddress(reply[1] ?? '');
  const origSport = port(orig[3]);
  const origDport = port(orig[4]);
  const replySport = port(reply[3]);
  if (!origSrc || !origDst || !replySrc || origSport === undefined || origDport === undefined || replySport === undefined) {
    return undefined;
  }
  const family: IPFamily = origDst.family;
  if (origSrc.family !== family || replySrc.family !== family) return undefined;
  if (head[1] !== undefined && head[1] !== family) return undefined;
  return { family, origSrc: origSrc.text, origDst: origDst.text, origSport, origDport, replySrc: replySrc.text, replySport };
}

function port(s: string | undefined): number | undefined {
  if (s === undefined || !/^\d{1,5}$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 65535 ? n : undefined;
}

/** The summary line's count (`N flow entries have been deleted.`), or undefined. */
export function summaryCount(stderr: string, verb: 'shown' | 'deleted'): number | undefined {
  const m = new RegExp(`(\\d+) flow entr(?:y|ies) ha(?:s|ve) been ${verb}`).exec(stderr);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

/** A conntrack command that failed; `message` is conntrack's own (prefix stripped). */
export class ConntrackError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly exitCode: number,
    readonly stderr: string,
  ) {
    super(`conntrack ${args.join(' ')} failed (exit ${exitCode}): ${conntrackMessage(stderr)}`);
    this.name = 'ConntrackError';
  }
}

/** The tool is missing or does not run. */
export class ConntrackUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConntrackUnavailableError';
  }
}

/** conntrack's stderr without its `conntrack vX (conntrack-tools): ` prefix, one line. */
export function conntrackMessage(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.replace(/^conntrack v[\d.]+ \(conntrack-tools\):\s*/, '').trim()).filter((l) => l !== '');
  return lines.join('; ') || '(no message)';
}

/**
 * The outcome of `conntrack -D`: the number deleted, or a ConntrackError. Exit 1 with
 * "0 flow entries have been deleted" means nothing matched (the flow timed out or was
 * deleted meanwhile): 0, not an error.
 */
export function deleteOutcome(args: readonly string[], code: number, stderr: string): number | ConntrackError {
  const n = summaryCount(stderr, 'deleted');
  if (code === 0) return n ?? 0;
  if (n === 0 && code === 1) return 0;
  return new ConntrackError(args, code, stderr);
}
