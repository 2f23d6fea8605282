// Where predictions go: a CSV or JSON-lines file written beside its final name and renamed into
// place at the end (a failed run leaves no half-written file), or lines handed to the caller.
import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { UsageError, messageOf } from '../errors.js';
import { StoreError } from '../store/types.js';

export type OutputFormat = 'csv' | 'jsonl';

export function outputFormat(path: string): OutputFormat {
  return /\.(jsonl|ndjson|json)$/i.test(path) ? 'jsonl' : 'csv';
}

export interface PredictionSink {
  write(text: string): Promise<void>;
  /** Makes the output visible (rename into place). */
  commit(): Promise<void>;
  /** Removes what was written. */
  abort(): Promise<void>;
}

/** Lines to a callback (the command prints them on stdout). */
export function lineSink(print: (text: string) => void): PredictionSink {
  return { write: async (text) => print(text.endsWith('\n') ? text.slice(0, -1) : text), commit: async () => undefined, abort: async () => undefined };
}

function writeFailed(path: string, error: unknown): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new StoreError(`cannot write ${path}: the disk is full`, 'free some space or write --output elsewhere', 'disk_full');
  if (code === 'ENOENT' || code === 'ENOTDIR') return new UsageError(`cannot write ${path}: its folder does not exist`, 'create the folder or pick another --output path', 'bad_output');
  return new StoreError(`cannot write ${path}: ${messageOf(error)}`, 'check the --output path and its permissions', 'write_failed');
}

/** A file sink: a temp file in the same folder, fsynced and renamed on commit. */
export async function fileSink(path: string): Promise<PredictionSink> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  const stream: WriteStream = createWriteStream(temp, { flags: 'wx' });
  let failure: Error | undefined;
  stream.on('error', (error) => (failure ??= writeFailed(path, error)));
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', () => reject(failure));
  });
  const closed = () => new Promise<void>((resolve) => (stream.closed ? resolve() : stream.end(() => resolve())));
  return {
    async write(text) {
      if (failure) throw failure;
      if (!stream.write(text)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            stream.off('drain', done);
            stream.off('error', done);
            resolve();
          };
          stream.on('drain', done);
          stream.on('error', done);
        });
      }
      if (failure) throw failure;
    },
    async commit() {
      await closed();
      if (failure) {
        await rm(temp, { force: true });
        throw failure;
      }
      try {
        await rename(temp, path);
      } catch (error) {
        await rm(temp, { force: true });
        throw writeFailed(path, error);
      }
    },
    async abort() {
      stream.destroy();
      await rm(temp, { force: true });
    },
  };
}
