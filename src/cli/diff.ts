/**
 * `kpx diff`: every `render` option plus `--proxy-mode`, `--output text|json` and
 * `--iptables-flavour auto|nft|legacy` (as `kpx run`'s). Builds the desired state as `render` does, reads this
 * namespace's current kpx state for that backend and prints what a sync would change,
 * grouped by Service. Exit 0 nothing would change, 1 something would, 2 error.
 *
 * Both sides are compared in the kernel tools' own canonical form: the desired rules are
 * loaded into a scratch network namespace (`unshare -n`, gone when the command ends; the
 * node's namespace is only read) and listed back, so spelling differences between kpx's
 * printer and the kernel's listing never show up as changes.
 */
import { renderNftables, toNftScript } from '../render/nftables/index.js';
import { renderIptablesFamilies, toIptablesOutput } from '../render/iptables/index.js';
import { renderIpvsFamilies, splitIpvsOutput, toIpvsOutput } from '../render/ipvs/index.js';
import { IPVS_DUMMY_DEVICE, IPVS_SET_NAMES } from '../sync/cleanup/owned.js';
import { parseDeviceAddresses, parseIpsetSave, parseIpvsadm, serviceIndex } from '../sync/diff/ipvs-listing.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ownedChains } from '../sync/cleanup/owned.js';
import { diffSnapshots, type DiffResult } from '../sync/diff/diff.js';
import { parseNftListing } from '../sync/diff/nft-listing.js';
import { mergeSnapshots, type Snapshot } from '../sync/diff/snapshot.js';
import { parseXtablesSave } from '../sync/diff/xtables-listing.js';
import { createExec, type Exec, type ExecResult } from '../sync/kernel/exec.js';
import { toolName } from '../sync/kernel/iptables.js';
import { detectFlavour, IPTABLES_FLAVOURS, type FlavourChoice, type IptablesFlavour } from '../sync/kernel/iptables-flavour.js';
import type { ProxyState } from '../model/index.js';
import { buildRenderArgs, parseFlags, RENDER_FLAGS, type FlagSpec, type RenderArgs } from './args.js';
import { formatDiffJson, formatDiffText } from './diff-format.js';
import type { CliIO } from './output.js';
import { loadState } from './pipeline.js';
import { escapeText, quote } from './quote.js';

/** kpx diff's exit codes (as diff(1) and kubectl diff). */
export const DIFF_EXIT = { same: 0, differs: 1, error: 2 } as const;

export interface DiffArgs extends Omit<RenderArgs, 'out' | 'fullTables'> {
  readonly output: 'text' | 'json';
  /** iptables/ipvs: which iptables; auto (default): detected as `kpx run` detects it (iptables-flavour.ts). */
  readonly iptablesFlavour: FlavourChoice;
}

const DIFF_FLAGS: Readonly<Record<string, FlagSpec>> = {
  ...Object.fromEntries(Object.entries(RENDER_FLAGS).filter(([flag]) => flag !== '--out' && flag !== '--full-tables')),
  '--proxy-mode': { key: 'proxyMode', kind: 'string' },
  '--output': { key: 'output', kind: 'string' },
  '--iptables-flavour': { key: 'iptablesFlavour', kind: 'string' },
};

type DiffParse = { readonly ok: true; readonly args: DiffArgs } | { readonly ok: false; readonly error: string } | { readonly ok: 'help' };

/** Pure: argv after `diff` → DiffArgs. `--proxy-mode` and `--backend` name the same thing; default nftables. */
export function parseDiffArgs(argv: readonly string[]): DiffParse {
  const fail = (error: string): { ok: false; error: string } => ({ ok: false, error });
  const raw = parseFlags(argv, DIFF_FLAGS, (error) => ({ ok: false, error }));
  if (!('strings' in raw)) return fail(raw.ok ? 'bad arguments' : raw.error);
  if (raw.bools.help === true) return { ok: 'help' };
  const { proxyMode, backend, output = 'text', iptablesFlavour = 'auto' } = raw.strings;
  if (proxyMode !== undefined && backend !== undefined && proxyMode !== backend) return fail(`--proxy-mode ${quote(proxyMode)} and --backend ${quote(backend)} disagree`);
  raw.strings.backend = proxyMode ?? backend ?? 'nftables';
  const base = buildRenderArgs(raw, (error) => ({ ok: false, error }));
  if (!base.ok) return fail(base.error.replace(/^--backend/, '--proxy-mode'));
  if (base.value.command !== 'render') return fail('bad arguments');
  const { out: _out, fullTables: _full, ...renderArgs } = base.value.args;
  if (output !== 'text' && output !== 'json') return fail(`--output must be text or json, got ${quote(output)}`);
  if (!(IPTABLES_FLAVOURS as readonly string[]).includes(iptablesFlavour)) {
    return fail(`--iptables-flavour must be one of ${IPTABLES_FLAVOURS.join(', ')}, got ${quote(iptablesFlavour)}`);
  }
  return { ok: true, args: { ...renderArgs, output, iptablesFlavour: iptablesFlavour as FlavourChoice } };
}

