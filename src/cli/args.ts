/**
 * Command-line parsing for kpx. Pure: argv in, a typed command or an error out.
 *
 * Accepted forms: `--flag value`, `--flag=value`, `-f value`, `-f=value`; boolean flags
 * also take `--flag=true|false`. List flags are repeatable and, like kube-proxy's, also
 * split on commas (`--cluster-cidr 10.244.0.0/16,fd00:10:244::/56`). `--` ends flags.
 */
import { parseCIDR, parseIP } from '../model/index.js';
import type { ParsedIP } from '../model/ip.js';
import { escapeText, quote } from './quote.js';
import { IPVS_SCHEDULERS } from '../render/ipvs/index.js';
import type { IpvsScheduler } from '../render/ipvs/types.js';

export const BACKENDS = ['nftables', 'iptables', 'ipvs'] as const;
export type Backend = (typeof BACKENDS)[number];

/** Commands kpx knows; `render` and `explain` are implemented so far. */
export const COMMANDS = ['render', 'explain', 'diff', 'run', 'cleanup'] as const;
export type CommandName = (typeof COMMANDS)[number];

export interface RenderArgs {
  readonly backend: Backend;
  /** `-f` paths in the order given; empty means the live cluster. `-` is stdin. */
  readonly files: readonly string[];
  readonly nodeName?: string;
  readonly clusterCIDRs: readonly string[];
  /** CIDRs, `primary` or `all`. Empty: the backend's default (nftables `primary`, else `all`). */
  readonly nodePortAddresses: readonly string[];
  readonly serviceCIDRs: readonly string[];
  readonly masqueradeAll: boolean;
  readonly masqueradeBit?: number;
  readonly kubeconfig?: string;
  /** kube-proxy's --ipvs-scheduler; the IPVS backend's default is rr. */
  readonly ipvsScheduler?: IpvsScheduler;
  readonly out?: string;
  /**
   * iptables/IPVS: print whole-table iptables-restore input (replaces the filter and nat
   * tables) instead of the default load script that touches only kube-proxy's chains.
   */
  readonly fullTables?: boolean;
}

export const EXPLAIN_PROTOCOLS = ['tcp', 'udp', 'sctp'] as const;

/** `kpx explain`: every render option (but --out) plus the packet; --backend defaults to nftables. */
export interface ExplainArgs extends Omit<RenderArgs, 'out' | 'fullTables'> {
  readonly src: string;
  readonly dst: string;
  readonly dport: number;
  readonly proto: (typeof EXPLAIN_PROTOCOLS)[number];
  readonly output: 'text' | 'json';
}

export type Command =
  | { readonly command: 'help'; readonly topic?: CommandName }
  | { readonly command: 'render'; readonly args: RenderArgs }
  | { readonly command: 'explain'; readonly args: ExplainArgs }
  | { readonly command: Exclude<CommandName, 'render' | 'explain'>; readonly argv: readonly string[] };

export type ParseResult =
  | { readonly ok: true; readonly value: Command }
  | { readonly ok: false; readonly error: string; readonly topic?: CommandName };

type FlagKind = 'string' | 'list' | 'bool';
export type RenderKey =
  | 'backend' | 'files' | 'nodeName' | 'clusterCIDRs' | 'nodePortAddresses' | 'serviceCIDRs'
  | 'masqueradeAll' | 'masqueradeBit' | 'kubeconfig' | 'ipvsScheduler' | 'out' | 'fullTables' | 'help'
  | 'src' | 'dst' | 'dport' | 'proto' | 'output'
  | 'proxyMode' | 'iptablesFlavour';

export interface FlagSpec {
  readonly key: RenderKey;
  readonly kind: FlagKind;
  /** List flags whose values are also split on commas. */
  readonly commas?: boolean;
}

export const RENDER_FLAGS: Readonly<Record<string, FlagSpec>> = {
  '--backend': { key: 'backend', kind: 'string' },
  '-f': { key: 'files', kind: 'list' },
  '--filename': { key: 'files', kind: 'list' },
  '--node-name': { key: 'nodeName', kind: 'string' },
  '--cluster-cidr': { key: 'clusterCIDRs', kind: 'list', commas: true },
  '--nodeport-addresses': { key: 'nodePortAddresses', kind: 'list', commas: true },
  '--service-cidr': { key: 'serviceCIDRs', kind: 'list', commas: true },
  '--masquerade-all': { key: 'masqueradeAll', kind: 'bool' },
  '--masquerade-bit': { key: 'masqueradeBit', kind: 'string' },
  '--kubeconfig': { key: 'kubeconfig', kind: 'string' },
  '--ipvs-scheduler': { key: 'ipvsScheduler', kind: 'string' },
  '--out': { key: 'out', kind: 'string' },
  '--full-tables': { key: 'fullTables', kind: 'bool' },
  '-h': { key: 'help', kind: 'bool' },
  '--help': { key: 'help', kind: 'bool' },
};

