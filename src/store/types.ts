// The object-store interface the registry is written against: a folder and an S3
// bucket implement it with the same guarantees (create-only writes, compare-and-swap,
// keys that list in order), so the registry's rules live in one code path.
import type { Readable } from 'node:stream';
import { ExitCode, MlopsError, UsageError } from '../errors.js';

export interface StoredObject {
  body: Buffer;
  /** Opaque version token: the S3 ETag, or the folder's content hash. */
  etag: string;
}

export interface ListedObject {
  key: string;
  size: number;
  /** Known without a GET on S3 (the listing carries it); undefined on a folder. */
  etag?: string;
}

export interface ObjectStore {
  /** Where it lives, for messages: a folder path or s3://bucket/prefix. */
  readonly location: string;
  get(key: string): Promise<StoredObject | undefined>;
  /** Conditional GET for cheap polling: 'unchanged' when the etag still matches. */
  getIfChanged(key: string, etag: string | undefined): Promise<StoredObject | undefined | 'unchanged'>;
  getStream(key: string): Promise<Readable | undefined>;
  /** Every key under the prefix, in byte order (paginated underneath). */
  list(prefix: string): Promise<ListedObject[]>;
  /** The names of the "folders" directly under a prefix (S3: common prefixes with delimiter '/'). */
  listFolders(prefix: string): Promise<string[]>;
  /** Size and a change token: the ETag on S3; inode/size/mtime on a folder (not comparable with get()'s etag there). */
  head(key: string): Promise<{ size: number; etag: string } | undefined>;
  /** Create-only: false when the key exists already. */
  putIfAbsent(key: string, body: Buffer | string): Promise<boolean>;
  /** Compare-and-swap: etag null means "must not exist". Returns the new etag, or undefined on a conflict. */
  putIfMatch(key: string, body: Buffer | string, etag: string | null): Promise<string | undefined>;
  /** A (possibly large) file streamed in; content-addressed callers make a plain overwrite harmless. */
  putFile(key: string, path: string): Promise<void>;
  delete(key: string): Promise<void>;
}

/** A store failed to answer or refused a write (disk full, S3 4xx/5xx, network): exit 4. */
export class StoreError extends MlopsError {
  constructor(message: string, hint?: string, code = 'store_failed') {
    super(code, message, ExitCode.tool, hint);
  }
}

/** One key segment: starts with a letter, digit or '_', then letters, digits, '.', '_', '-'. */
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$/;

/** Keys are ours; a key built from a hand-edited record is checked here before any IO. */
export function checkKey(key: string): string[] {
  const segments = key.split('/');
  for (const segment of segments) {
    if (!SEGMENT.test(segment) || segment.includes('..')) {
      throw new UsageError(`refusing the registry key '${key}': '${segment}' is not a plain name`, 'a record holding a path or ../ was edited by hand; restore it from the audit log or a copy', 'invalid_key');
    }
  }
  return segments;
}

/** A prefix for list(): empty, or key segments ending in '/'. */
export function checkPrefix(prefix: string): void {
  if (prefix === '') return;
  const trimmed = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  checkKey(trimmed);
}
