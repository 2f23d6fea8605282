// Reading the reference and the current file at once, in two worker threads when the compiled
// worker is there (parse-worker.ts), else in this thread.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { NotFoundError, UsageError } from '../errors.js';
import type { ParseRequest, ParsedData } from './data.js';
import type { WorkerReply } from './parse-worker.js';
import { parseDataFile } from './read.js';

/** Below this total size, starting worker threads costs more than it saves (~40 ms each). */
const WORKER_MIN_BYTES = 4 * 1024 * 1024;

function reviveError(reply: Extract<WorkerReply, { ok: false }>): Error {
  const { name, message, hint, code } = reply.error;
  if (name === 'UsageError') return new UsageError(message, hint, code);
  if (name === 'NotFoundError') return new NotFoundError(message, hint, code);
  const error = new Error(message);
  if (reply.error.stack) error.stack = reply.error.stack;
  return error;
}

function parseInWorker(url: URL, request: ParseRequest, workers: Worker[]): Promise<ParsedData> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(url, { workerData: request });
    workers.push(worker);
    let settled = false;
    worker.once('message', (reply: WorkerReply) => {
      settled = true;
      if (reply.ok) resolve(reply.result);
      else reject(reviveError(reply));
    });
    worker.once('error', (error) => {
      if (!settled) {
        settled = true;
        reject(error);
      }
    });
    worker.once('exit', (code) => {
      if (!settled) {
        settled = true;
        reject(new Error(`the drift reader thread stopped with exit code ${code}`));
      }
    });
  });
}

/**
 * Reads both files at once. Two worker threads, one per file (each parses and sorts its file):
 * 1.8 s against 2.8 s in this thread for 2 x 150 MB of CSV (the bench data, 2 shared cores).
 */
export async function parseBoth(reference: ParseRequest, current: ParseRequest, totalBytes: number): Promise<[ParsedData, ParsedData]> {
  const workerUrl = new URL('./parse-worker.js', import.meta.url);
  // Running from TypeScript sources (tests) there is no compiled worker: read in this thread.
  if (totalBytes < WORKER_MIN_BYTES || !existsSync(fileURLToPath(workerUrl))) {
    return Promise.all([parseDataFile(reference), parseDataFile(current)]);
  }
  const workers: Worker[] = [];
  try {
    return await Promise.all([parseInWorker(workerUrl, reference, workers), parseInWorker(workerUrl, current, workers)]);
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}
