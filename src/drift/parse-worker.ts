// Worker-thread entry: parses and sorts one data file (read.ts) off the main thread, so the
// reference and the current file are read in parallel, and hands the columns back without copying.
import { parentPort, workerData } from 'node:worker_threads';
import { isMlopsError } from '../errors.js';
import { parseDataFile, type ParseRequest } from './read.js';

export interface WorkerFailure {
  name: string;
  message: string;
  hint?: string;
  code?: string;
  stack?: string;
}

export type WorkerReply = { ok: true; result: Awaited<ReturnType<typeof parseDataFile>> } | { ok: false; error: WorkerFailure };

const port = parentPort;
if (port) {
  try {
    const result = await parseDataFile(workerData as ParseRequest);
    const transfer = result.columns.flatMap((column) => (column.sorted ? [column.sorted.buffer as ArrayBuffer] : []));
    port.postMessage({ ok: true, result } satisfies WorkerReply, transfer);
  } catch (error) {
    const failure: WorkerFailure = isMlopsError(error)
      ? { name: error.name, message: error.message, hint: error.hint, code: error.code }
      : { name: 'Error', message: error instanceof Error ? error.message : String(error), stack: error instanceof Error ? error.stack : undefined };
    port.postMessage({ ok: false, error: failure } satisfies WorkerReply);
  }
}
