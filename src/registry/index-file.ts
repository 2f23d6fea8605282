// models/<name>/index.json: the model's parsed version records in one object, so `list`
// on a fresh clone (no .cache/) or on a new machine (no local cache of a bucket) reads
// one object instead of parsing every record. It is derived data written by readers
// (compare-and-swap; a refused write only costs speed) and trusted only while the
// model's `deletions` counter in state.yaml is unchanged: versions are create-only, so
// an index can miss versions (read from their records) but never hold a stale one,
// except after a record is edited by hand (delete index.json then).
import type { ObjectStore } from '../store/types.js';
import type { StoredRecord } from './records.js';

export const indexKey = (name: string) => `models/${name}/index.json`;
/** Below this many versions the per-record path is fast enough. */
export const INDEX_MIN_VERSIONS = 200;

interface IndexFile {
  format: 1;
  deletions: number;
  records: Record<string, StoredRecord>;
}

export interface LoadedIndex {
  records: Map<string, Record<string, unknown>>;
  etag: string | null;
}

export async function readIndex(store: ObjectStore, name: string, deletions: number): Promise<LoadedIndex> {
  const got = await store.get(indexKey(name));
  if (!got) return { records: new Map(), etag: null };
  try {
    const file = JSON.parse(got.body.toString('utf8')) as IndexFile;
    if (file.format !== 1 || file.deletions !== deletions || !file.records || typeof file.records !== 'object') return { records: new Map(), etag: got.etag };
    return { records: new Map(Object.entries(file.records) as Array<[string, Record<string, unknown>]>), etag: got.etag };
  } catch {
    return { records: new Map(), etag: got.etag }; // damaged: rebuilt by this reader
  }
}

export async function writeIndex(store: ObjectStore, name: string, deletions: number, records: StoredRecord[], etag: string | null): Promise<void> {
  const file: IndexFile = { format: 1, deletions, records: Object.fromEntries(records.map((r) => [r.version, r])) };
  await store.putIfMatch(indexKey(name), JSON.stringify(file), etag).catch(() => undefined);
}
