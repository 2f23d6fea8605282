// The test choices of --test auto and the cases that used to pass silently: chi-square and the
// two-proportion test against scipy (test/fixtures/drift/chi2-missing.json, to 1e-9), integer
// columns with few values, missing-value shares, extra columns, tiny samples, a header-only
// reference, and the row cap with its sample note.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDrift, chiSquare } from '../../src/drift/index.ts';
import { missingShareTest } from '../../src/drift/features.ts';
import { UsageError } from '../../src/errors.ts';
import { normalSampler, seededRandom } from '../fixtures/drift/data.ts';

const oracle = JSON.parse(readFileSync(new URL('../fixtures/drift/chi2-missing.json', import.meta.url), 'utf8')) as {
  tables: Array<{ reference: number[]; current: number[]; statistic: number; pValue: number; dof: number }>;
};

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mlops-drift-choices-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, lines: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

function column(n: number, value: (i: number) => string | number): string[] {
  return Array.from({ length: n }, (_, i) => String(value(i)));
}

describe('chi-square contingency and two-proportion p-values equal scipy', () => {
  it(`chiSquare on ${oracle.tables.length} tables (2 x 2 to 2 x 8, counts 5 to 1e6) within 1e-9`, () => {
    for (const table of oracle.tables) {
      const result = chiSquare(table.reference, table.current);
      expect(result.dof).toBe(table.dof);
      expect(Math.abs(result.statistic - table.statistic)).toBeLessThan(1e-9 * Math.max(1, table.statistic));
      expect(Math.abs(result.pValue - table.pValue)).toBeLessThan(1e-9);
      if (table.pValue > 1e-300) expect(Math.abs(result.pValue / table.pValue - 1)).toBeLessThan(1e-9);
    }
  });

  it('the missing-share test is the 2 x 2 table of (missing, present)', () => {
    for (const table of oracle.tables.filter((t) => t.reference.length === 2)) {
      const [refMissing, refPresent] = table.reference as [number, number];
      const [curMissing, curPresent] = table.current as [number, number];
      const test = missingShareTest(refMissing, refMissing + refPresent, curMissing, curMissing + curPresent);
      expect(Math.abs(test.pValue - table.pValue)).toBeLessThan(1e-9);
      if (table.pValue > 1e-300) expect(Math.abs(test.pValue / table.pValue - 1)).toBeLessThan(1e-9);
    }
  });
});

describe('--test auto', () => {
  it('uses chi-square for an integer column with at most 5 values, KS for 6 or more', async () => {
    const random = seededRandom(3);
    const pick = (weights: number[]) => () => {
      let u = random();
      for (let v = 0; v < weights.length; v++) if ((u -= weights[v]!) < 0) return v + 1;
      return weights.length;
    };
    const even = pick([0.25, 0.25, 0.25, 0.25]);
    const skew = pick([0.2, 0.25, 0.25, 0.3]);
    const six = () => 1 + Math.floor(random() * 6);
    const reference = file('ref.csv', ['level,dice', ...column(3000, () => `${even()},${six()}`)]);
    const current = file('cur.csv', ['level,dice', ...column(3000, () => `${skew()},${six()}`)]);
    const report = await checkDrift({ reference, current });
    const [level, dice] = report.features;
    expect(level).toMatchObject({ name: 'level', kind: 'numeric', test: 'chi2', dof: 3 });
    expect(level!.histogram.kind).toBe('categorical');
    expect(dice).toMatchObject({ name: 'dice', test: 'ks' });
    // Forcing KS still runs KS (no auto choice).
    const forced = await checkDrift({ reference, current, test: 'ks' });
    expect(forced.features[0]!.test).toBe('ks');
    expect(level!.pValue!).toBeLessThan(forced.features[0]!.pValue!);
    // Decimals are not integers: KS.
    const decimals = file('dec.csv', ['level,dice', ...column(3000, () => `${even() + 0.5},${six()}`)]);
    expect((await checkDrift({ reference: decimals, current: decimals })).features[0]!.test).toBe('ks');
  });
});