/** Parses `argv` without the node and script names (`process.argv.slice(2)`). */
export function parseArgs(argv: readonly string[]): ParseResult {
  const [first, ...rest] = argv;
  if (first === undefined) return { ok: false, error: 'no command given' };
  if (first === '-h' || first === '--help') return { ok: true, value: { command: 'help' } };
  if (first === 'help') {
    const topic = rest[0];
    if (topic === undefined) return { ok: true, value: { command: 'help' } };
    if (!isCommand(topic)) return { ok: false, error: `unknown command ${quote(topic)}` };
    return { ok: true, value: { command: 'help', topic } };
  }
  if (!isCommand(first)) {
    return { ok: false, error: first.startsWith('-') ? `unknown flag ${escapeText(first)}` : `unknown command ${quote(first)}` };
  }
  if (first === 'render') return parseRender(rest);
  if (first === 'explain') return parseExplain(rest);
  if (rest.includes('-h') || rest.includes('--help')) return { ok: true, value: { command: 'help', topic: first } };
  return { ok: true, value: { command: first, argv: rest } };
}

function isCommand(s: string): s is CommandName {
  return (COMMANDS as readonly string[]).includes(s);
}

export interface Raw {
  strings: Partial<Record<RenderKey, string>>;
  lists: Partial<Record<RenderKey, string[]>>;
  bools: Partial<Record<RenderKey, boolean>>;
}

const EXPLAIN_FLAGS: Readonly<Record<string, FlagSpec>> = {
  ...Object.fromEntries(Object.entries(RENDER_FLAGS).filter(([flag]) => flag !== '--out' && flag !== '--full-tables')),
  '--src': { key: 'src', kind: 'string' },
  '--dst': { key: 'dst', kind: 'string' },
  '--dport': { key: 'dport', kind: 'string' },
  '--proto': { key: 'proto', kind: 'string' },
  '--output': { key: 'output', kind: 'string' },
};

function parseRender(argv: readonly string[]): ParseResult {
  const fail = (error: string): ParseResult => ({ ok: false, error, topic: 'render' });
  const raw = parseFlags(argv, RENDER_FLAGS, fail);
  if (!('strings' in raw)) return raw;
  if (raw.bools.help === true) return { ok: true, value: { command: 'help', topic: 'render' } };
  return buildRenderArgs(raw, fail);
}

function parseExplain(argv: readonly string[]): ParseResult {
  const fail = (error: string): ParseResult => ({ ok: false, error, topic: 'explain' });
  const raw = parseFlags(argv, EXPLAIN_FLAGS, fail);
  if (!('strings' in raw)) return raw;
  if (raw.bools.help === true) return { ok: true, value: { command: 'help', topic: 'explain' } };
  raw.strings.backend ??= 'nftables';
  const base = buildRenderArgs(raw, fail);
  if (!base.ok || base.value.command !== 'render') return base;
  const { out: _out, fullTables: _fullTables, ...renderArgs } = base.value.args;
  const { src, dst, dport, proto = 'tcp', output = 'text' } = raw.strings;
  if (src === undefined || dst === undefined || dport === undefined) return fail('--src, --dst and --dport are required');
  const srcIP = packetAddress('--src', src);
  if (typeof srcIP === 'string') return fail(srcIP);
  const dstIP = packetAddress('--dst', dst);
  if (typeof dstIP === 'string') return fail(dstIP);
  if (srcIP.family !== dstIP.family) return fail(`--src ${srcIP.text} and --dst ${dstIP.text} are of different IP families`);
  if (!/^\d+$/.test(dport) || Number(dport) < 1 || Number(dport) > 65535) return fail(`--dport must be 1..65535, got ${quote(dport)}`);
  if (!(EXPLAIN_PROTOCOLS as readonly string[]).includes(proto)) return fail(`--proto must be one of ${EXPLAIN_PROTOCOLS.join(', ')}, got ${quote(proto)}`);
  if (output !== 'text' && output !== 'json') return fail(`--output must be text or json, got ${quote(output)}`);
  const args: ExplainArgs = {
    ...renderArgs, src: srcIP.text, dst: dstIP.text, dport: Number(dport), proto: proto as ExplainArgs['proto'], output,
  };
  return { ok: true, value: { command: 'explain', args } };
}

