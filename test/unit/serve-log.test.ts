// The prediction log writer: buffered (nothing written per line), flushed on close,
// rotated by size into log.1 ... log.N, and a failing disk never throws into serving.
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { RotatingLogWriter, logFiles } from '../../src/prediction-log/index.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlops-log-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const line = (i: number) => `${JSON.stringify({ request_id: `r${i}`, features: [i, i + 1], outputs: { label: i % 2 } })}\n`;

test('writes are buffered and land on flush/close, in order', async () => {
  const path = join(dir, 'sub', 'predictions.jsonl');
  const writer = new RotatingLogWriter(path, 1024 * 1024, 3, () => undefined);
  for (let i = 0; i < 100; i++) writer.write(line(i));
  await expect(readFile(path, 'utf8')).rejects.toThrow(); // nothing yet: not a write per line
  await writer.close();
  const lines = (await readFile(path, 'utf8')).trim().split('\n');
  expect(lines).toHaveLength(100);
  expect(JSON.parse(lines[99]!).request_id).toBe('r99');
  writer.write(line(100)); // after close: dropped, not thrown
});

test('flushes by itself after a short delay', async () => {
  const path = join(dir, 'timed.jsonl');
  const writer = new RotatingLogWriter(path, 1024 * 1024, 3, () => undefined);
  writer.write(line(1));
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(await readFile(path, 'utf8')).toBe(line(1));
  await writer.close();
});

test('rotates by size and keeps N files; logFiles lists them oldest first', async () => {
  const path = join(dir, 'rot.jsonl');
  const writer = new RotatingLogWriter(path, 2000, 2, () => undefined);
  for (let i = 0; i < 200; i++) {
    writer.write(line(i));
    if (i % 10 === 9) await writer.flush();
  }
  await writer.close();
  const names = (await readdir(dir)).sort();
  expect(names).toEqual(['rot.jsonl', 'rot.jsonl.1', 'rot.jsonl.2']);
  const files = await logFiles(path);
  expect(files).toEqual([`${path}.2`, `${path}.1`, path]);
  const all = (await Promise.all(files.map((f) => readFile(f, 'utf8')))).join('').trim().split('\n').map((l) => JSON.parse(l).request_id);
  // Oldest files are gone; what remains is the newest lines, in order.
  expect(all.at(-1)).toBe('r199');
  expect(all).toEqual([...all].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1))));
  for (const file of files) expect((await readFile(file)).length).toBeLessThanOrEqual(2000 + 500);
});

test('an unwritable log is reported once and serving goes on; it recovers', async () => {
  // A folder where the file should be: unwritable even for root (permissions would not be).
  const path = join(dir, 'blocked.jsonl');
  await mkdir(path);
  const errors: string[] = [];
  const writer = new RotatingLogWriter(path, 1024 * 1024, 2, (message) => errors.push(message));
  writer.write(line(1));
  await writer.flush();
  writer.write(line(2));
  await writer.flush();
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(/cannot write the prediction log .*blocked.jsonl/);
  await rm(path, { recursive: true });
  writer.write(line(3));
  await writer.close();
  expect(errors[1]).toMatch(/writable again/);
  expect(await readFile(path, 'utf8')).toBe(line(3));
});
