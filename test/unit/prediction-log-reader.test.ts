// The one reader of the prediction log: rotated files oldest first, folders of replica
// logs, torn lines classified, and a rotation while reading neither skips nor repeats.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { RotatingLogWriter, predictionLogFiles, readPredictionLog, type LogEntry } from '../../src/prediction-log/index.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlops-log-reader-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const row = (id: number) => `${JSON.stringify({ request_id: `r${id}`, time: 't', model: 'm', version: 'v1', variant: 'default', features: [id], outputs: {}, latency_ms: 1 })}\n`;

async function all(paths: string | string[]): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const entry of readPredictionLog(paths)) out.push(entry);
  return out;
}

test('rotated files are read oldest first; torn and foreign lines are classified, not fatal', async () => {
  const log = join(dir, 'p.jsonl');
  await writeFile(`${log}.2`, row(1));
  await writeFile(`${log}.1`, row(2) + '{"torn": \n' + '[1,2]\n');
  await writeFile(log, row(3) + `${JSON.stringify({ type: 'feedback', request_id: 'r3', time: 't', joined: false, label: 1 })}\n`);
  const entries = await all(log);
  expect(entries.map((e) => e.kind)).toEqual(['prediction', 'prediction', 'invalid', 'invalid', 'prediction', 'feedback']);
  expect(entries.filter((e) => e.kind === 'prediction').map((e) => (e.kind === 'prediction' ? e.row.request_id : ''))).toEqual(['r1', 'r2', 'r3']);
  expect(entries[2]).toMatchObject({ kind: 'invalid', reason: 'not JSON', file: `${log}.1`, line: 2 });
});

test('a folder is every replica log in it, each with its rotated files', async () => {
  await writeFile(join(dir, 'a.jsonl'), row(1));
  await writeFile(join(dir, 'a.jsonl.1'), row(0));
  await writeFile(join(dir, 'b.jsonl'), row(2));
  expect(await predictionLogFiles(dir)).toEqual([join(dir, 'a.jsonl.1'), join(dir, 'a.jsonl'), join(dir, 'b.jsonl')]);
  expect((await all(dir)).length).toBe(3);
});

test('a rotation while reading neither skips nor repeats a line', async () => {
  const log = join(dir, 'live.jsonl');
  const writer = new RotatingLogWriter(log, 2000, 5, () => undefined);
  for (let i = 0; i < 100; i++) writer.write(row(i));
  await writer.flush();
  const seen: string[] = [];
  let rotated = false;
  for await (const entry of readPredictionLog(log)) {
    if (entry.kind === 'prediction') seen.push(entry.row.request_id);
    if (!rotated) {
      rotated = true;
      // The writer rotates under the reader: log -> log.1 -> log.2 ...
      for (let i = 100; i < 200; i++) writer.write(row(i));
      await writer.flush();
    }
  }
  await writer.close();
  expect(new Set(seen).size).toBe(seen.length);
  // What was there when reading began, in order (keep 5 files of ~2 kB: the oldest rows rotated out).
  const numbers = seen.map((id) => Number(id.slice(1)));
  expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
  expect(numbers.at(-1)).toBe(99);
});
