// Parquet input: the fixtures made once with pyarrow (test/fixtures/drift/make_parquet.py), in
// four compressions and ten column types, read to pandas' values; drift-check on Parquet agrees
// with scipy; bad Parquet names the file.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDrift } from '../../src/drift/index.ts';
import { parseDataFile, sniffFile } from '../../src/drift/read.ts';
import { UsageError } from '../../src/errors.ts';

const FIXTURES = new URL('../fixtures/drift/', import.meta.url).pathname;
const PARQUET = join(FIXTURES, 'parquet');
const expected = JSON.parse(readFileSync(join(FIXTURES, 'parquet-expected.json'), 'utf8'));

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mlops-parquet-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function readAll(path: string) {
  const info = await sniffFile(path, 'reference');
  const columns = info.columns!.map((name) => ({ name, kind: info.categoricalColumns.has(name) ? ('categorical' as const) : ('numeric' as const), source: name }));
  const data = await parseDataFile({ info, columns });
  return { info, data, column: (name: string) => data.columns.find((c) => c.name === name)! };
}

const mean = (values: Float64Array): number => values.reduce((s, v) => s + v, 0) / values.length;

describe('Parquet: types and compressions', () => {
  for (const codec of ['none', 'snappy', 'gzip', 'zstd']) {
    it(`reads every column of the ${codec} file to pandas' values`, async () => {
      const { info, data, column } = await readAll(join(PARQUET, `ref-${codec}.parquet`));
      expect(info.format).toBe('parquet');
      expect(info.columns).toEqual(expected.columns);
      expect([...info.categoricalColumns].sort()).toEqual(['country', 'flag']);
      expect(data.rows).toBe(expected.rows);
      const ref = expected.reference;
      expect(mean(column('amount').sorted!)).toBeCloseTo(ref.amountMean, 9); // float64
      expect(mean(column('score').sorted!)).toBeCloseTo(ref.scoreMean, 9); // float32
      expect(mean(column('age').sorted!)).toBeCloseTo(ref.ageMean, 9); // int32
      expect(column('clicks').sorted!.at(-1)).toBe(ref.clicksMax); // int64 (BigInt in the reader)
      expect(new Set(column('level').sorted!)).toEqual(new Set([1, 2, 3, 4])); // int8
      expect(Object.fromEntries(column('flag').counts!)).toMatchObject({ true: ref.flagTrue }); // boolean
      expect(Object.fromEntries(column('country').counts!)).toEqual(ref.countryCounts); // dictionary string
      expect(column('seen').sorted![0]).toBe(ref.seenMinMs); // timestamp(ms) as epoch ms
      expect(column('day').sorted!.length).toBe(expected.rows); // date32
      expect(data.columns.every((c) => c.missing === 0)).toBe(true);
    });
  }

  it('reads only the requested columns, and a row sample across row groups', async () => {
    const info = await sniffFile(join(PARQUET, 'cur-drifted.parquet'), 'current');
    const data = await parseDataFile({ info, columns: [{ name: 'income', kind: 'numeric', source: 'income' }], maxRows: 500 });
    expect(data.rows).toBe(expected.rows);
    expect(data.sampledRows).toBe(500);
    // Missing values are counted over every row, not only the sample.
    expect(data.columns[0]!.missing).toBe(expected.current.incomeMissing);
    expect(data.columns[0]!.sorted!.length).toBeGreaterThan(400);
    expect(data.columns[0]!.sorted!.length).toBeLessThan(500);
  });
});

describe('drift-check on Parquet agrees with scipy', () => {
  it('KS on a float column, chi-square on a 4-valued int8 column, the missing share of another', async () => {
    const report = await checkDrift({ reference: join(PARQUET, 'ref-snappy.parquet'), current: join(PARQUET, 'cur-drifted.parquet') });
    const byName = Object.fromEntries(report.features.map((f) => [f.name, f]));
    expect(report.reference.format).toBe('parquet');
    expect(byName.amount!.test).toBe('ks');
    expect(byName.amount!.pValue! / expected.ksAmount).toBeCloseTo(1, 6);
    expect(byName.level!.test).toBe('chi2');
    expect(byName.level!.kind).toBe('numeric');
    expect(byName.level!.note).toMatch(/integer column with 4 distinct values/);
    expect(byName.level!.pValue! / expected.chi2Level).toBeCloseTo(1, 9);
    // chi-square is the more powerful test here, as the issue measured.
    expect(byName.level!.pValue!).toBeLessThan(expected.ksLevel);
    expect(byName.income!.missingTest!.currentShare).toBeCloseTo(expected.current.incomeMissing / expected.rows, 12);
    expect(byName.income!.missingTest!.pValue / expected.missingIncome).toBeCloseTo(1, 9);
    expect(byName.income!.drifted).toBe(true);
    expect(report.summary.driftedFeatures).toEqual(expect.arrayContaining(['amount', 'level', 'income']));
    expect(byName.age!.drifted).toBe(false);
  });

  it('compares Parquet with CSV', async () => {
    const csv = ['amount,age', ...Array.from({ length: 300 }, (_, i) => `${100 + ((i * 37) % 41) - 20},${18 + (i % 70)}`)].join('\n') + '\n';
    const current = join(dir, 'cur.csv');
    writeFileSync(current, csv);
    const report = await checkDrift({ reference: join(PARQUET, 'ref-gzip.parquet'), current, features: ['amount', 'age'] });
    expect(report.current.format).toBe('csv');
    expect(report.features.map((f) => f.sampleSize)).toEqual([
      { reference: 2000, current: 300 },
      { reference: 2000, current: 300 },
    ]);
  });
});

describe('bad Parquet names the file', () => {
  it('a truncated file is bad_parquet, blaming the current data', async () => {
    const bytes = readFileSync(join(PARQUET, 'ref-snappy.parquet'));
    const path = join(dir, 'cut.parquet');
    writeFileSync(path, bytes.subarray(0, 5000));
    const error = await checkDrift({ reference: join(PARQUET, 'ref-snappy.parquet'), current: path }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toMatch(/^current data .*cut\.parquet is not readable Parquet/);
    expect((error as UsageError).code).toBe('bad_parquet');
  });

  it('a nested column is refused by name, and flat columns beside it can be compared', async () => {
    const nested = join(PARQUET, 'nested.parquet');
    const error = await checkDrift({ reference: nested, current: nested }).catch((e: unknown) => e);
    expect((error as UsageError).message).toMatch(/column 'tags' is nested/);
    const report = await checkDrift({ reference: nested, current: nested, features: ['x'] });
    expect(report.features).toHaveLength(1);
    expect(report.warnings[0]).toMatch(/only 3 non-missing current values/);
  });

  it('a missing column names the Parquet file and lists its columns', async () => {
    const error = await checkDrift({ reference: join(PARQUET, 'ref-zstd.parquet'), current: join(PARQUET, 'nested.parquet'), features: ['amount'] }).catch((e: unknown) => e);
    expect((error as UsageError).message).toMatch(/^current data .*nested\.parquet has no column 'amount'/);
    expect((error as UsageError).hint).toMatch(/x, tags/);
  });
});
