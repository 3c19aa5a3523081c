/**
 * `kpx cleanup`, `kpx run --cleanup` and the takeover step: removes what kube-proxy (any
 * mode) or kpx left in this network namespace, and nothing else (owned.ts lists it, with
 * the upstream sources). Every item is tried; each outcome is reported, never thrown.
 * A tool that is not installed or a table that does not exist means nothing to clean.
 */
import type { Exec, ExecResult } from '../kernel/exec.js';
import { IPVS_DUMMY_DEVICE, IPVS_SET_NAMES, NFT_TABLES, ownedChains, type CleanupMode, type XtTable } from './owned.js';
import { parseSave, planTable } from './xtables-plan.js';
import { isServiceChainName as isServiceChain } from '../../render/iptables/names.js';

export interface CleanupItem {
  /** What it is about, e.g. `nftables table ip kube-proxy`, `iptables-nft nat`. */
  readonly what: string;
  readonly outcome: 'removed' | 'absent' | 'failed';
  readonly detail?: string;
}

const XT_TABLES: readonly XtTable[] = ['nat', 'filter', 'mangle'];

/** iptables variants by family: the nft and legacy flavours; plain `iptables` when neither is installed. */
const XT_TOOLS: readonly (readonly string[])[] = [
  ['iptables-nft', 'iptables-legacy', 'iptables'],
  ['ip6tables-nft', 'ip6tables-legacy', 'ip6tables'],
];

function firstLine(r: ExecResult): string {
  return (r.stderr.trim() || r.stdout.trim()).split('\n')[0] ?? `exit ${r.code}`;
}

async function nftables(exec: Exec): Promise<CleanupItem[]> {
  const items: CleanupItem[] = [];
  for (const t of NFT_TABLES) {
    const what = `nftables table ${t.family} ${t.name}`;
    const r = await exec(['nft', 'delete', 'table', t.family, t.name]);
    if (r.missing) return [{ what: 'nftables', outcome: 'absent', detail: 'nft is not installed' }];
    if (r.code === 0) items.push({ what, outcome: 'removed' });
    else if (/No such file or directory/.test(r.stderr)) items.push({ what, outcome: 'absent' });
    else items.push({ what, outcome: 'failed', detail: firstLine(r) });
  }
  return items;
}

/** `12 chains: KUBE-SERVICES KUBE-MARK-MASQ and 10 per-Service chains` (a node has thousands of KUBE-SVC/SEP…). */
function describeChains(chains: readonly string[]): string {
  const perService = chains.filter((c) => isServiceChain(c));
  const fixed = chains.filter((c) => !isServiceChain(c));
  const tail = perService.length > 0 ? `${fixed.length > 0 ? ' and ' : ''}${perService.length} per-Service chains` : '';
  return `${chains.length} chains: ${fixed.join(' ')}${tail}`;
}

async function xtables(exec: Exec, modes: readonly CleanupMode[]): Promise<CleanupItem[]> {
  const owned = ownedChains(modes);
  const items: CleanupItem[] = [];
  for (const family of XT_TOOLS) {
    let found = false;
    for (const tool of family) {
      if (found && !tool.includes('-')) break; // plain iptables only when no flavoured tool exists
      const save = await exec([`${tool}-save`]);
      if (save.missing) continue;
      found = true;
      if (save.code !== 0) {
        items.push({ what: tool, outcome: 'failed', detail: `${tool}-save: ${firstLine(save)}` });
        continue;
      }
      for (const table of parseSave(save.stdout)) {
        if (!(XT_TABLES as readonly string[]).includes(table.name)) continue;
        const plan = planTable(table, owned[table.name as XtTable]);
        const what = `${tool} ${table.name}`;
        for (const [chain, user] of plan.kept) {
          items.push({ what: `${what} chain ${chain}`, outcome: 'failed', detail: `left in place: chain ${user} jumps to it` });
        }
        if (plan.restore === undefined) continue;
        const r = await exec([`${tool}-restore`, '-w', '--noflush'], plan.restore);
        if (r.code === 0) items.push({ what, outcome: 'removed', detail: describeChains(plan.remove) });
        else items.push({ what, outcome: 'failed', detail: `${tool}-restore: ${firstLine(r)}` });
      }
    }
  }
  return items;
}

