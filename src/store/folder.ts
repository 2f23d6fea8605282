// The folder backend of the object store. Create-only is a temp file plus link()
// (EEXIST when the key exists); compare-and-swap is read-compare-rename under a
// short-lived per-key lock file; etags are content hashes. Every key is checked
// before use, symlinks inside the folder are refused, and nothing outside it is touched.
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, link, lstat, mkdir, open, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { ConflictError, UsageError } from '../errors.js';
import { checkKey, checkPrefix, StoreError, type ListedObject, type ObjectStore, type StoredObject } from './types.js';

export const TEMP_PREFIX = '.tmp-';
/** A temp file older than this was left by a killed writer and is removed by the next writer in its folder. */
export const STALE_TEMP_MS = 60 * 60_000;
/** A CAS lock is held for one small read-compare-rename (well under 1 s); older ones are broken. */
const STALE_LOCK_MS = 10_000;
const LOCK_TIMEOUT_MS = 30_000;

export function contentEtag(body: Uint8Array): string {
  return createHash('sha256').update(body).digest('hex').slice(0, 32);
}

/** A full disk, a quota or a read-only folder: exit 4, one line. Anything else is rethrown. */
export function fileSystemError(error: unknown, what: string): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new StoreError(`cannot write ${what}: the disk is full (${code})`, 'free some space and run the command again; the registry is unchanged', 'disk_full');
  if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') return new StoreError(`cannot write ${what}: ${code}`, 'check the permissions of the registry folder', 'store_refused');
  if (code === 'ELOOP') return symlinkRefused(what);
  return error;
}

function symlinkRefused(what: string): UsageError {
  return new UsageError(`refusing ${what}: it is a symbolic link inside the registry`, 'a registry holds plain files only; replace the link with the file it points to', 'symlink_refused');
}