describe('the silent cases', () => {
  const normal = normalSampler(seededRandom(11));
  const values = (n: number) => column(n, () => normal().toFixed(5));

  it('a jump in missing values (0% to 10%) is drift, with a note, in the same BH family', async () => {
    const reference = file('m-ref.csv', ['x,y', ...column(2000, () => `${normal().toFixed(5)},${normal().toFixed(5)}`)]);
    const current = file('m-cur.csv', ['x,y', ...column(2000, (i) => `${i % 10 === 0 ? '' : normal().toFixed(5)},${normal().toFixed(5)}`)]);
    const report = await checkDrift({ reference, current });
    const x = report.features[0]!;
    expect(x.missing).toEqual({ reference: 0, current: 200 });
    expect(x.missingTest).toMatchObject({ referenceShare: 0, currentShare: 0.1, drifted: true });
    expect(x.missingTest!.pValue).toBeLessThan(1e-40);
    expect(x.drifted).toBe(true);
    expect(x.note).toMatch(/missing values went from 0% to 10% of rows/);
    expect(report.features[1]!.missingTest).toBeUndefined();
    expect(report.drift).toBe(true);
    expect(report.rule.description).toMatch(/share of its missing values/);
    // BH over 3 tests (x values, y values, x missing): the adjusted p is at most 3x the raw one.
    expect(x.missingTest!.adjustedPValue).toBeLessThanOrEqual(x.missingTest!.pValue * 3 + 1e-300);
    // The same share in both files is no drift.
    const same = await checkDrift({ reference: current, current });
    expect(same.features[0]!.missingTest!.drifted).toBe(false);
  });

  it('columns only in the current data get a note', async () => {
    const reference = file('e-ref.csv', ['a', ...values(200)]);
    const current = file('e-cur.csv', ['a,extra1,extra2', ...column(200, () => `${normal()},1,2`)]);
    const report = await checkDrift({ reference, current });
    expect(report.features.map((f) => f.name)).toEqual(['a']);
    expect(report.notes).toContain('current data has 2 columns not in the reference data, not compared: extra1, extra2');
    // Chosen with --features: no note.
    expect((await checkDrift({ reference, current, features: ['a'] })).notes).toEqual([]);
  });

  it('a 1-row current file is flagged: a warning and smallSample, not a silent ok', async () => {
    const reference = file('s-ref.csv', ['a,b', ...column(500, () => `${normal()},x${Math.floor(normal() * 2)}`)]);
    const current = file('s-cur.csv', ['a,b', '0.1,x0']);
    const report = await checkDrift({ reference, current });
    expect(report.drift).toBe(false);
    expect(report.features.every((f) => f.smallSample)).toBe(true);
    expect(report.warnings).toHaveLength(2);
    expect(report.warnings[0]).toMatch(/'a': only 1 non-missing current values; KS needs at least 30/);
    const enough = await checkDrift({ reference, current: reference });
    expect(enough.warnings).toEqual([]);
  });

  it('a header-only reference with a string column blames the reference', async () => {
    const reference = file('h-ref.csv', ['name,amount']);
    const current = file('h-cur.csv', ['name,amount', 'alice,1', 'bob,2']);
    const error = await checkDrift({ reference, current }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toMatch(/^reference data .*h-ref\.csv has no rows/);
  });
});

describe('--max-rows', () => {
  const normal = normalSampler(seededRandom(5));

  it('samples uniformly beyond the cap and says so; reads exactly when the data fits', async () => {
    // The current file drifts only in its second half: a sample must still see it (uniform),
    // where a "first N rows" cap would not.
    const reference = file('c-ref.csv', ['v', ...column(20_000, () => normal().toFixed(6))]);
    const current = file('c-cur.csv', ['v', ...column(20_000, (i) => (normal() + (i >= 10_000 ? 1 : 0)).toFixed(6))]);
    const sampled = await checkDrift({ reference, current, maxRows: 2_000 });
    expect(sampled.current).toMatchObject({ rows: 20_000, sampledRows: 2_000 });
    expect(sampled.features[0]!.sampleSize).toEqual({ reference: 2_000, current: 2_000 });
    expect(sampled.notes).toContain('current: tested on a uniform sample of 2000 of 20000 rows (--max-rows 2000); missing-value shares use every row');
    expect(sampled.drift).toBe(true);
    expect(sampled.features[0]!.stats.kind === 'numeric' && sampled.features[0]!.stats.currentMean).toBeGreaterThan(0.35);
    expect(sampled.features[0]!.stats.kind === 'numeric' && sampled.features[0]!.stats.currentMean).toBeLessThan(0.65);
    // Seeded: the same sample every run.
    const again = await checkDrift({ reference, current, maxRows: 2_000 });
    expect(again.features[0]!.statistic).toBe(sampled.features[0]!.statistic);
    const exact = await checkDrift({ reference, current, maxRows: 20_000 });
    expect(exact.current.sampledRows).toBe(20_000);
    expect(exact.notes).toEqual([]);
    const unlimited = await checkDrift({ reference, current, maxRows: 1e9 });
    expect(unlimited.features[0]!.pValue).toBe(exact.features[0]!.pValue);
  });

  it('a sample of a categorical column keeps its proportions', async () => {
    const random = seededRandom(9);
    const rows = column(30_000, () => (random() < 0.2 ? 'a' : 'b'));
    const path = file('cat.csv', ['c', ...rows]);
    const report = await checkDrift({ reference: path, current: path, maxRows: 5_000 });
    const histogram = report.features[0]!.histogram;
    expect(histogram.kind).toBe('categorical');
    if (histogram.kind === 'categorical') {
      const a = histogram.reference[histogram.categories.indexOf('a')]!;
      expect(a / 5_000).toBeGreaterThan(0.17);
      expect(a / 5_000).toBeLessThan(0.23);
    }
  });

  it('refuses a cap below the minimum sample', async () => {
    const path = file('tiny.csv', ['v', '1', '2']);
    await expect(checkDrift({ reference: path, current: path, maxRows: 10 })).rejects.toThrow(/max rows 10 is out of range/);
  });
});

describe('sources', () => {
  it('a scheme other than s3:// is refused by name with exit 2; a malformed s3:// URL too, before any request', async () => {
    const path = file('local.csv', ['v', '1']);
    const error = await checkDrift({ reference: path, current: 'gs://bucket/today.csv' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toBe('current data gs://bucket/today.csv: gs:// sources are not supported (s3:// and local files are)');
    expect((error as UsageError).exitCode).toBe(2);
    const bad = await checkDrift({ reference: path, current: 's3://Bad_Bucket/x.csv' }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(UsageError);
    expect((bad as UsageError).message).toBe('current data s3://Bad_Bucket/x.csv is not an S3 object URL');
    const noKey = await checkDrift({ reference: path, current: 's3://bucket/' }).catch((e: unknown) => e);
    expect((noKey as UsageError).exitCode).toBe(2);
  });
});
