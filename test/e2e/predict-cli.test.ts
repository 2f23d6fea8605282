// mlops predict, end to end with the built CLI on the fraud example, on a folder and an s3://
// registry: the same predictions from CSV (by names, reordered, headerless), JSON lines, gzip
// and Parquet; a bad column or a truncated file is exit 2 with no output left behind; a
// 1M-row CSV streams through with the child's peak RSS bounded.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { execa } from 'execa';
import { createWriteStream } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, EXAMPLE, ROOT, expectCleanError, mlops, tempDir } from '../support/cli.js';
import { registryBackends } from '../support/registry-backends.js';
import { s3ForTests } from '../support/s3-tests.js';

const backends = await registryBackends();
const s3 = s3ForTests();
const CURRENT = join(EXAMPLE, 'current.csv');

function parseCsv(text: string): string[][] {
  return text.trim().split('\n').map((line) => line.split(','));
}

describe.each(backends)('mlops predict on a $name registry', (backend) => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let registry: string;
  const env = () => ({ ...backend.env, MLOPS_CACHE_DIR: join(dir, 'cache') });
  const run = (...args: string[]) => mlops(['--registry', registry, ...args], { cwd: dir, env: env() });
  let expected: string[][];

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    registry = await backend.location(dir);
    expect((await run('init')).exitCode).toBe(0);
    const registered = await run('register', 'fraud', join(EXAMPLE, 'fraud-v1.onnx'), '--reference-data', join(EXAMPLE, 'reference.csv'));
    expect(registered.exitCode, registered.stderr).toBe(0);
    expect((await run('promote', 'fraud', 'v1.0.0')).exitCode).toBe(0);
    // v1.0.1 recorded no column names: its files are read by position.
    expect((await run('register', 'fraud', join(EXAMPLE, 'fraud-v2.onnx'))).exitCode).toBe(0);
  }, 120_000);
  afterAll(async () => cleanup());

  it('scores a CSV by column names: one row per input row, numbered, with class and probability; --json has rows/s', async () => {
    const result = await run('predict', 'fraud', '--input', CURRENT, '--output', join(dir, 'preds.csv'), '--json');
    expect(result.exitCode, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ model: 'fraud', version: 'v1.0.0', rows: 2000, columnsBy: 'names', batchRows: 4096 });
    expect(summary.rowsPerSecond).toBeGreaterThan(0);
    expect(result.stderr).toMatch(/scored 2000 rows with fraud v1.0.0 in [\d.]+ s: \d+ rows\/s/);
    const rows = parseCsv(await readFile(join(dir, 'preds.csv'), 'utf8'));
    expect(rows[0]).toEqual(['row', 'prediction', 'probability']);
    expect(rows).toHaveLength(2001);
    expect(rows.slice(1).map((r) => Number(r[0]))).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
    for (const [, prediction, probability] of rows.slice(1)) {
      expect(['0', '1']).toContain(prediction);
      expect(Number(probability)).toBeGreaterThanOrEqual(0);
      expect(Number(probability)).toBeLessThanOrEqual(1);
    }
    expect(new Set(rows.slice(1).map((r) => r[1])).size).toBe(2);
    expected = rows;
  });

  it('reordered columns, JSON lines, gzip, Parquet and small batches give the same predictions', async () => {
    const lines = (await readFile(CURRENT, 'utf8')).trim().split('\n').map((l) => l.split(','));
    const order = [...lines[0]!.keys()].reverse();
    await writeFile(join(dir, 'reordered.csv'), `${lines.map((l) => order.map((i) => l[i]).join(',')).join('\n')}\n`);
    const header = lines[0]!;
    await writeFile(join(dir, 'rows.jsonl'), `${lines.slice(1).map((l) => JSON.stringify(Object.fromEntries(header.map((h, i) => [h, Number(l[i])])))).join('\n')}\n`);
    await writeFile(join(dir, 'current.csv.gz'), gzipSync(await readFile(CURRENT)));
    const inputs: Array<[string, string[]]> = [
      ['reordered.csv', []],
      ['rows.jsonl', []],
      ['current.csv.gz', ['--batch-rows', '7']],
      [join(ROOT, 'test/fixtures/predict/current.parquet'), []],
    ];
    for (const [input, extra] of inputs) {
      const result = await run('predict', 'fraud', '--input', input.startsWith('/') ? input : join(dir, input), ...extra);
      expect(result.exitCode, `${input}: ${result.stderr}`).toBe(0);
      expect(parseCsv(result.stdout), input).toEqual(expected);
    }
    // JSON-lines output carries the same answers.
    const jsonl = await run('predict', 'fraud@v1.0.0', '--input', CURRENT, '--output', join(dir, 'preds.jsonl'));
    expect(jsonl.exitCode, jsonl.stderr).toBe(0);
    const records = (await readFile(join(dir, 'preds.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(records.map((r) => [String(r.row), String(r.prediction), String(r.probability)])).toEqual(expected.slice(1));
  });

  it('a headerless CSV is read by position; a model without recorded names reads a header file by position too', async () => {
    const body = (await readFile(CURRENT, 'utf8')).split('\n').slice(1).join('\n');
    await writeFile(join(dir, 'headerless.csv'), body);
    const headerless = await run('predict', 'fraud', '--input', join(dir, 'headerless.csv'), '--output', join(dir, 'h.csv'), '--json');
    expect(headerless.exitCode, headerless.stderr).toBe(0);
    expect(JSON.parse(headerless.stdout)).toMatchObject({ rows: 2000, columnsBy: 'position' });
    expect(parseCsv(await readFile(join(dir, 'h.csv'), 'utf8'))).toEqual(expected);
    const v2 = await run('predict', 'fraud@v1.0.1', '--input', CURRENT, '--output', join(dir, 'v2.csv'), '--json');
    expect(v2.exitCode, v2.stderr).toBe(0);
    expect(JSON.parse(v2.stdout)).toMatchObject({ version: 'v1.0.1', rows: 2000, columnsBy: 'position' });
  });

  it('a missing or unknown column is exit 2 naming it, and no output or temp file is left', async () => {
    const lines = (await readFile(CURRENT, 'utf8')).trim().split('\n');
    await writeFile(join(dir, 'missing.csv'), `${lines.map((l) => l.split(',').slice(0, 9).join(',')).join('\n')}\n`);
    const missing = await run('predict', 'fraud', '--input', join(dir, 'missing.csv'), '--output', join(dir, 'out-missing.csv'));
    expect(missing.exitCode).toBe(2);
    expect(expectCleanError(missing)).toBe(`error: input data ${join(dir, 'missing.csv')} has no column 'velocity'`);
    await writeFile(join(dir, 'unknown.csv'), `${lines.map((l, i) => `${l},${i === 0 ? 'customer_id' : i}`).join('\n')}\n`);
    const unknown = await run('predict', 'fraud', '--input', join(dir, 'unknown.csv'), '--output', join(dir, 'out-unknown.csv'), '--json');
    expect(unknown.exitCode).toBe(2);
    expect(JSON.parse(unknown.stdout).error).toMatchObject({ code: 'unknown_column', message: expect.stringContaining("has column 'customer_id', which the model does not take") });
    const files = await readdir(dir);
    expect(files.filter((f) => f.startsWith('out-') || f.endsWith('.tmp'))).toEqual([]);
  });

  it('a truncated file (a row cut short, a gzip cut in the middle) is exit 2 naming the file; a non-number names line and column', async () => {
    const text = await readFile(CURRENT, 'utf8');
    // Cut in the middle of a row: the last line has 3 of its 10 fields.
    const lineStart = text.indexOf('\n', Math.floor(text.length / 2)) + 1;
    let cutAt = lineStart;
    for (let comma = 0; comma < 3; comma++) cutAt = text.indexOf(',', cutAt) + 1;
    await writeFile(join(dir, 'cut.csv'), text.slice(0, cutAt - 1));
    const cut = await run('predict', 'fraud', '--input', join(dir, 'cut.csv'), '--output', join(dir, 'out-cut.csv'));
    expect(cut.exitCode).toBe(2);
    expect(expectCleanError(cut)).toContain(join(dir, 'cut.csv'));
    const gz = gzipSync(Buffer.from(text));
    await writeFile(join(dir, 'cut.csv.gz'), gz.subarray(0, Math.floor(gz.length / 2)));
    const cutGz = await run('predict', 'fraud', '--input', join(dir, 'cut.csv.gz'), '--output', join(dir, 'out-cutgz.csv'));
    expect(cutGz.exitCode).toBe(2);
    expect(expectCleanError(cutGz)).toMatch(/is not readable gzip/);
    const lines = text.trim().split('\n');
    lines[5] = lines[5]!.replace(/^[^,]*/, 'abc');
    await writeFile(join(dir, 'nan.csv'), `${lines.join('\n')}\n`);
    const nan = await run('predict', 'fraud', '--input', join(dir, 'nan.csv'), '--output', join(dir, 'out-nan.csv'));
    expect(nan.exitCode).toBe(2);
    expect(expectCleanError(nan)).toBe(`error: input data ${join(dir, 'nan.csv')} line 6: column 'amount' is 'abc', not a number`);
    expect((await readdir(dir)).filter((f) => f.startsWith('out-') || f.endsWith('.tmp'))).toEqual([]);
    const absent = await run('predict', 'fraud', '--input', join(dir, 'absent.csv'));
    expect(absent.exitCode).toBe(3);
    const noModel = await run('predict', 'nomodel', '--input', CURRENT);
    expect(noModel.exitCode).toBe(3);
  });

  it.skipIf(backend.name !== 's3' || !s3.available)('reads its input from s3:// too', async () => {
    const bucket = await s3.newBucket('predict-input');
    await s3.client().send(new PutObjectCommand({ Bucket: bucket, Key: 'in/current.csv', Body: await readFile(CURRENT) }));
    await s3.client().send(new PutObjectCommand({ Bucket: bucket, Key: 'in/current.parquet', Body: await readFile(join(ROOT, 'test/fixtures/predict/current.parquet')) }));
    for (const key of ['in/current.csv', 'in/current.parquet']) {
      const result = await run('predict', 'fraud', '--input', `s3://${bucket}/${key}`);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(parseCsv(result.stdout)).toEqual(expected);
    }
  });
});

describe('mlops predict on 1M rows', () => {
  it('streams a 1M-row CSV with the child\'s peak RSS bounded', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const registry = join(dir, 'registry');
      const env = { NO_COLOR: '1', CI: '1', MLOPS_USER: 'tester', MLOPS_REGISTRY: registry };
      expect((await mlops(['init'], { cwd: dir, env })).exitCode).toBe(0);
      expect((await mlops(['register', 'fraud', join(EXAMPLE, 'fraud-v1.onnx'), '--reference-data', join(EXAMPLE, 'reference.csv')], { cwd: dir, env })).exitCode).toBe(0);
      // 1M rows (~55 MB): the example's 2,000 rows repeated.
      const lines = (await readFile(CURRENT, 'utf8')).trim().split('\n');
      const block = `${lines.slice(1).join('\n')}\n`;
      const out = createWriteStream(join(dir, 'big.csv'));
      out.write(`${lines[0]}\n`);
      for (let i = 0; i < 500; i++) if (!out.write(block)) await new Promise<void>((r) => out.once('drain', () => r()));
      await new Promise<void>((r) => out.end(() => r()));
      const child = execa('node', [BIN, 'predict', 'fraud@v1.0.0', '--input', join(dir, 'big.csv'), '--output', join(dir, 'big-preds.csv'), '--json'], { cwd: dir, env, extendEnv: true, reject: false });
      let peakKb = 0;
      const poll = setInterval(() => {
        void readFile(`/proc/${child.pid}/status`, 'utf8').then(
          (status) => (peakKb = Math.max(peakKb, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0))),
          () => undefined,
        );
      }, 50);
      const result = await child;
      clearInterval(poll);
      expect(result.exitCode, String(result.stderr)).toBe(0);
      const summary = JSON.parse(String(result.stdout));
      expect(summary.rows).toBe(1_000_000);
      console.log(`predict 1M rows: ${Math.round(summary.rowsPerSecond)} rows/s, peak RSS ${Math.round(peakKb / 1024)} MB`);
      expect(peakKb).toBeGreaterThan(0);
      // The input alone is ~55 MB and the output ~30 MB; streaming keeps the child far below holding them (measured ~180 MB).
      expect(peakKb / 1024).toBeLessThan(400);
      const text = await readFile(join(dir, 'big-preds.csv'), 'utf8');
      const outLines = text.trimEnd().split('\n');
      expect(outLines).toHaveLength(1_000_001);
      expect(outLines.at(-1)!.startsWith('1000000,')).toBe(true);
      // SIGINT mid-run: exit 130, the earlier output untouched, no temp file left.
      const interrupted = execa('node', [BIN, 'predict', 'fraud@v1.0.0', '--input', join(dir, 'big.csv'), '--output', join(dir, 'big-preds.csv')], { cwd: dir, env, extendEnv: true, reject: false });
      let stderr = '';
      interrupted.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const deadline = Date.now() + 30_000;
      while (!stderr.includes('loading fraud') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 1500));
      interrupted.kill('SIGINT');
      const stopped = await interrupted;
      expect(stopped.exitCode, stderr).toBe(130);
      expect(await readFile(join(dir, 'big-preds.csv'), 'utf8')).toBe(text);
      expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    } finally {
      await cleanup();
    }
  }, 300_000);
});
