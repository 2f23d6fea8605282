// Reading the prediction log back: every rotated file oldest first, then the live one, as
// one stream of classified lines (a file may be gzip-compressed, e.g. an archived log). Several logs (one per replica) or a folder of them read
// as one. The files are opened before the first line is read, so a rotation while reading
// neither skips nor repeats a line: the open handles follow the renamed files.
import { createReadStream } from 'node:fs';
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { UsageError, messageOf } from '../errors.js';
import { parseLogLine, type LogEntry } from './rows.js';

/** The files of one log, oldest first: log.N ... log.1, log. */
export async function logFiles(path: string): Promise<string[]> {
  const files: string[] = [];
  for (let index = 1; ; index++) {
    try {
      await stat(`${path}.${index}`);
      files.unshift(`${path}.${index}`);
    } catch {
      break;
    }
  }
  try {
    await stat(path);
    files.push(path);
  } catch {
    /* only rotated files */
  }
  return files;
}

const ROTATED = /\.\d+$/;

/**
 * The logs a path names: a file is one log; a folder holds one log per replica (every
 * file in it that is not a rotated copy, e.g. predictions-pod-a.jsonl, predictions-pod-b.jsonl).
 */
export async function logsIn(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isDirectory()) return [path];
  const names = (await readdir(path, { withFileTypes: true })).filter((entry) => entry.isFile() && !entry.name.startsWith('.'));
  const live = new Set(names.filter((entry) => !ROTATED.test(entry.name)).map((entry) => entry.name));
  // A log whose live file is gone but whose rotated copies remain still counts.
  for (const entry of names) if (ROTATED.test(entry.name)) live.add(entry.name.replace(ROTATED, ''));
  return [...live].sort().map((name) => join(path, name));
}

/** Every file of every log the paths name (files or folders), oldest first within each log. */
export async function predictionLogFiles(paths: string | readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of typeof paths === 'string' ? [paths] : paths) for (const log of await logsIn(path)) files.push(...(await logFiles(log)));
  return files;
}

/**
 * Stream the lines of the logs the paths name (files or folders), classified. Lines that
 * are not rows come as `kind: 'invalid'`; a file rotated away before it was opened is skipped.
 */
export async function* readPredictionLog(paths: string | readonly string[]): AsyncGenerator<LogEntry> {
  const files = await predictionLogFiles(paths);
  const handles: Array<{ file: string; handle: FileHandle }> = [];
  try {
    for (const file of files) {
      try {
        handles.push({ file, handle: await open(file, 'r') });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    while (handles.length) {
      const { file, handle } = handles.shift()!;
      const { input, raw, gzip } = await textOf(handle);
      const lines = createInterface({ input, crlfDelay: Infinity });
      let line = 0;
      try {
        for await (const text of lines) {
          line++;
          if (text === '') continue;
          yield parseLogLine(line === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, file, line);
        }
      } catch (error) {
        if (!gzip) throw error;
        throw new UsageError(
          `prediction log ${file} is not readable gzip: ${messageOf(error)}`,
          'the file starts like gzip but is corrupt or truncated; compress it again or pass the plain file',
          'bad_gzip',
        );
      } finally {
        input.destroy();
        raw.destroy();
      }
    }
  } finally {
    for (const { handle } of handles) await handle.close().catch(() => undefined);
  }
}

/** A log file's text: an archived log may be gzip-compressed (told by its first two bytes, not its name). */
async function textOf(handle: FileHandle): Promise<{ input: Readable; raw: Readable; gzip: boolean }> {
  const magic = Buffer.alloc(2);
  const { bytesRead } = await handle.read(magic, 0, 2, 0);
  const raw = createReadStream('', { fd: handle, start: 0, autoClose: true });
  if (bytesRead < 2 || magic[0] !== 0x1f || magic[1] !== 0x8b) return { input: raw.setEncoding('utf8'), raw, gzip: false };
  const gunzip = createGunzip();
  // pipe() does not forward the file's errors to the stream being read.
  raw.on('error', (error) => gunzip.destroy(error));
  return { input: raw.pipe(gunzip).setEncoding('utf8'), raw, gzip: true };
}
