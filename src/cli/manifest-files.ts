/**
 * Reading `-f` arguments from the file system (the only effectful part of manifest
 * input): files, directories and stdin. Unreadable paths are reported, not thrown.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { firstLine } from './documents.js';
import type { ManifestNote, ManifestSource } from './manifests.js';

/** Extensions a directory contributes. */
export const MANIFEST_EXTENSIONS: readonly string[] = ['.yaml', '.yml', '.json'];

/**
 * Reads `-f` arguments: a file (any name), a directory (its *.yaml, *.yml, *.json files,
 * sorted by name, not recursing into subfolders, as `kubectl -f DIR` without -R), or `-`
 * for stdin. Unreadable paths are reported, not thrown.
 */
export async function readManifestSources(
  paths: readonly string[],
  readStdin: () => Promise<string> = readProcessStdin,
): Promise<{ sources: ManifestSource[]; notes: ManifestNote[] }> {
  const sources: ManifestSource[] = [];
  const notes: ManifestNote[] = [];
  const readOne = async (path: string): Promise<void> => {
    try {
      sources.push({ name: path, text: await readFile(path, 'utf8') });
    } catch (err) {
      notes.push({ where: path, message: `cannot read: ${errorText(err)}` });
    }
  };
  for (const path of paths) {
    if (path === '-') {
      try {
        sources.push({ name: '<stdin>', text: await readStdin() });
      } catch (err) {
        notes.push({ where: '<stdin>', message: `cannot read: ${errorText(err)}` });
      }
      continue;
    }
    let isDir: boolean;
    try {
      const st = await stat(path);
      // A device (/dev/zero, /dev/urandom) never ends: reading it would hang and then
      // exhaust memory. Files and pipes (/dev/stdin) are read.
      if (st.isCharacterDevice() || st.isBlockDevice() || st.isSocket()) {
        notes.push({ where: path, message: 'cannot read: not a file, directory or pipe' });
        continue;
      }
      isDir = st.isDirectory();
    } catch (err) {
      notes.push({ where: path, message: `cannot read: ${errorText(err)}` });
      continue;
    }
    if (!isDir) {
      await readOne(path);
      continue;
    }
    let entries: string[];
    try {
      entries = await readdir(path);
    } catch (err) {
      notes.push({ where: path, message: `cannot read directory: ${errorText(err)}` });
      continue;
    }
    const files = entries
      .filter((e) => MANIFEST_EXTENSIONS.includes(extname(e).toLowerCase()))
      .sort()
      .map((e) => join(path, e));
    const regular: string[] = [];
    for (const file of files) {
      try {
        if ((await stat(file)).isFile()) regular.push(file);
      } catch (err) {
        notes.push({ where: file, message: `cannot read: ${errorText(err)}` });
      }
    }
    if (regular.length === 0) notes.push({ where: path, message: 'directory has no *.yaml, *.yml or *.json files' });
    for (const file of regular) await readOne(file);
  }
  return { sources, notes };
}

function errorText(err: unknown): string {
  // Duck-typed: errors from node:fs may come from another realm (jest's vm modules).
  const e = (typeof err === 'object' && err !== null ? err : {}) as { code?: unknown; message?: unknown };
  if (e.code === 'ENOENT') return 'no such file or directory';
  if (e.code === 'EACCES') return 'permission denied';
  return firstLine(err);
}

async function readProcessStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
