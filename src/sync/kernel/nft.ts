/**
 * The nft kernel adapter: the only code that runs `nft`. Scripts go to `nft -f -` on
 * stdin (one script = one atomic transaction); commands are argument arrays, never a
 * shell string. Errors are parsed in one place (nft-error.ts).
 */
import { runTool as runCommand, type ToolRun as Run } from './exec.js';
import { NftError, NftUnavailableError, parseNftStderr } from './nft-error.js';

/**
 * What a proxier needs from nftables. `apply` is all-or-nothing: on error nothing of
 * the script took effect.
 */
export interface NftKernel {
  /** Checks the binary is there and recent enough; returns its version (e.g. `1.0.6`). */
  version(): Promise<string>;
  /** Runs one script as one transaction (`nft -f -`); throws NftError. */
  apply(script: string): Promise<void>;
  /**
   * Lists one object (`nft list set|map|chain|table FAMILY TABLE [NAME]`). For one-off
   * use and tests: never on an incremental sync (listing is slow at scale).
   */
  list(kind: 'set' | 'map' | 'chain' | 'table', family: string, table: string, name?: string): Promise<string>;
}

export interface NftKernelOptions {
  /** The nft binary; default `nft` (found on PATH). */
  readonly binary?: string;
  /**
   * A command prefix to run nft through, e.g. `['ip', 'netns', 'exec', NS]` for tests and
   * the e2e harness. In production kpx itself runs inside the node's namespace: none.
   */
  readonly prefix?: readonly string[];
  /** Told the pid of every nft process started (the drift monitor tells kpx's own transactions by it). */
  readonly onSpawn?: (pid: number | undefined) => void;
}

/**
 * The oldest nft kpx accepts. The layout needs `typeof` map keys with concatenations
 * of `numgen`, `th dport` and addresses, and element comments (nft ≥ 0.9.x has most of
 * this; 1.0.0 is the oldest line we assume, 1.0.6 is what the tests run).
 */
export const MIN_NFT_VERSION = '1.0.0';


/** `a.b.c` ≥ `x.y.z`, numerically per part. */
export function versionAtLeast(version: string, min: string): boolean {
  const a = version.split('.').map(Number);
  const b = min.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

export function createNftKernel(options: NftKernelOptions = {}): NftKernel {
  const binary = options.binary ?? 'nft';
  const argv = (...args: string[]): string[] => [...(options.prefix ?? []), binary, ...args];

  const exec = async (args: string[], input = ''): Promise<Run> => {
    try {
      return await runCommand(argv(...args), input, options.onSpawn);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ENOENT') {
        throw new NftUnavailableError(`${argv()[0]} not found: install nftables (e.g. apt-get install nftables)`);
      }
      throw err;
    }
  };

  return {
    async version() {
      const r = await exec(['--version']);
      if (r.code !== 0) throw new NftUnavailableError(`${argv('--version').join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
      const m = /v(\d+\.\d+(?:\.\d+)?)/.exec(r.stdout);
      if (!m?.[1]) throw new NftUnavailableError(`cannot read nft's version from ${JSON.stringify(r.stdout.trim())}`);
      if (!versionAtLeast(m[1], MIN_NFT_VERSION)) {
        throw new NftUnavailableError(`nft ${m[1]} is too old: kpx needs nft ≥ ${MIN_NFT_VERSION}`);
      }
      return m[1];
    },
    async apply(script) {
      const r = await exec(['-f', '-'], script);
      if (r.code !== 0) throw parseNftStderr(r.stderr, r.code, script);
    },
    async list(kind, family, table, name) {
      const r = await exec(['list', kind, family, table, ...(name !== undefined ? [name] : [])]);
      if (r.code !== 0) throw parseNftStderr(r.stderr, r.code);
      return r.stdout;
    },
  };
}

export { NftError, NftUnavailableError };
