// Where drift's bytes come from: a ByteSource gives the size, ranged reads (gzip magic and
// trailer, Parquet footers) and a stream of chunks. Every reader goes through it, so an object
// store (s3://) plugs in as one more implementation of openSource.
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { NotFoundError, UsageError, isMlopsError, messageOf } from '../errors.js';
import { describe } from './data.js';
import { S3Object, S3Prefix, type SourceEnv } from './source-s3.js';

export type { SourceEnv } from './source-s3.js';

export interface ByteSource {
  /** The path or URL, as the user wrote it. */
  readonly location: string;
  /** 'reference' or 'current': messages name the file at fault. */
  readonly role: string;
  /** The command-line flag that named it, for hints ('current', 'reference-data'). */
  readonly flag: string;
  /** Size in bytes; NotFoundError when absent. */
  size(): Promise<number>;
  /** Whether it is there at all (no error). */
  exists(): Promise<boolean>;
  /** Whether it starts with gzip's magic bytes. */
  isGzip(): Promise<boolean>;
  /** Up to `length` bytes from `position` (fewer at the end). */
  read(position: number, length: number): Promise<Buffer>;
  /** The bytes [start, end] (end inclusive, like fs.createReadStream) as a stream of chunks. */
  stream(options?: { start?: number; end?: number; chunkSize?: number }): Readable;
}

class LocalFile implements ByteSource {
  constructor(
    readonly location: string,
    readonly role: string,
    readonly flag: string,
  ) {}

  async size(): Promise<number> {
    let info;
    try {
      info = await stat(this.location);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        throw new NotFoundError(`${describe(this.role, this.location)} does not exist`, `check the --${this.flag} path`, 'data_not_found');
      }
      throw this.unreadable(error);
    }
    if (info.isDirectory()) {
      throw new UsageError(`${describe(this.role, this.location)} is a directory, not a file`, 'pass a CSV, JSON-lines, Parquet or prediction-log file', 'unreadable_data');
    }
    return info.size;
  }

  async exists(): Promise<boolean> {
    return stat(this.location).then(
      (info) => info.isFile(),
      () => false,
    );
  }

  async isGzip(): Promise<boolean> {
    const magic = await this.read(0, 2);
    return magic.length === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  }

  async read(position: number, length: number): Promise<Buffer> {
    let handle;
    try {
      handle = await open(this.location, 'r');
    } catch (error) {
      throw new UsageError(`cannot read ${describe(this.role, this.location)}: ${messageOf(error)}`, `check the --${this.flag} path and its permissions`, 'unreadable_data');
    }
    try {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, position);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }

  stream(options: { start?: number; end?: number; chunkSize?: number } = {}): Readable {
    return createReadStream(this.location, { start: options.start, end: options.end, highWaterMark: options.chunkSize ?? 64 * 1024 });
  }

  unreadable(error: unknown): UsageError {
    return new UsageError(`cannot read ${describe(this.role, this.location)}: ${messageOf(error)}`, `check the --${this.flag} path`, 'unreadable_data');
  }
}

/**
 * Opens a data location for reading: a local path, or s3://BUCKET/KEY on the registry's S3
 * client configuration (`env`: AWS_* and AWS_ENDPOINT_URL_S3, as for an s3:// registry).
 */
export function openSource(location: string, role: string, flag: string = role, env: SourceEnv = {}): ByteSource {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(location)?.[1];
  if (scheme?.toLowerCase() === 's3') return location.endsWith('/') ? new S3Prefix(location, role, flag, env) : new S3Object(location, role, flag, env);
  if (scheme !== undefined) {
    throw new UsageError(
      `${describe(role, location)}: ${scheme}:// sources are not supported (s3:// and local files are)`,
      `download the object and pass the local file to --${flag}`,
      'unsupported_source',
    );
  }
  return new LocalFile(location, role, flag);
}

export function gzipError(role: string, path: string, error: unknown): UsageError {
  return new UsageError(
    `${describe(role, path)} is not readable gzip: ${messageOf(error)}`,
    'the file starts like gzip but is corrupt or truncated; compress it again or pass the plain file',
    'bad_gzip',
  );
}

/**
 * The source's bytes as chunks, gunzipped when `gzip`; read errors become UsageErrors naming the
 * file (a corrupt gzip says so). Errors thrown by the consumer's loop pass through unchanged.
 */
export async function* chunksOf(
  source: ByteSource,
  gzip: boolean,
  options: { end?: number; chunkSize?: number; gunzipChunk?: number } = {},
): AsyncGenerator<Buffer> {
  const raw = source.stream({ end: gzip ? undefined : options.end, chunkSize: options.chunkSize });
  const input = gzip ? raw.pipe(createGunzip(options.gunzipChunk ? { chunkSize: options.gunzipChunk } : {})) : raw;
  // pipe() does not forward the file's errors to the gunzip stream being iterated.
  if (input !== raw) raw.on('error', (error) => input.destroy(error));
  const iterator = (input as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<Buffer>;
      try {
        next = await iterator.next();
      } catch (error) {
        if (isMlopsError(error)) throw error;
        if (gzip) throw gzipError(source.role, source.location, error);
        throw new UsageError(`cannot read ${describe(source.role, source.location)}: ${messageOf(error)}`, `check the --${source.flag} path`, 'unreadable_data');
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    raw.destroy();
    if (input !== raw) input.destroy();
  }
}