export class DiffReadError extends Error {}

function check(r: ExecResult, what: string): string {
  if (r.missing) throw new DiffReadError(`${what}: the tool is not installed`);
  if (r.code !== 0) throw new DiffReadError(`${what} failed (exit ${r.code}): ${(r.stderr.trim() || r.stdout.trim()).split('\n')[0] ?? ''}`);
  return r.stdout;
}

/** The desired nft tables, loaded into a scratch namespace and listed back. */
async function nftDesired(state: ProxyState, exec: Exec): Promise<Snapshot> {
  const script = toNftScript(renderNftables(state));
  const r = await exec(['unshare', '--net', 'sh', '-c', 'nft -f - && nft list ruleset'], script);
  return parseNftListing(check(r, 'loading the desired rules into a scratch namespace (unshare --net, nft)'));
}

async function nftCurrent(exec: Exec): Promise<Snapshot> {
  let text = '';
  for (const family of ['ip', 'ip6']) {
    const r = await exec(['nft', 'list', 'table', family, 'kube-proxy']);
    if (r.code !== 0 && !r.missing && /No such file or directory/.test(r.stderr)) continue;
    text += check(r, `nft list table ${family} kube-proxy`);
  }
  return parseNftListing(text);
}

/** The flavour's iptables and ip6tables (iptables-nft, ip6tables-nft …), named as the proxier names them. */
const xtTools = (flavour: IptablesFlavour): readonly [string, string] => [toolName('ipv4', flavour, ''), toolName('ipv6', flavour, '')];

/** The flavour named, or for auto the one `kpx run` would pick here (kubelet's marker chains; none: nft). */
export async function pickFlavour(choice: FlavourChoice, exec: Exec): Promise<IptablesFlavour> {
  if (choice !== 'auto') return choice;
  return detectFlavour(async (argv) => {
    const r = await exec(argv);
    return r.code === 0 ? r.stdout : undefined;
  });
}

async function iptablesDesired(state: ProxyState, flavour: IptablesFlavour, exec: Exec): Promise<{ snapshot: Snapshot; chains: Set<string> }> {
  const script = toIptablesOutput(renderIptablesFamilies(state), 'noflush');
  const [v4, v6] = xtTools(flavour);
  // The load script (`sh`) into a scratch namespace, then both families saved back.
  const cmd = `IPTABLES=${v4} IP6TABLES=${v6} sh -s >/dev/null && ${v4}-save && echo '#### ip6tables' && ${v6}-save`;
  const out = check(await exec(['unshare', '--net', 'sh', '-c', cmd], script), `loading the desired rules into a scratch namespace (unshare --net, ${v4})`);
  const [four = '', six = ''] = out.split("#### ip6tables\n");
  const all = (): boolean => true;
  const snapshot = mergeSnapshots(parseXtablesSave(four, 'iptables', all), parseXtablesSave(six, 'ip6tables', all));
  const chains = new Set([...snapshot.chains.keys()].map((k) => k.split(' ').slice(1).join(' ')));
  return { snapshot, chains };
}

async function iptablesCurrent(flavour: IptablesFlavour, desiredChains: ReadonlySet<string>, exec: Exec, mode: 'iptables' | 'ipvs' = 'iptables'): Promise<Snapshot> {
  const owned = ownedChains([mode]);
  const include = (table: string, chain: string): boolean => desiredChains.has(`${table} ${chain}`) || chain.startsWith('KPX-')
    || ((table === 'nat' || table === 'filter' || table === 'mangle') && (owned[table].names.has(chain) || owned[table].prefixes.some((p) => chain.startsWith(p))));
  const [v4, v6] = xtTools(flavour);
  return mergeSnapshots(
    parseXtablesSave(check(await exec([`${v4}-save`]), `${v4}-save`), 'iptables', include),
    parseXtablesSave(check(await exec([`${v6}-save`]), `${v6}-save`), 'ip6tables', include),
  );
}

/** Desired vs current for the backend; throws DiffReadError. */
export async function computeDiff(state: ProxyState, args: DiffArgs, exec: Exec): Promise<DiffResult> {
  switch (args.backend) {
    case 'nftables':
      return diffSnapshots(await nftDesired(state, exec), await nftCurrent(exec));
    case 'iptables': {
      const flavour = await pickFlavour(args.iptablesFlavour, exec);
      const desired = await iptablesDesired(state, flavour, exec);
      return diffSnapshots(desired.snapshot, await iptablesCurrent(flavour, desired.chains, exec));
    }
    case 'ipvs':
      return ipvsDiff(state, args, exec);
  }
}

