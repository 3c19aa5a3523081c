/**
 * STAND-IN nftables proxier, until the incremental one (model/render/differ/kernel
 * adapter) is merged: every sync builds the whole state, renders it and, when the
 * script differs from the last one applied, replaces kpx's tables in one `nft -f -`
 * transaction (kind 'full'); otherwise it makes no kernel call (kind 'noop'). It
 * implements the same Proxier contract, so the controller does not change when it goes.
 */
import { spawn } from 'node:child_process';
import { buildProxyState } from '../../model/index.js';
import { renderNftables, toNftScript } from '../../render/nftables/index.js';
import type { Proxier, SyncRequest, SyncResult } from '../types.js';

/** What this proxier needs of the kernel: one atomic script. */
export interface NftApplier {
  apply(script: string): Promise<void>;
}

export interface NftablesProxierOptions {
  /** Default: `nft -f -` on PATH. */
  readonly kernel?: NftApplier;
  readonly logger?: { debug?(fields: Record<string, unknown>, message: string): void };
  /** Told the pid of every nft process started (drift attribution). */
  readonly onSpawn?: (pid: number | undefined) => void;
}

/** `nft -f -` with the script on stdin; rejects with nft's stderr. */
export function nftApplier(command: readonly string[] = ['nft', '-f', '-'], onSpawn?: (pid: number | undefined) => void): NftApplier {
  return {
    apply: (script) => new Promise((resolve, reject) => {
      const [cmd = 'nft', ...args] = command;
      const child = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'pipe'] });
      onSpawn?.(child.pid);
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
      child.on('error', (err) => reject(new Error(`${cmd}: ${err.message}`)));
      child.on('close', (code, signal) => {
        if (code === 0) resolve();
        else reject(new Error(`${[cmd, ...args].join(' ')} failed (${code ?? signal}): ${stderr.trim().split('\n').slice(0, 5).join(' | ')}`));
      });
      child.stdin.on('error', () => { /* nft exited early; its exit code tells why */ });
      child.stdin.end(script);
    }),
  };
}

/** `nft --version` (e.g. `1.0.6`); rejects with a clear message when nft cannot run. */
export function nftVersion(command: readonly string[] = ['nft', '--version']): Promise<string> {
  return new Promise((resolve, reject) => {
    const [cmd = 'nft', ...args] = command;
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.on('error', (err: NodeJS.ErrnoException) => {
      reject(new Error(err.code === 'ENOENT' ? `${cmd} not found on PATH: install nftables (apt-get install nftables)` : `${cmd}: ${err.message}`));
    });
    child.on('close', (code) => {
      const v = /v?(\d+\.\d+(?:\.\d+)?)/.exec(out);
      if (code === 0 && v?.[1] !== undefined) resolve(v[1]);
      else reject(new Error(`${[cmd, ...args].join(' ')} failed (${code}): ${out.trim()}`));
    });
  });
}

export function createNftablesProxier(opts: NftablesProxierOptions = {}): Proxier {
  const kernel = opts.kernel ?? nftApplier(undefined, opts.onSpawn);
  let lastApplied: string | undefined;
  return {
    backend: 'nftables',
    invalidate() {
      lastApplied = undefined;
    },
    async sync(request: SyncRequest): Promise<SyncResult> {
      const t0 = performance.now();
      const built = buildProxyState(request.view.snapshot(), request.options);
      const t1 = performance.now();
      const script = toNftScript(renderNftables(built.state));
      const t2 = performance.now();
      if (request.full !== true && script === lastApplied) {
        return { kind: 'noop', kernelOps: 0, problems: built.problems, timings: { model: t1 - t0, render: t2 - t1, diff: 0, apply: 0 } };
      }
      lastApplied = undefined;
      await kernel.apply(script);
      lastApplied = script;
      const t3 = performance.now();
      // Every non-empty line of the script is one kernel operation, roughly.
      const kernelOps = script.split('\n').filter((l) => l.trim() !== '').length;
      opts.logger?.debug?.({ bytes: script.length }, 'nftables: tables replaced');
      return { kind: 'full', kernelOps, problems: built.problems, timings: { model: t1 - t0, render: t2 - t1, diff: 0, apply: t3 - t2 } };
    },
  };
}