/** Flags of one command into `Raw`, or the usage error. */
export function parseFlags(argv: readonly string[], flags: Readonly<Record<string, FlagSpec>>, fail: (error: string) => ParseResult): Raw | ParseResult {
  const raw: Raw = { strings: {}, lists: {}, bools: {} };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      if (i + 1 < argv.length) return fail(`unexpected argument ${quote(argv[i + 1] ?? '')}`);
      break;
    }
    if (!arg.startsWith('-') || arg === '-') return fail(`unexpected argument ${quote(arg)}`);
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    const spec = flags[name];
    if (spec === undefined) return fail(`unknown flag ${escapeText(name)}`);

    if (spec.kind === 'bool') {
      if (inline === undefined || inline === 'true') raw.bools[spec.key] = true;
      else if (inline === 'false') raw.bools[spec.key] = false;
      else return fail(`${name} takes no value or =true|=false, got ${quote(inline)}`);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = argv[i + 1];
      // A value may be '-' (stdin) but not another flag.
      if (next === undefined || (next.startsWith('-') && next !== '-')) return fail(`${name} needs a value`);
      value = next;
      i++;
    }
    if (value === '') return fail(`${name} needs a non-empty value`);
    if (spec.kind === 'string') {
      if (raw.strings[spec.key] !== undefined) return fail(`${name} given more than once`);
      raw.strings[spec.key] = value;
    } else {
      const values = spec.commas === true ? value.split(',').map((v) => v.trim()) : [value];
      if (values.some((v) => v === '')) return fail(`${name}: empty element in ${quote(value)}`);
      (raw.lists[spec.key] ??= []).push(...values);
    }
  }
  return raw;
}

export function buildRenderArgs(raw: Raw, fail: (e: string) => ParseResult): ParseResult {
  const backend = raw.strings.backend;
  if (backend === undefined) return fail(`--backend is required (${BACKENDS.join('|')})`);
  if (!(BACKENDS as readonly string[]).includes(backend)) {
    return fail(`--backend must be one of ${BACKENDS.join(', ')}, got ${quote(backend)}`);
  }
  const clusterCIDRs = raw.lists.clusterCIDRs ?? [];
  const serviceCIDRs = raw.lists.serviceCIDRs ?? [];
  const nodePortAddresses = raw.lists.nodePortAddresses ?? [];
  for (const [flag, list] of [['--cluster-cidr', clusterCIDRs], ['--service-cidr', serviceCIDRs]] as const) {
    const bad = list.find((c) => !isCIDR(c));
    if (bad !== undefined) return fail(`${flag}: ${quote(bad)} is not a CIDR`);
  }
  const badNP = nodePortAddresses.find((c) => c !== 'primary' && c !== 'all' && !isCIDR(c));
  if (badNP !== undefined) return fail(`--nodeport-addresses: ${quote(badNP)} is not a CIDR, "primary" or "all"`);

  let masqueradeBit: number | undefined;
  const bitText = raw.strings.masqueradeBit;
  if (bitText !== undefined) {
    if (!/^\d+$/.test(bitText) || Number(bitText) > 31) {
      return fail(`--masquerade-bit must be an integer 0..31, got ${quote(bitText)}`);
    }
    masqueradeBit = Number(bitText);
  }

  const scheduler = raw.strings.ipvsScheduler;
  if (scheduler !== undefined && !(IPVS_SCHEDULERS as readonly string[]).includes(scheduler)) {
    return fail(`--ipvs-scheduler must be one of ${IPVS_SCHEDULERS.join(', ')}, got ${quote(scheduler)}`);
  }

  const args: RenderArgs = {
    backend: backend as Backend,
    files: raw.lists.files ?? [],
    clusterCIDRs,
    nodePortAddresses,
    serviceCIDRs,
    masqueradeAll: raw.bools.masqueradeAll ?? false,
    ...(raw.strings.nodeName !== undefined ? { nodeName: raw.strings.nodeName } : {}),
    ...(masqueradeBit !== undefined ? { masqueradeBit } : {}),
    ...(raw.strings.kubeconfig !== undefined ? { kubeconfig: raw.strings.kubeconfig } : {}),
    ...(scheduler !== undefined ? { ipvsScheduler: scheduler as IpvsScheduler } : {}),
    ...(raw.strings.out !== undefined ? { out: raw.strings.out } : {}),
    ...(raw.bools.fullTables === true ? { fullTables: true } : {}),
  };
  return { ok: true, value: { command: 'render', args } };
}

/** `addr/prefix` with a valid address and a prefix length in range for its family. */
export function isCIDR(s: string): boolean {
  return parseCIDR(s) !== undefined;
}

/**
 * A packet address for `explain`: an IPv4 or IPv6 address in canonical form, or the
 * error message. A zone (`fe80::1%eth0`) names an interface, which rules never match:
 * refused. An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) would be IPv4 to the model
 * and IPv6 on the wire: refused with the address to use instead.
 */
function packetAddress(flag: string, value: string): ParsedIP | string {
  if (value.includes('%')) return `${flag}: ${quote(value)}: an address with a zone is not supported; give it without the %zone`;
  if (value.includes(':') && parseIP(value)?.family === 'ipv4') {
    return `${flag}: ${quote(value)} is an IPv4-mapped IPv6 address; explain ${parseIP(value)!.text} (IPv4) instead`;
  }
  return parseIP(value) ?? `${flag}: ${quote(value)} is not an IP address`;
}
