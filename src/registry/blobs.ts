// Content-addressed blobs (blobs/sha256/<hex>): stored once, skipped when present, and
// verified against their hash whenever they are read for use. A blob from a bucket is
// kept in a local cache keyed by sha256, verified on the way in and before each use.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UsageError } from '../errors.js';
import { FolderStore, fileSystemError } from '../store/folder.js';
import type { ObjectStore } from '../store/types.js';
import { SHA256_PATTERN } from './records.js';

export const blobKey = (sha256: string) => {
  if (!SHA256_PATTERN.test(sha256)) throw new UsageError(`'${sha256}' is not a sha256`, 'a record was edited by hand; restore it from a copy of the registry', 'invalid_record');
  return `blobs/sha256/${sha256}`;
};

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), async function* (source) {
    for await (const chunk of source) hash.update(chunk as Buffer);
    yield* [];
  });
  return hash.digest('hex');
}

function tampered(sha256: string, label: string, location: string): UsageError {
  return new UsageError(
    `the stored bytes of ${label} do not match its sha256 ${sha256.slice(0, 12)}… (${location}): refusing to use them`,
    'the blob was changed or damaged after registration; restore it from a copy (mlops registry copy) or register the model again',
    'blob_tampered',
  );
}

export class Blobs {
  /** Files already verified in this process: path -> inode/size/mtime when verified. */
  private readonly verified = new Map<string, string>();

  constructor(
    private readonly store: ObjectStore,
    /** Where blobs of a bucket are cached locally; unused for a folder. */
    private readonly cacheDir: string,
  ) {}

  /** Store bytes under their sha256 unless a blob of that size is there already. */
  async put(data: Buffer): Promise<string> {
    const sha256 = createHash('sha256').update(data).digest('hex');
    const key = blobKey(sha256);
    const present = await this.store.head(key);
    if (present && present.size === data.byteLength) return sha256;
    await this.store.putIfAbsent(key, data); // false: another writer stored the same bytes
    return sha256;
  }

  /** Store a (large) file streamed, when it is not there already. */
  async putFile(path: string, sha256: string, size: number): Promise<void> {
    const key = blobKey(sha256);
    const present = await this.store.head(key);
    if (present && present.size === size) return;
    await this.store.putFile(key, path);
  }

  private async stamp(path: string): Promise<string | undefined> {
    const info = await lstat(path).catch(() => undefined);
    return info && info.isFile() ? `${info.ino}-${info.size}-${info.mtimeMs}` : undefined;
  }

  /** A local file holding the blob, verified against its sha256. `label` names the version in errors. */
  async file(sha256: string, label: string): Promise<string> {
    const key = blobKey(sha256);
    let path: string;
    if (this.store instanceof FolderStore) {
      path = join(this.store.root, ...key.split('/'));
      const head = await this.store.head(key); // refuses a symlink
      if (!head) throw new UsageError(`the blob of ${label} (${key}) is missing from ${this.store.location}`, 'restore it from a copy (mlops registry copy) or register the model again', 'blob_missing');
    } else {
      path = join(this.cacheDir, 'blobs', 'sha256', sha256);
      if ((await this.stamp(path)) === undefined) await this.download(key, sha256, path, label);
    }
    const stamp = await this.stamp(path);
    if (stamp !== undefined && this.verified.get(path) === stamp) return path;
    if ((await sha256OfFile(path)) !== sha256) {
      if (!(this.store instanceof FolderStore)) await rm(path, { force: true }); // a damaged cache entry: fetch again next time
      throw tampered(sha256, label, this.store instanceof FolderStore ? path : `${this.store.location}/${key}`);
    }
    if (stamp !== undefined) this.verified.set(path, stamp);
    return path;
  }

  private async download(key: string, sha256: string, path: string, label: string): Promise<void> {
    const stream = await this.store.getStream(key);
    if (!stream) throw new UsageError(`the blob of ${label} (${key}) is missing from ${this.store.location}`, 'restore it from a copy (mlops registry copy) or register the model again', 'blob_missing');
    const dir = join(this.cacheDir, 'blobs', 'sha256');
    const temp = join(dir, `.tmp-${randomBytes(6).toString('hex')}`);
    const hash = createHash('sha256');
    try {
      await mkdir(dir, { recursive: true });
      const hasher = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          hash.update(chunk);
          done(null, chunk);
        },
      });
      await pipeline(stream, hasher, createWriteStream(temp));
      if (hash.digest('hex') !== sha256) throw tampered(sha256, label, `${this.store.location}/${key}`);
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true });
      throw fileSystemError(error, path);
    }
  }
}