async function ipvs(exec: Exec): Promise<CleanupItem[]> {
  const items: CleanupItem[] = [];
  // Upstream bails out when ip_vs cannot be loaded; kpx never loads a module: without
  // /proc/net/ip_vs there are no virtual servers (ipvsadm itself would try modprobe).
  const loaded = await exec(['test', '-e', '/proc/net/ip_vs']);
  if (loaded.code !== 0) {
    items.push({ what: 'IPVS virtual servers', outcome: 'absent', detail: 'ip_vs is not loaded' });
  } else {
    const list = await exec(['ipvsadm', '-Sn']);
    if (list.missing) items.push({ what: 'IPVS virtual servers', outcome: 'absent', detail: 'ipvsadm is not installed' });
    else {
      const count = list.stdout.split('\n').filter((l) => l.startsWith('-A ')).length;
      if (count === 0 && list.code === 0) items.push({ what: 'IPVS virtual servers', outcome: 'absent' });
      else {
        // Upstream flushes every virtual server (libipvs Flush, the same as `ipvsadm -C`).
        const r = await exec(['ipvsadm', '-C']);
        items.push(r.code === 0
          ? { what: 'IPVS virtual servers', outcome: 'removed', detail: `${count} (ipvsadm -C, as kube-proxy)` }
          : { what: 'IPVS virtual servers', outcome: 'failed', detail: firstLine(r) });
      }
    }
  }
  const what = `link ${IPVS_DUMMY_DEVICE}`;
  const show = await exec(['ip', 'link', 'show', 'dev', IPVS_DUMMY_DEVICE]);
  if (show.missing) items.push({ what, outcome: 'absent', detail: 'ip is not installed' });
  else if (show.code !== 0) items.push({ what, outcome: 'absent' });
  else {
    const r = await exec(['ip', 'link', 'delete', 'dev', IPVS_DUMMY_DEVICE]);
    items.push(r.code === 0 ? { what, outcome: 'removed' } : { what, outcome: 'failed', detail: firstLine(r) });
  }
  return items;
}

async function ipsets(exec: Exec): Promise<CleanupItem[]> {
  const list = await exec(['ipset', 'list', '-n']);
  if (list.missing) return [{ what: 'ipsets', outcome: 'absent', detail: 'ipset is not installed' }];
  if (list.code !== 0) return [{ what: 'ipsets', outcome: 'failed', detail: firstLine(list) }];
  const present = new Set(list.stdout.split('\n').map((l) => l.trim()));
  const items: CleanupItem[] = [];
  for (const name of IPVS_SET_NAMES.filter((n) => present.has(n))) {
    const r = await exec(['ipset', 'destroy', name]);
    items.push(r.code === 0 ? { what: `ipset ${name}`, outcome: 'removed' } : { what: `ipset ${name}`, outcome: 'failed', detail: firstLine(r) });
  }
  return items;
}

/**
 * Removes the leftovers of the given modes, in upstream's order (iptables chains before
 * the ipsets they reference). Returns one item per thing looked at.
 */
export async function cleanupModes(modes: readonly CleanupMode[], exec: Exec): Promise<CleanupItem[]> {
  const items: CleanupItem[] = [];
  if (modes.includes('nftables')) items.push(...await nftables(exec));
  if (modes.includes('iptables') || modes.includes('ipvs')) items.push(...await xtables(exec, modes));
  if (modes.includes('ipvs')) {
    items.push(...await ipvs(exec));
    items.push(...await ipsets(exec));
  }
  return items;
}

/** The modes whose leftovers kube-proxy removes when it starts in `mode` (server_linux.go platformCleanup). */
export function takeoverModes(mode: CleanupMode): CleanupMode[] {
  return mode === 'nftables' ? ['iptables', 'ipvs'] : ['nftables'];
}
