/**
 * `kpx diff`: every `render` option plus `--proxy-mode`, `--output text|json` and
 * `--iptables-variant nft|legacy`. Builds the desired state as `render` does, reads this
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
import { ownedChains } from '../sync/cleanup/owned.js';
import { diffSnapshots, type DiffResult } from '../sync/diff/diff.js';
import { parseNftListing } from '../sync/diff/nft-listing.js';
import { mergeSnapshots, type Snapshot } from '../sync/diff/snapshot.js';
import { parseXtablesSave } from '../sync/diff/xtables-listing.js';
import { createExec, type Exec, type ExecResult } from '../sync/kernel/exec.js';
import type { ProxyState } from '../model/index.js';
import { buildRenderArgs, parseFlags, RENDER_FLAGS, type FlagSpec, type RenderArgs } from './args.js';
import { formatDiffJson, formatDiffText } from './diff-format.js';
import type { CliIO } from './output.js';
import { loadState } from './pipeline.js';
import { escapeText, quote } from './quote.js';

/** kpx diff's exit codes (as diff(1) and kubectl diff). */
export const DIFF_EXIT = { same: 0, differs: 1, error: 2 } as const;

export const IPTABLES_VARIANTS = ['nft', 'legacy'] as const;
export type IptablesVariant = (typeof IPTABLES_VARIANTS)[number];

export interface DiffArgs extends Omit<RenderArgs, 'out' | 'fullTables'> {
  readonly output: 'text' | 'json';
  /** iptables/ipvs: which iptables; undefined: the one holding kube-proxy's chains (nft when neither does). */
  readonly iptablesVariant?: IptablesVariant;
}

const DIFF_FLAGS: Readonly<Record<string, FlagSpec>> = {
  ...Object.fromEntries(Object.entries(RENDER_FLAGS).filter(([flag]) => flag !== '--out' && flag !== '--full-tables')),
  '--proxy-mode': { key: 'proxyMode', kind: 'string' },
  '--output': { key: 'output', kind: 'string' },
  '--iptables-variant': { key: 'iptablesVariant', kind: 'string' },
};

type DiffParse = { readonly ok: true; readonly args: DiffArgs } | { readonly ok: false; readonly error: string } | { readonly ok: 'help' };

/** Pure: argv after `diff` → DiffArgs. `--proxy-mode` and `--backend` name the same thing; default nftables. */
export function parseDiffArgs(argv: readonly string[]): DiffParse {
  const fail = (error: string): { ok: false; error: string } => ({ ok: false, error });
  const raw = parseFlags(argv, DIFF_FLAGS, (error) => ({ ok: false, error }));
  if (!('strings' in raw)) return fail(raw.ok ? 'bad arguments' : raw.error);
  if (raw.bools.help === true) return { ok: 'help' };
  const { proxyMode, backend, output = 'text', iptablesVariant } = raw.strings;
  if (proxyMode !== undefined && backend !== undefined && proxyMode !== backend) return fail(`--proxy-mode ${quote(proxyMode)} and --backend ${quote(backend)} disagree`);
  raw.strings.backend = proxyMode ?? backend ?? 'nftables';
  const base = buildRenderArgs(raw, (error) => ({ ok: false, error }));
  if (!base.ok) return fail(base.error.replace(/^--backend/, '--proxy-mode'));
  if (base.value.command !== 'render') return fail('bad arguments');
  const { out: _out, fullTables: _full, ...renderArgs } = base.value.args;
  if (output !== 'text' && output !== 'json') return fail(`--output must be text or json, got ${quote(output)}`);
  if (iptablesVariant !== undefined && !(IPTABLES_VARIANTS as readonly string[]).includes(iptablesVariant)) {
    return fail(`--iptables-variant must be one of ${IPTABLES_VARIANTS.join(', ')}, got ${quote(iptablesVariant)}`);
  }
  return { ok: true, args: { ...renderArgs, output, ...(iptablesVariant !== undefined ? { iptablesVariant: iptablesVariant as IptablesVariant } : {}) } };
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

const XT_TOOLS: Readonly<Record<IptablesVariant, readonly [string, string]>> = {
  nft: ['iptables-nft', 'ip6tables-nft'],
  legacy: ['iptables-legacy', 'ip6tables-legacy'],
};

/** The variant holding kube-proxy's KUBE-SERVICES chain, nft first; nft when neither does. */
async function pickVariant(exec: Exec): Promise<IptablesVariant> {
  for (const v of IPTABLES_VARIANTS) {
    for (const tool of XT_TOOLS[v]) {
      const r = await exec([`${tool}-save`]);
      if (r.code === 0 && /^:KUBE-SERVICES /m.test(r.stdout)) return v;
    }
  }
  return 'nft';
}

async function iptablesDesired(state: ProxyState, variant: IptablesVariant, exec: Exec): Promise<{ snapshot: Snapshot; chains: Set<string> }> {
  const script = toIptablesOutput(renderIptablesFamilies(state), 'noflush');
  const [v4, v6] = XT_TOOLS[variant];
  // The load script (`sh`) into a scratch namespace, then both families saved back.
  const cmd = `IPTABLES=${v4} IP6TABLES=${v6} sh -s >/dev/null && ${v4}-save && echo '#### ip6tables' && ${v6}-save`;
  const out = check(await exec(['unshare', '--net', 'sh', '-c', cmd], script), `loading the desired rules into a scratch namespace (unshare --net, ${v4})`);
  const [four = '', six = ''] = out.split("#### ip6tables\n");
  const all = (): boolean => true;
  const snapshot = mergeSnapshots(parseXtablesSave(four, 'iptables', all), parseXtablesSave(six, 'ip6tables', all));
  const chains = new Set([...snapshot.chains.keys()].map((k) => k.split(' ').slice(1).join(' ')));
  return { snapshot, chains };
}

async function iptablesCurrent(variant: IptablesVariant, desiredChains: ReadonlySet<string>, exec: Exec): Promise<Snapshot> {
  const owned = ownedChains(['iptables']);
  const include = (table: string, chain: string): boolean => desiredChains.has(`${table} ${chain}`) || chain.startsWith('KPX-')
    || ((table === 'nat' || table === 'filter' || table === 'mangle') && (owned[table].names.has(chain) || owned[table].prefixes.some((p) => chain.startsWith(p))));
  const [v4, v6] = XT_TOOLS[variant];
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
      const variant = args.iptablesVariant ?? await pickVariant(exec);
      const desired = await iptablesDesired(state, variant, exec);
      return diffSnapshots(desired.snapshot, await iptablesCurrent(variant, desired.chains, exec));
    }
    case 'ipvs':
      throw new DiffReadError('kpx diff --proxy-mode ipvs is not implemented yet');
  }
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
