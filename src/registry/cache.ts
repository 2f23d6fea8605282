// A local cache of parsed version records. Records are immutable, so an entry stays valid
// as long as the stored object's token (S3 ETag from the listing, or the folder file's
// inode/size/mtime) is unchanged; parsing YAML costs ~0.75 ms a record, and on a bucket
// a cached record needs no GET at all. The cache is derived data: safe to delete.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FolderStore } from '../store/folder.js';
import type { ListedObject, ObjectStore } from '../store/types.js';
import { writeFileAtomic } from './fs.js';
import type { StoredRecord } from './records.js';

interface Entry {
  token: string;
  record: StoredRecord;
}

/** Parallel reads of uncached records: 64 GETs in flight keep a bucket busy without flooding it. */
const PARALLEL_READS = 64;

export class RecordCache {
  constructor(private readonly dir: string) {}

  async read<R extends StoredRecord>(store: ObjectStore, name: string, listed: ListedObject[], parse: (key: string, source: { text: string } | { value: Record<string, unknown> }) => Promise<R>): Promise<R[]> {
    const path = join(this.dir, `${name}.versions.json`);
    let cache: Record<string, Entry> = {};
    try {
      cache = JSON.parse(await readFile(path, 'utf8')) as Record<string, Entry>;
    } catch {
      cache = {};
    }
    const fresh: Record<string, Entry> = {};
    let changed = false;
    const out: Array<R | undefined> = new Array(listed.length);
    let next = 0;
    const worker = async () => {
      while (next < listed.length) {
        const i = next++;
        const item = listed[i]!;
        const token = item.etag ?? (await store.head(item.key))?.etag;
        if (token === undefined) continue; // removed since the listing
        const hit = cache[item.key];
        if (hit && hit.token === token) {
          fresh[item.key] = hit;
          // Re-validated on every read: the cache file is as untrusted as the store.
          out[i] = await parse(item.key, { value: structuredClone(hit.record) as unknown as Record<string, unknown> });
          continue;
        }
        const got = await store.get(item.key);
        if (!got) continue;
        const record = await parse(item.key, { text: got.body.toString('utf8') });
        // On a folder the token is the file's stamp; on a bucket the ETag of what we read.
        fresh[item.key] = { token: store instanceof FolderStore ? token : got.etag, record };
        changed = true;
        out[i] = record;
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_READS, listed.length) }, worker));
    if (changed || Object.keys(cache).length !== Object.keys(fresh).length) {
      // Best effort: a cache that cannot be written only costs speed.
      await mkdir(this.dir, { recursive: true }).catch(() => undefined);
      await writeFileAtomic(path, JSON.stringify(fresh)).catch(() => undefined);
    }
    return out.filter((r): r is R => r !== undefined);
  }
}
