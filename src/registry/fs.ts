// Atomic file writes (temp file in the same folder, fsync, rename) and small helpers:
// readers of the registry never see half a file.
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, readFile } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
// The store owns the temp-file prefix (readers skip it, writers clean stale ones) and the folder fsync.
import { TEMP_PREFIX, fsyncDir } from '../store/folder.js';

export function tempPathFor(path: string): string {
  return join(dirname(path), `${TEMP_PREFIX}${basename(path)}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Write `data` to `path` so that `path` holds either the old or the new content, never a mix. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = tempPathFor(path);
  try {
    const handle = await open(temp, 'wx', 0o644);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await fsyncDir(dirname(path));
}

/** Move a finished temp file into place atomically (the file must be on the same filesystem). */
export async function commitFile(temp: string, path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await rename(temp, path);
  await fsyncDir(dirname(path));
}

export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
