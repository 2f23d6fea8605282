// drift-check on s3:// data against the real Ceph RGW: CSV, gzip and Parquet read from the bucket
// give the same report as the same files on disk; a missing key or bucket is exit 3 naming the
// URL; refused credentials are exit 4 in one line without the secret.
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE, ROOT, expectCleanError, mlops, tempDir } from '../support/cli.js';
import { s3ForTests } from '../support/s3-tests.js';

const s3 = s3ForTests();

interface Report {
  drift: boolean;
  reference: { rows: number };
  current: { rows: number; gzip: boolean; format: string };
  features: Array<{ name: string; statistic: number; pValue: number | null }>;
}

describe.skipIf(!s3.available)(`drift-check on s3:// data${s3.available ? '' : ` (skipped: ${s3.skipReason})`}`, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let bucket: string;
  const put = async (key: string, body: Buffer | string) => s3.client().send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  const run = (args: string[], env: Record<string, string | undefined> = s3.env) => mlops(['drift-check', '--json', ...args], { cwd: dir, env });
  const verdict = (stdout: string) => {
    const report = JSON.parse(stdout) as Report;
    return { drift: report.drift, rows: [report.reference.rows, report.current.rows], features: report.features.map((f) => [f.name, f.statistic, f.pValue]) };
  };

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    bucket = await s3.newBucket('drift-data');
    const reference = await readFile(join(EXAMPLE, 'reference.csv'));
    const drifted = await readFile(join(EXAMPLE, 'drifted.csv'));
    await put('data/reference.csv', reference);
    await put('data/dt=2026-12-04/drifted.csv.gz', gzipSync(drifted));
    await writeFile(join(dir, 'drifted.csv.gz'), gzipSync(drifted));
    for (const name of ['ref-snappy.parquet', 'cur-drifted.parquet']) await put(`pq/${name}`, await readFile(join(ROOT, 'test/fixtures/drift/parquet', name)));
  });
  afterAll(async () => cleanup());

  it('CSV and gzip from the bucket give the report of the same files on disk', async () => {
    const remote = await run(['--reference', `s3://${bucket}/data/reference.csv`, '--current', `s3://${bucket}/data/dt=2026-12-04/drifted.csv.gz`]);
    const local = await run(['--reference', join(EXAMPLE, 'reference.csv'), '--current', join(dir, 'drifted.csv.gz')]);
    expect(remote.exitCode, remote.stderr).toBe(1);
    expect(local.exitCode, local.stderr).toBe(1);
    expect(verdict(remote.stdout)).toEqual(verdict(local.stdout));
    const report = JSON.parse(remote.stdout) as Report;
    expect(report.current.gzip).toBe(true);
    expect(report.current.rows).toBeGreaterThan(0);
  });

  it('Parquet from the bucket (ranged reads) gives the report of the local file', async () => {
    const fixtures = join(ROOT, 'test/fixtures/drift/parquet');
    const remote = await run(['--reference', `s3://${bucket}/pq/ref-snappy.parquet`, '--current', `s3://${bucket}/pq/cur-drifted.parquet`]);
    const local = await run(['--reference', join(fixtures, 'ref-snappy.parquet'), '--current', join(fixtures, 'cur-drifted.parquet')]);
    expect(remote.exitCode, remote.stderr).toBe(local.exitCode);
    expect([0, 1]).toContain(remote.exitCode);
    expect(verdict(remote.stdout)).toEqual(verdict(local.stdout));
    expect((JSON.parse(remote.stdout) as Report).current.format).toBe('parquet');
  });

  it('a prefix (s3://BUCKET/logs/) reads every object under it in key order, gzipped parts as one stream', async () => {
    const [header, ...rows] = (await readFile(join(EXAMPLE, 'drifted.csv'), 'utf8')).trim().split('\n');
    const names = header!.split(',');
    const jsonl = rows.map((row) => JSON.stringify(Object.fromEntries(row.split(',').map((v, i) => [names[i], Number(v)]))));
    const third = Math.floor(jsonl.length / 3);
    const parts = [jsonl.slice(0, third), jsonl.slice(third, 2 * third), jsonl.slice(2 * third)].map((p) => `${p.join('\n')}\n`);
    await writeFile(join(dir, 'whole.jsonl'), parts.join(''));
    for (const [i, part] of parts.entries()) await put(`logs/part-${i}.jsonl.gz`, gzipSync(part));
    const remote = await run(['--reference', join(EXAMPLE, 'reference.csv'), '--current', `s3://${bucket}/logs/`]);
    const local = await run(['--reference', join(EXAMPLE, 'reference.csv'), '--current', join(dir, 'whole.jsonl')]);
    expect(remote.exitCode, remote.stderr).toBe(1);
    expect(verdict(remote.stdout)).toEqual(verdict(local.stdout));
    expect((JSON.parse(remote.stdout) as Report).current.rows).toBe(jsonl.length);
    const empty = await run(['--reference', join(EXAMPLE, 'reference.csv'), '--current', `s3://${bucket}/nothing-here/`]);
    expect(empty.exitCode).toBe(3);
    expect(JSON.parse(empty.stdout).error.message).toContain(`s3://${bucket}/nothing-here/: no objects under the prefix`);
  });

  it('a missing key is exit 3 naming the URL; a missing bucket too', async () => {
    const missingKey = await run(['--reference', `s3://${bucket}/data/reference.csv`, '--current', `s3://${bucket}/data/nope.csv`]);
    expect(missingKey.exitCode).toBe(3);
    expect(missingKey.stdout).toContain(`current data s3://${bucket}/data/nope.csv does not exist`);
    const missingBucket = await mlops(['drift-check', '--reference', `s3://${bucket}/data/reference.csv`, '--current', 's3://no-such-bucket-mlops-drift/x.csv'], { cwd: dir, env: s3.env });
    expect(missingBucket.exitCode).toBe(3);
    expect(expectCleanError(missingBucket)).toContain('current data s3://no-such-bucket-mlops-drift/x.csv: the bucket no-such-bucket-mlops-drift does not exist');
  });

  it('wrong credentials are exit 4 in one line, without the secret', async () => {
    const secret = 'wrong-secret-value-0123456789';
    const result = await mlops(['drift-check', '--reference', join(EXAMPLE, 'reference.csv'), '--current', `s3://${bucket}/data/reference.csv`], {
      cwd: dir,
      env: { ...s3.env, AWS_SECRET_ACCESS_KEY: secret },
    });
    expect(result.exitCode).toBe(4);
    expect(expectCleanError(result)).toMatch(new RegExp(`S3 refused to read current data s3://${bucket}/data/reference.csv \\((SignatureDoesNotMatch|AccessDenied|InvalidAccessKeyId|HTTP 403)\\)`));
    expect(result.stderr).not.toContain(secret);
    expect(result.stderr).not.toContain(s3.env.AWS_ACCESS_KEY_ID!);
  });

  it('--record on an s3:// registry writes one object per run under models/NAME/drift/; drift history reads them back', async () => {
    const registry = `s3://${bucket}/team`;
    const env = { ...s3.env, MLOPS_CACHE_DIR: join(dir, 'cache') };
    const reg = (...args: string[]) => mlops(['--registry', registry, ...args], { cwd: dir, env });
    expect((await reg('init')).exitCode).toBe(0);
    const registered = await reg('register', 'fraud', join(EXAMPLE, 'fraud-v1.onnx'), '--reference-data', join(EXAMPLE, 'reference.csv'));
    expect(registered.exitCode, registered.stderr).toBe(0);
    const first = await reg('drift-check', 'fraud@v1.0.0', '--current', `s3://${bucket}/data/reference.csv`, '--record', '--json');
    expect(first.exitCode, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout).recorded).toMatch(new RegExp(`^s3://${bucket}/team/models/fraud/drift/\\d{8}T\\d{6}\\.\\d{3}Z-[0-9a-f]{8}\\.json$`));
    const second = await reg('drift-check', 'fraud@v1.0.0', '--current', `s3://${bucket}/data/dt=2026-12-04/drifted.csv.gz`, '--record');
    expect(second.exitCode, second.stderr).toBe(1);
    const listed = await s3.client().send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'team/models/fraud/drift/' }));
    expect(listed.Contents?.map((o) => o.Key)).toHaveLength(2);
    // A damaged object inside the window is skipped with a warning.
    const anHourAgo = new Date(Date.now() - 3_600_000).toISOString().replace(/[-:]/g, '');
    await put(`team/models/fraud/drift/${anHourAgo}-0badf00d.json`, '{"schemaVersion":1,');
    const history = await reg('drift', 'history', 'fraud', '--json');
    expect(history.exitCode, history.stderr).toBe(0);
    expect(JSON.parse(history.stdout).records.map((r: { drift: boolean }) => r.drift)).toEqual([false, true]);
    expect(history.stderr).toMatch(/warning: skipped s3:\/\/.*0badf00d\.json: not readable JSON/);
    const table = await reg('drift', 'history', 'fraud');
    expect(table.stdout).toMatch(/TIME \(UTC\)\s+VERDICT\s+AMOUNT/);
  });
});
