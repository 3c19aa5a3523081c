/**
 * Takeover: when `kpx run` starts in one mode, the rules another mode left (kube-proxy's
 * or kpx's) are removed, as kube-proxy does at start (server_linux.go platformCleanup
 * with cleanupAndExit false). Unlike kube-proxy, which cleans before its first sync, kpx
 * cleans right AFTER its own first successful sync, so Services stay served by the old
 * rules until the new ones are in place. One-shot: later syncs do nothing.
 */
import type { SyncObserver, SyncResult } from '../types.js';
import type { Exec } from '../kernel/exec.js';
import { cleanupModes, takeoverModes, type CleanupItem } from './run.js';
import type { CleanupMode } from './owned.js';

export interface TakeoverLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export function takeoverObserver(mode: CleanupMode, exec: Exec, logger: TakeoverLogger): SyncObserver & { readonly done: Promise<readonly CleanupItem[]> } {
  let fired = false;
  let resolve: (items: readonly CleanupItem[]) => void = () => {};
  const done = new Promise<readonly CleanupItem[]>((r) => { resolve = r; });
  return {
    name: 'takeover',
    done,
    async afterSync(_result: SyncResult) {
      if (fired) return;
      fired = true;
      const modes = takeoverModes(mode);
      const items = await cleanupModes(modes, exec);
      for (const item of items) {
        if (item.outcome === 'removed') logger.info({ item: item.what, detail: item.detail }, 'takeover: removed leftovers of another proxy mode');
        if (item.outcome === 'failed') logger.warn({ item: item.what, detail: item.detail }, 'takeover: could not remove leftovers of another proxy mode');
      }
      resolve(items);
    },
  };
}