const isCode = (error: unknown, code: string) => (error as NodeJS.ErrnoException | undefined)?.code === code;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class FolderStore implements ObjectStore {
  private readonly checkedDirs = new Set<string>();
  private readonly cleanedDirs = new Set<string>();

  constructor(readonly root: string) {}

  get location(): string {
    return this.root;
  }

  private path(key: string): string {
    return join(this.root, ...checkKey(key));
  }

  /** Every folder between the root and the key must be a real folder, not a link out of the registry. */
  private async checkDirs(key: string): Promise<void> {
    const segments = checkKey(key).slice(0, -1);
    let dir = this.root;
    for (const segment of segments) {
      dir = join(dir, segment);
      if (this.checkedDirs.has(dir)) continue;
      try {
        const info = await lstat(dir);
        if (info.isSymbolicLink()) throw symlinkRefused(dir);
        if (!info.isDirectory()) throw new UsageError(`${dir} is not a folder`, 'the registry layout was changed by hand; restore it from a copy', 'invalid_layout');
      } catch (error) {
        if (isCode(error, 'ENOENT')) return; // nothing further down exists either
        throw error;
      }
      this.checkedDirs.add(dir);
    }
  }

  private async readChecked(key: string): Promise<Buffer | undefined> {
    await this.checkDirs(key);
    const path = this.path(key);
    let handle;
    try {
      handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (error) {
      if (isCode(error, 'ENOENT')) return undefined;
      if (isCode(error, 'ELOOP')) throw symlinkRefused(path);
      throw error;
    }
    try {
      if (!(await handle.stat()).isFile()) throw new UsageError(`${path} is not a file`, 'the registry layout was changed by hand; restore it from a copy', 'invalid_layout');
      return await handle.readFile();
    } finally {
      await handle.close();
    }
  }

  async get(key: string): Promise<StoredObject | undefined> {
    const body = await this.readChecked(key);
    return body === undefined ? undefined : { body, etag: contentEtag(body) };
  }

  async getIfChanged(key: string, etag: string | undefined): Promise<StoredObject | undefined | 'unchanged'> {
    const current = await this.get(key);
    return current && etag !== undefined && current.etag === etag ? 'unchanged' : current;
  }

  async getStream(key: string): Promise<Readable | undefined> {
    await this.checkDirs(key);
    const path = this.path(key);
    try {
      const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
      return handle.createReadStream({ autoClose: true });
    } catch (error) {
      if (isCode(error, 'ENOENT')) return undefined;
      if (isCode(error, 'ELOOP')) throw symlinkRefused(path);
      throw error;
    }
  }

  async head(key: string): Promise<{ size: number; etag: string; modified?: Date } | undefined> {
    await this.checkDirs(key);
    try {
      const info = await lstat(this.path(key));
      if (info.isSymbolicLink()) throw symlinkRefused(this.path(key));
      return { size: info.size, etag: `${info.ino}-${info.size}-${info.mtimeMs}`, modified: info.mtime };
    } catch (error) {
      if (isCode(error, 'ENOENT')) return undefined;
      throw error;
    }
  }

  async list(prefix: string): Promise<ListedObject[]> {
    checkPrefix(prefix);
    const slash = prefix.lastIndexOf('/');
    const base = slash < 0 ? '' : prefix.slice(0, slash);
    if (base) await this.checkDirs(`${base}/x`);
    const found: ListedObject[] = [];
    const walk = async (dirKey: string): Promise<void> => {
      const dir = dirKey ? join(this.root, ...dirKey.split('/')) : this.root;
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        if (isCode(error, 'ENOENT') || isCode(error, 'ENOTDIR')) return;
        throw error;
      }
      await Promise.all(
        entries.map(async (entry) => {
          if (entry.name.startsWith('.')) return; // temp files, locks, the local cache
          const key = dirKey ? `${dirKey}/${entry.name}` : entry.name;
          if (!key.startsWith(prefix) && !prefix.startsWith(`${key}/`)) return;
          if (entry.isSymbolicLink()) throw symlinkRefused(join(dir, entry.name));
          if (entry.isDirectory()) return walk(key);
          if (entry.isFile() && key.startsWith(prefix)) found.push({ key, size: 0 });
        }),
      );
    };
    await walk(base);
    return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async listFolders(prefix: string): Promise<string[]> {
    checkPrefix(prefix);
    if (prefix) await this.checkDirs(`${prefix}x`);
    const dir = join(this.root, ...prefix.split('/').filter(Boolean));
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (isCode(error, 'ENOENT') || isCode(error, 'ENOTDIR')) return [];
      throw error;
    }
    return entries
      .filter((e) => !e.name.startsWith('.'))
      .map((e) => {
        if (e.isSymbolicLink()) throw symlinkRefused(join(dir, e.name));
        return e;
      })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  }

  /** Remove temp files left by killed writers, once per folder and process. */
  private async prepareDir(dir: string): Promise<void> {
    try {
      await mkdir(dir, { recursive: true });
    } catch (error) {
      throw fileSystemError(error, dir);
    }
    if (this.cleanedDirs.has(dir)) return;
    this.cleanedDirs.add(dir);
    const now = Date.now();
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (!name.startsWith(TEMP_PREFIX)) continue;
      const info = await lstat(join(dir, name)).catch(() => undefined);
      if (info && now - info.mtimeMs > STALE_TEMP_MS) await rm(join(dir, name), { force: true });
    }
  }

  private tempFor(path: string): string {
    return join(dirname(path), `${TEMP_PREFIX}${randomBytes(6).toString('hex')}-${process.pid}`);
  }

  private async writeTemp(path: string, body: Buffer | string): Promise<string> {
    const temp = this.tempFor(path);
    try {
      const handle = await open(temp, 'wx', 0o644);
      try {
        await handle.writeFile(body);
        await handle.sync();
      } finally {
        await handle.close();
      }
      return temp;
    } catch (error) {
      await rm(temp, { force: true });
      throw fileSystemError(error, path);
    }
  }

  async putIfAbsent(key: string, body: Buffer | string): Promise<boolean> {
    await this.checkDirs(key);
    const path = this.path(key);
    await this.prepareDir(dirname(path));
    const temp = await this.writeTemp(path, body);
    try {
      await link(temp, path); // atomic create-only: EEXIST instead of replacing
      await fsyncDir(dirname(path));
      return true;
    } catch (error) {
      if (isCode(error, 'EEXIST')) return false;
      throw fileSystemError(error, path);
    } finally {
      await rm(temp, { force: true });
    }
  }

  async putIfMatch(key: string, body: Buffer | string, etag: string | null): Promise<string | undefined> {
    await this.checkDirs(key);
    const path = this.path(key);
    await this.prepareDir(dirname(path));
    return this.withKeyLock(path, async () => {
      const current = await this.readChecked(key);
      const currentEtag = current === undefined ? null : contentEtag(current);
      if (currentEtag !== etag) return undefined;
      const temp = await this.writeTemp(path, body);
      try {
        await rename(temp, path);
      } catch (error) {
        await rm(temp, { force: true });
        throw fileSystemError(error, path);
      }
      await fsyncDir(dirname(path));
      return contentEtag(typeof body === 'string' ? Buffer.from(body) : body);
    });
  }

  async putFile(key: string, source: string): Promise<void> {
    await this.checkDirs(key);
    const path = this.path(key);
    await this.prepareDir(dirname(path));
    const temp = this.tempFor(path);
    try {
      await copyFile(source, temp, constants.COPYFILE_FICLONE);
      const handle = await open(temp, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, path);
      await fsyncDir(dirname(path));
    } catch (error) {
      await rm(temp, { force: true });
      throw fileSystemError(error, path);
    }
  }

  async delete(key: string): Promise<void> {
    await this.checkDirs(key);
    await rm(this.path(key), { force: true });
  }

  /** A lock file next to the key, created with O_EXCL; a holder killed mid-swap leaves one that is broken after 10 s. */
  private async withKeyLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
    const lock = join(dirname(path), `.lock-${path.slice(dirname(path).length + 1)}`);
    const deadline = Date.now() + LOCK_TIMEOUT_MS;
    let delay = 2;
    for (;;) {
      try {
        await writeFile(lock, `${process.pid}\n`, { flag: 'wx' });
        break;
      } catch (error) {
        if (!isCode(error, 'EEXIST')) throw fileSystemError(error, path);
      }
      const info = await stat(lock).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs > STALE_LOCK_MS) {
        // Rename first: of two processes breaking the same stale lock only one succeeds.
        const grave = `${lock}.stale-${randomBytes(4).toString('hex')}`;
        if (await rename(lock, grave).then(() => true, () => false)) await rm(grave, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new ConflictError(`${lock} has been held for ${LOCK_TIMEOUT_MS / 1000} s`, `if no mlops process is running, remove ${lock}`, 'locked');
      await sleep(delay + Math.random() * delay);
      delay = Math.min(delay * 2, 50);
    }
    try {
      return await fn();
    } finally {
      await unlink(lock).catch(() => undefined);
    }
  }
}

/** Makes a rename in `dir` durable; best effort (some filesystems refuse fsync on a folder). */
export async function fsyncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    /* best effort: some filesystems refuse fsync on a folder */
  }
}