const SET_NAMES = new Set(IPVS_SET_NAMES);

/**
 * IPVS mode: ipsets and the iptables glue are loaded into a scratch namespace and read
 * back (the glue needs the sets); virtual servers cannot be (no ip_vs there, nor on every
 * machine), so the rendered ipvsadm-restore lines are compared with `ipvsadm -Sn` as
 * they are; kube-ipvs0's addresses with `ip -o addr`.
 */
async function ipvsDiff(state: ProxyState, args: DiffArgs, exec: Exec): Promise<DiffResult> {
  const parts = splitIpvsOutput(toIpvsOutput(renderIpvsFamilies(state, args.ipvsScheduler !== undefined ? { scheduler: args.ipvsScheduler } : {}), 'noflush'));
  const owner = serviceIndex(state);
  const flavour = await pickFlavour(args.iptablesFlavour, exec);
  const [v4, v6] = xtTools(flavour);
  const dir = await mkdtemp(join(tmpdir(), 'kpx-diff-'));
  let out: string;
  try {
    await writeFile(join(dir, 'ipset.restore'), parts.get('ipset.restore') ?? '');
    await writeFile(join(dir, 'iptables.sh'), parts.get('iptables.sh') ?? '');
    const cmd = `ipset restore -exist < "$1/ipset.restore" && IPTABLES=${v4} IP6TABLES=${v6} sh "$1/iptables.sh" >/dev/null && ipset save`
      + ` && echo '#### iptables' && ${v4}-save && echo '#### ip6tables' && ${v6}-save`;
    out = check(await exec(['unshare', '--net', 'sh', '-c', cmd, 'sh', dir]), `loading the desired rules into a scratch namespace (unshare --net, ipset, ${v4})`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const [sets = '', rest = ''] = out.split('#### iptables\n');
  const [four = '', six = ''] = rest.split('#### ip6tables\n');
  const all = (): boolean => true;
  const desiredXt = mergeSnapshots(parseXtablesSave(four, 'iptables', all), parseXtablesSave(six, 'ip6tables', all));
  const desired = mergeSnapshots(
    parseIpsetSave(sets, (n) => SET_NAMES.has(n), owner),
    parseIpvsadm(parts.get('ipvsadm.rules') ?? '', owner),
    parseDeviceAddresses(parts.get('kube-ipvs0.batch') ?? '', IPVS_DUMMY_DEVICE, owner),
    desiredXt,
  );

  const currentSets = parseIpsetSave(check(await exec(['ipset', 'save']), 'ipset save'), (n) => SET_NAMES.has(n), owner);
  // Without ip_vs loaded there is no virtual server (and ipvsadm would try to load it).
  const loaded = (await exec(['test', '-e', '/proc/net/ip_vs'])).code === 0;
  const currentVs = parseIpvsadm(loaded ? check(await exec(['ipvsadm', '-Sn']), 'ipvsadm -Sn') : '', owner);
  const link = await exec(['ip', 'link', 'show', 'dev', IPVS_DUMMY_DEVICE]);
  const currentDev = link.code === 0
    ? parseDeviceAddresses(check(await exec(['ip', '-o', 'addr', 'show', 'dev', IPVS_DUMMY_DEVICE]), 'ip addr show dev kube-ipvs0'), IPVS_DUMMY_DEVICE, owner)
    : { containers: new Map(), chains: new Map() };
  const chains = new Set([...desiredXt.chains.keys()].map((k) => k.split(' ').slice(1).join(' ')));
  const currentXt = await iptablesCurrent(flavour, chains, exec, 'ipvs');
  return diffSnapshots(desired, mergeSnapshots(currentSets, currentVs, currentDev, currentXt));
}

export async function diffCommand(argv: readonly string[], io: CliIO, exec: Exec = createExec()): Promise<number> {
  const parsed = parseDiffArgs(argv);
  if (parsed.ok === 'help') return DIFF_EXIT.same;
  if (parsed.ok === false) {
    io.stderr(`kpx: ${parsed.error} (run 'kpx diff --help' for usage)\n`);
    return DIFF_EXIT.error;
  }
  const { args } = parsed;
  const loaded = await loadState(args, io, 'diffing');
  if (!loaded.ok) return DIFF_EXIT.error;
  let result: DiffResult;
  try {
    result = await computeDiff(loaded.state, args, exec);
  } catch (err) {
    if (!(err instanceof DiffReadError)) throw err;
    io.stderr(`kpx: ${escapeText(err.message, 1000)}\n`);
    return DIFF_EXIT.error;
  }
  io.stdout(args.output === 'json' ? formatDiffJson(result) : formatDiffText(result));
  return result.total === 0 ? DIFF_EXIT.same : DIFF_EXIT.differs;
}
