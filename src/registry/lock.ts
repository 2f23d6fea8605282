// A per-model lock for writers: a directory created with mkdir (atomic on local and
// network filesystems) holding the owner's pid and host. Dead owners are detected and
// their lock broken with a message; readers never lock.
import { hostname } from 'node:os';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConflictError } from '../errors.js';

export interface LockOptions {
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
  /** A lock from another host is only presumed dead after this long (default 10 min). */
  foreignStaleMs?: number;
  onEvent?: (event: { type: 'warn'; message: string }) => void;
}

interface Owner {
  pid: number;
  host: string;
  at: string;
}

const OWNER_FILE = 'owner.json';
/** A lock folder without an owner file older than this was left by a writer killed mid-acquire. */
const OWNERLESS_STALE_MS = 5_000;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function staleReason(lockDir: string, foreignStaleMs: number): Promise<string | undefined> {
  let owner: Owner | undefined;
  try {
    owner = JSON.parse(await readFile(join(lockDir, OWNER_FILE), 'utf8')) as Owner;
  } catch {
    owner = undefined;
  }
  if (!owner) {
    try {
      const info = await stat(lockDir);
      if (Date.now() - info.mtimeMs > OWNERLESS_STALE_MS) return 'it has no owner record';
    } catch {
      return undefined; // gone already
    }
    return undefined;
  }
  if (owner.host === hostname()) {
    return pidAlive(owner.pid) ? undefined : `its holder (pid ${owner.pid}) is no longer running`;
  }
  const age = Date.now() - Date.parse(owner.at);
  return age > foreignStaleMs ? `its holder (pid ${owner.pid} on ${owner.host}) has held it for ${Math.round(age / 1000)} s` : undefined;
}

export async function withLock<T>(lockDir: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const foreignStaleMs = options.foreignStaleMs ?? 10 * 60_000;
  const deadline = Date.now() + timeoutMs;
  let delay = 5;
  for (;;) {
    try {
      await mkdir(lockDir);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const reason = await staleReason(lockDir, foreignStaleMs);
    if (reason) {
      // Rename first so that two processes breaking the same stale lock cannot both win.
      const graveyard = `${lockDir}.stale-${process.pid}-${Date.now()}`;
      try {
        await rename(lockDir, graveyard);
        await rm(graveyard, { recursive: true, force: true });
        options.onEvent?.({ type: 'warn', message: `broke a stale lock ${lockDir}: ${reason}` });
      } catch {
        /* someone else broke it first */
      }
      continue;
    }
    if (Date.now() > deadline) {
      throw new ConflictError(
        `another mlops process holds the lock ${lockDir}`,
        `wait for it to finish; if no mlops process is running, remove ${lockDir}`,
        'locked',
      );
    }
    await new Promise((resolve) => setTimeout(resolve, delay + Math.random() * delay));
    delay = Math.min(delay * 2, 100);
  }
  try {
    const owner: Owner = { pid: process.pid, host: hostname(), at: new Date().toISOString() };
    await writeFile(join(lockDir, OWNER_FILE), JSON.stringify(owner));
    return await fn();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}
