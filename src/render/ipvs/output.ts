/**
 * What `kpx render --backend ipvs` prints, and what `--out DIR` writes. The IPVS state
 * has four kinds of parts, each for its own tool; stdout holds them one after another,
 * each under a header line `#### <file>: <load command> ####`, and `--out DIR` writes
 * each to `DIR/<file>` (IPVS_OUT_FILES). `splitIpvsOutput` recovers the files from stdout.
 * The parts themselves hold no comment lines (but the glue script's own), so each loads
 * exactly as printed.
 */
import type { IPFamily } from '../../model/types.js';
import type { RestoreForm } from '../restore.js';
import { toXtablesScript } from '../xtables-script.js';
import { glueJumps, toAddressBatch, toGlueRestore, toIpsetRestore, toIpvsadmRestore } from './format.js';
import { DUMMY_DEVICE } from './names.js';
import type { IpvsRuleset } from './types.js';

/**
 * `glue`: the iptables load script for every family (../xtables-script.ts: kpx's chains
 * with `--noflush`, jumps only when missing; idempotent). `iptables`/`ip6tables`: whole-table
 * restore input instead, with `--full-tables` (replaces the filter and nat tables).
 */
export type IpvsPart = 'ipset' | 'ipvsadm' | 'glue' | 'iptables' | 'ip6tables' | 'addresses';

/** File names `--out DIR` writes, and the order of the parts on stdout. */
export const IPVS_OUT_FILES: Readonly<Record<IpvsPart, string>> = {
  ipset: 'ipset.restore',
  ipvsadm: 'ipvsadm.rules',
  glue: 'iptables.sh',
  iptables: 'iptables.rules',
  ip6tables: 'ip6tables.rules',
  addresses: 'kube-ipvs0.batch',
};

/** How each part is loaded (also printed in its header). */
export const IPVS_LOAD_COMMANDS: Readonly<Record<IpvsPart, string>> = {
  ipset: 'ipset restore -exist',
  ipvsadm: 'ipvsadm-restore',
  glue: 'sh',
  iptables: 'iptables-restore',
  ip6tables: 'ip6tables-restore',
  addresses: `ip link add ${DUMMY_DEVICE} type dummy; ip -batch`,
};

const PART_ORDER: readonly IpvsPart[] = ['ipset', 'ipvsadm', 'glue', 'iptables', 'ip6tables', 'addresses'];
const GLUE_PART: Record<IPFamily, IpvsPart> = { ipv4: 'iptables', ipv6: 'ip6tables' };

/**
 * The parts as file name → content. Load order: ipset first (iptables rules name the
 * sets), then ipvsadm and the addresses, then the iptables glue (default: one script for
 * every family; `full`: whole-table restore input per family, ip6tables only for a
 * dual-stack or IPv6 node).
 */
export function ipvsFiles(r: IpvsRuleset, form: RestoreForm = 'noflush'): Map<string, string> {
  const parts = new Map<IpvsPart, string>([
    ['ipset', toIpsetRestore(r.families)],
    ['ipvsadm', toIpvsadmRestore(r.families)],
  ]);
  if (form === 'full') {
    for (const f of r.families) parts.set(GLUE_PART[f.family], toGlueRestore(f, { form }));
  } else {
    parts.set('glue', toXtablesScript(r.families.map((f) => ({ family: f.family, restore: toGlueRestore(f), jumps: glueJumps(f) }))));
  }
  parts.set('addresses', toAddressBatch(r.families));
  return new Map(PART_ORDER.filter((p) => parts.has(p)).map((p) => [IPVS_OUT_FILES[p], parts.get(p)!]));
}

const HEADER = /^#### (\S+): .* ####$/;

export function toIpvsOutput(r: IpvsRuleset, form: RestoreForm = 'noflush'): string {
  const out = [
    '# kpx IPVS ruleset: each part follows a "#### <file>: <load command> ####" header;',
    '# kpx render --backend ipvs --out DIR writes each part to DIR/<file>.',
  ];
  const commands = new Map(PART_ORDER.map((p) => [IPVS_OUT_FILES[p], IPVS_LOAD_COMMANDS[p]]));
  for (const [file, text] of ipvsFiles(r, form)) {
    out.push(`#### ${file}: ${commands.get(file) ?? ''} ####`);
    if (text !== '') out.push(text.replace(/\n$/, ''));
  }
  return `${out.join('\n')}\n`;
}

/** The files in `toIpvsOutput` text: file name → content (as `--out DIR` writes them). */
export function splitIpvsOutput(text: string): Map<string, string> {
  const files = new Map<string, string>();
  let current: string | undefined;
  for (const line of text.split('\n')) {
    const m = HEADER.exec(line);
    if (m) {
      current = m[1]!;
      files.set(current, '');
    } else if (current !== undefined && line !== '') {
      files.set(current, `${files.get(current)}${line}\n`);
    }
  }
  return files;
}
