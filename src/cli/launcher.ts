/**
 * Which process launched kpx, and whether it is still there. `npx kpx run` runs
 * npm exec → sh -c kpx → node (kpx). When npm dies — SIGTERM (it exits without passing
 * the signal on) or SIGKILL — the shell is orphaned but lives on, waiting for kpx: kpx's
 * own parent does not change. So kpx watches the npm process itself: the link from the
 * process just below npm to npm. Once npm is gone kpx stops as on SIGTERM (rules stay),
 * so a restarted `npx kpx run` never runs next to an orphaned kpx.
 * Pure: the /proc reads are injected.
 */

export interface ProcessTable {
  /** Parent pid of `pid`, undefined when it is gone. */
  parentOf(pid: number): number | undefined;
  /** The process's name (/proc/PID/comm; npm sets it to "npm exec …"), undefined when gone. */
  commOf(pid: number): string | undefined;
}

/** The link to watch: while `parentOf(child) === launcher`, the launcher lives. */
export interface LauncherLink {
  readonly child: number;
  readonly launcher: number;
}

const isNpm = (comm: string | undefined): boolean => comm !== undefined && /^(npm|npx)\b/.test(comm);

/**
 * The npm process among kpx's parent and grandparent (npm → node, or npm → sh → node),
 * else kpx's parent (launched some other way: its death is still the launcher's exit).
 */
export function findLauncher(self: number, parent: number, procs: ProcessTable): LauncherLink {
  if (isNpm(procs.commOf(parent))) return { child: self, launcher: parent };
  const grand = procs.parentOf(parent);
  if (grand !== undefined && grand > 1 && isNpm(procs.commOf(grand))) return { child: parent, launcher: grand };
  return { child: self, launcher: parent };
}

/** The launcher exited: its child was re-parented (or is gone itself). */
export function launcherGone(link: LauncherLink, procs: ProcessTable): boolean {
  return procs.parentOf(link.child) !== link.launcher;
}
