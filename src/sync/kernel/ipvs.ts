/**
 * The IPVS kernel adapter: the only code that runs ipset, ipvsadm, ip, iptables and
 * sysctl for the IPVS proxier. Argument arrays and stdin through one Exec (exec.ts),
 * never a shell; stderr parsed in one place (ipvs-error.ts). Writes send only what the
 * proxier asks for (`ipvsadm -R` with just the changed lines, `ipset restore -exist`
 * with just the changed entries); reads list the kernel (full syncs, graceful termination).
 */
import type { IPFamily } from '../../model/types.js';
import type { BuiltinJump } from '../../render/restore.js';
import { DUMMY_DEVICE } from '../../render/ipvs/names.js';
import { createSpawnExec, type Exec } from './exec.js';
import { IpvsUnavailableError, parseToolError } from './ipvs-error.js';
import {
  parseAddrShow, parseIpsetSave, parseIpvsList, parseIpvsSave, serviceArgs, type KService, type KSet, type KVirtualServer,
} from './ipvs-state.js';

export type Connections = Map<string, { active: number; inactive: number }>;

export interface IpvsKernel {
  /** `ipset save`: kpx's sets (KUBE-*, KPX-*). */
  readSets(): Promise<Map<string, KSet>>;
  /** `ipset restore -exist` of these lines (create/add/del/flush/destroy). */
  ipsetRestore(lines: readonly string[]): Promise<void>;
  /** `ipvsadm -S -n`: every virtual server (foreign ones too). */
  readServices(): Promise<Map<string, KService>>;
  /** `ipvsadm -L -n -t|-u|--sctp-service VS`: connection counts of its real servers. */
  connections(vs: KVirtualServer): Promise<Connections>;
  /** `ipvsadm -R` of these lines (-A/-E/-D/-a/-e/-d). */
  ipvsRestore(lines: readonly string[]): Promise<void>;
  /** `ipvsadm --set TCP TCPFIN UDP` (seconds; 0 leaves a value unchanged). */
  setTimeouts(tcp: number, tcpfin: number, udp: number): Promise<void>;
  /** Addresses on kube-ipvs0; undefined when the link does not exist. */
  readAddresses(): Promise<Set<string> | undefined>;
  /** Creates kube-ipvs0 (a dummy link) and sets it up. */
  createDevice(): Promise<void>;
  /** `ip -batch -` of these lines (`address add|del …`). */
  addressBatch(lines: readonly string[]): Promise<void>;
  /** `iptables-restore -w --noflush` (ip6tables-restore for IPv6) of kpx's glue chains. */
  glueRestore(family: IPFamily, text: string): Promise<void>;
  /** Each jump checked (`-C`) and inserted at the top (`-I CHAIN 1`) when missing; returns how many were inserted. */
  ensureJumps(family: IPFamily, jumps: readonly BuiltinJump[]): Promise<number>;
  /** `sysctl -w NAME=VALUE` (kpx's own network namespace). */
  sysctl(name: string, value: string): Promise<void>;
}

export interface IpvsKernelOptions {
  /** Default: spawn the tools (createSpawnExec()). */
  readonly exec?: Exec;
  /** `iptables` (default) or `iptables-legacy` …; the IPv6 tool is the same name with ip6. */
  readonly iptables?: string;
}

/** Sets kpx owns: kube-proxy's and its own. */
export const ownSet = (name: string): boolean => name.startsWith('KUBE-') || name.startsWith('KPX-');

export function createIpvsKernel(options: IpvsKernelOptions = {}): IpvsKernel {
  const exec = options.exec ?? createSpawnExec();
  const ipt = options.iptables ?? 'iptables';
  const tool = (f: IPFamily): string => (f === 'ipv6' ? ipt.replace(/^iptables/, 'ip6tables') : ipt);

  const run = async (argv: readonly string[], input?: string): Promise<string> => {
    const r = await exec(argv, input);
    if (r.code === 127) throw new IpvsUnavailableError(`${argv[0]} not found: install it (ipvsadm, ipset, iproute2, iptables)`);
    if (r.code !== 0) throw parseToolError(argv, r.code, r.stderr, input);
    return r.stdout;
  };
  const lines = (l: readonly string[]): string => l.map((x) => `${x}\n`).join('');

  return {
    async readSets() { return parseIpsetSave(await run(['ipset', 'save']), ownSet); },
    async ipsetRestore(l) { if (l.length > 0) await run(['ipset', 'restore', '-exist'], lines(l)); },
    async readServices() { return parseIpvsSave(await run(['ipvsadm', '-S', '-n'])); },
    async connections(vs) {
      const key = `${vs.protocol} ${serviceArgs(vs)[1]}`;
      return parseIpvsList(await run(['ipvsadm', '-L', '-n', ...serviceArgs(vs)])).get(key) ?? new Map();
    },
    async ipvsRestore(l) { if (l.length > 0) await run(['ipvsadm', '-R'], lines(l)); },
    async setTimeouts(tcp, tcpfin, udp) { await run(['ipvsadm', '--set', String(tcp), String(tcpfin), String(udp)]); },
    async readAddresses() {
      const r = await exec(['ip', '-o', 'addr', 'show', 'dev', DUMMY_DEVICE]);
      if (r.code === 127) throw new IpvsUnavailableError('ip not found: install iproute2');
      if (r.code !== 0) {
        if (/does not exist|Cannot find device/i.test(r.stderr)) return undefined;
        throw parseToolError(['ip', '-o', 'addr', 'show', 'dev', DUMMY_DEVICE], r.code, r.stderr);
      }
      return parseAddrShow(r.stdout);
    },
    async createDevice() {
      await run(['ip', 'link', 'add', DUMMY_DEVICE, 'type', 'dummy']);
      await run(['ip', 'link', 'set', DUMMY_DEVICE, 'up']);
    },
    async addressBatch(l) { if (l.length > 0) await run(['ip', '-batch', '-'], lines(l)); },
    async glueRestore(family, text) { await run([`${tool(family)}-restore`, '-w', '--noflush'], text); },
    async ensureJumps(family, jumps) {
      let inserted = 0;
      // Inserted at the top in reverse, so that they end up in rendered order.
      for (const j of [...jumps].reverse()) {
        const check = await exec([tool(family), '-w', '-t', j.table, '-C', j.chain, ...j.args]);
        if (check.code === 0) continue;
        await run([tool(family), '-w', '-t', j.table, '-I', j.chain, '1', ...j.args]);
        inserted++;
      }
      return inserted;
    },
    async sysctl(name, value) { await run(['sysctl', '-w', `${name}=${value}`]); },
  };
}
