/**
 * `--out DIR`: create the directory (like `mkdir -p`) and write one file per tool.
 * Written by hand instead of `mkdir(..., { recursive: true })`: Node's recursive mkdir
 * never returns on some pseudo file systems (`/proc/x` loops on ENOENT). Here each
 * component is created or checked once, so every path either works or fails with one
 * line naming it.
 */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { escapeText } from './quote.js';

/** Thrown with a one-line message naming the path. */
export class OutDirError extends Error {}

function reason(err: unknown): string {
  const e = (typeof err === 'object' && err !== null ? err : {}) as { code?: unknown; message?: unknown };
  const known: Record<string, string> = {
    ENOENT: 'no such file or directory', EACCES: 'permission denied', EPERM: 'operation not permitted',
    EROFS: 'read-only file system', ENOTDIR: 'a path component is not a directory', EEXIST: 'already exists',
    EISDIR: 'is a directory', ENOSPC: 'no space left on device',
  };
  return (typeof e.code === 'string' ? known[e.code] : undefined) ?? String(e.message ?? err).split('\n')[0] ?? 'error';
}

async function ensureDir(dir: string): Promise<void> {
  const abs = resolve(dir);
  const chain: string[] = [];
  for (let p = abs; ; p = dirname(p)) {
    chain.unshift(p);
    if (dirname(p) === p) break;
  }
  for (const p of chain) {
    let isDir: boolean | undefined;
    try {
      isDir = (await stat(p)).isDirectory();
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ENOENT') throw new OutDirError(`--out ${escapeText(dir)}: cannot use ${escapeText(p)}: ${reason(err)}`);
    }
    if (isDir === true) continue;
    if (isDir === false) throw new OutDirError(`--out ${escapeText(dir)}: ${escapeText(p)} exists and is not a directory`);
    try {
      await mkdir(p);
    } catch (err) {
      throw new OutDirError(`--out ${escapeText(dir)}: cannot create ${escapeText(p)}: ${reason(err)}`);
    }
  }
}

/** Writes `files` into `dir`; returns the paths written. Throws OutDirError. */
export async function writeOutDir(dir: string, files: ReadonlyMap<string, string>): Promise<string[]> {
  await ensureDir(dir);
  const written: string[] = [];
  for (const [name, text] of files) {
    const file = join(dir, name);
    try {
      await writeFile(file, text);
    } catch (err) {
      throw new OutDirError(`--out ${escapeText(dir)}: cannot write ${escapeText(file)}: ${reason(err)}`);
    }
    written.push(file);
  }
  return written;
}
