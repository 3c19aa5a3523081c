/**
 * The iptables kernel adapter: the only code that runs iptables tools. Restore input
 * goes on stdin (`iptables-restore -w 5 --noflush`), commands are argument arrays,
 * never a shell string. Errors are parsed in one place (iptables-error.ts).
 *
 * Atomicity: iptables-restore commits each `*table … COMMIT` section on its own. A
 * failing section changes nothing of that table, but sections before it stay applied.
 */
import { runTool as runArgv, type ToolRun as Run } from './exec.js';
import type { IPFamily } from '../../model/types.js';
import { IptablesError, IptablesUnavailableError, parseIptablesStderr } from './iptables-error.js';
import { detectFlavour, type FlavourChoice, type IptablesFlavour } from './iptables-flavour.js';

/** What a proxier needs from iptables (ipv4: iptables, ipv6: ip6tables). */
export interface IptablesKernel {
  readonly flavour: IptablesFlavour;
  /** `iptables-restore -w 5 --noflush` with `input` on stdin; throws IptablesError. */
  restore(family: IPFamily, input: string): Promise<void>;
  /**
   * kube-proxy's EnsureRule at the top: `iptables -w 5 -t TABLE -C CHAIN ARGS`, and when
   * that fails `-I CHAIN 1 ARGS`. True when the rule was inserted.
   */
  ensureRule(family: IPFamily, table: string, chain: string, args: readonly string[]): Promise<boolean>;
  /** `iptables -w 5 -t TABLE -n -L CHAIN` succeeds (upstream's ChainExists). */
  chainExists(family: IPFamily, table: string, chain: string): Promise<boolean>;
  /** `iptables-save -t TABLE`: for one-off use (full syncs, tests), never on an incremental sync. */
  save(family: IPFamily, table: string): Promise<string>;
}

export interface IptablesKernelOptions {
  /** nft or legacy: binaries `iptables-nft`, `iptables-nft-restore`, ... */
  readonly flavour: IptablesFlavour;
  /** A command prefix, e.g. `['ip', 'netns', 'exec', NS]` for tests; none in production. */
  readonly prefix?: readonly string[];
  /** Told the pid of every process started. */
  readonly onSpawn?: (pid: number | undefined) => void;
}

/** Seconds to wait for the xtables lock (kube-proxy's `-w 5`). */
export const LOCK_WAIT_SECONDS = '5';

export function toolName(family: IPFamily, flavour: IptablesFlavour, suffix: '' | '-restore' | '-save'): string {
  return `${family === 'ipv6' ? 'ip6tables' : 'iptables'}-${flavour}${suffix}`;
}

export function createIptablesKernel(options: IptablesKernelOptions): IptablesKernel {
  const { flavour } = options;
  const prefix = options.prefix ?? [];

  const exec = async (tool: string, args: readonly string[], input = ''): Promise<Run> => {
    try {
      return await runArgv([...prefix, tool, ...args], input, options.onSpawn);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new IptablesUnavailableError(`${prefix[0] ?? tool} not found: install iptables (e.g. apt-get install iptables)`);
      }
      throw err;
    }
  };
  const check = (family: IPFamily, table: string, chain: string, args: readonly string[]): Promise<Run> =>
    exec(toolName(family, flavour, ''), ['-w', LOCK_WAIT_SECONDS, '-t', table, '-C', chain, ...args]);

  return {
    flavour,
    async restore(family, input) {
      const tool = toolName(family, flavour, '-restore');
      const r = await exec(tool, ['-w', LOCK_WAIT_SECONDS, '--noflush'], input);
      if (r.code !== 0) throw parseIptablesStderr(tool, r.stderr, r.code, input);
    },
    async ensureRule(family, table, chain, args) {
      if ((await check(family, table, chain, args)).code === 0) return false;
      const tool = toolName(family, flavour, '');
      const r = await exec(tool, ['-w', LOCK_WAIT_SECONDS, '-t', table, '-I', chain, '1', ...args]);
      if (r.code !== 0) throw parseIptablesStderr(tool, r.stderr, r.code);
      return true;
    },
    async chainExists(family, table, chain) {
      const r = await exec(toolName(family, flavour, ''), ['-w', LOCK_WAIT_SECONDS, '-t', table, '-n', '-L', chain]);
      return r.code === 0;
    },
    async save(family, table) {
      const tool = toolName(family, flavour, '-save');
      const r = await exec(tool, ['-t', table]);
      if (r.code !== 0) throw parseIptablesStderr(tool, r.stderr, r.code);
      return r.stdout;
    },
  };
}

/**
 * Resolves `auto` as kube-proxy's image does (iptables-flavour.ts) and checks the
 * flavour's binaries are there; throws IptablesUnavailableError.
 */
export async function resolveFlavour(choice: FlavourChoice, prefix: readonly string[] = []): Promise<IptablesFlavour> {
  const flavour = choice !== 'auto' ? choice : await detectFlavour(async (argv) => {
    const r = await runArgv([...prefix, ...argv], '');
    return r.code === 0 ? r.stdout : undefined;
  });
  for (const family of ['ipv4', 'ipv6'] as const) {
    const tool = toolName(family, flavour, '-restore');
    const r = await runArgv([...prefix, tool, '--version'], '').catch(() => undefined);
    if (r === undefined || r.code !== 0) {
      throw new IptablesUnavailableError(`${tool} not found or not working: install iptables (apt-get install iptables)`);
    }
  }
  return flavour;
}

export { IptablesError, IptablesUnavailableError };
