// checkDrift on real files in a temp folder: formats (CSV, gzip without extension, JSON lines,
// prediction logs), column matching, the report, and every kind of bad input.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError, UsageError } from '../../src/errors.ts';
import { checkDrift, type DriftCheckOptions } from '../../src/drift/index.ts';
import { parseDataFile, sniffFile } from '../../src/drift/read.ts';
import { normalSampler, normalTable, seededRandom, toCsv, toJsonLines, toPredictionLog } from '../fixtures/drift/data.ts';

let dir: string;
const HEADER = ['amount', 'age', 'score'];

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** The thrown error, for asserting on its class and message. */
async function failure(options: DriftCheckOptions): Promise<Error> {
  try {
    await checkDrift(options);
  } catch (error) {
    return error as Error;
  }
  throw new Error('checkDrift did not throw');
}

let clean: number[][];
let clean2: number[][];
let shifted: number[][];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mlops-drift-'));
  const normal = normalSampler(seededRandom(42));
  clean = normalTable(normal, 2000, 3);
  clean2 = normalTable(normal, 1500, 3);
  shifted = normalTable(normal, 1500, 3, { 1: 0.5 });
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('checkDrift: formats and verdicts', () => {
  it('finds no drift between two samples of the same distribution (CSV vs CSV)', async () => {
    const events: string[] = [];
    const report = await checkDrift({
      reference: file('ref.csv', toCsv(HEADER, clean)),
      current: file('cur.csv', toCsv(HEADER, clean2)),
      onEvent: (event) => events.push(event.message),
    });
    expect(report.drift).toBe(false);
    expect(report.schemaVersion).toBe(1);
    expect(report.reference).toMatchObject({ format: 'csv', gzip: false, rows: 2000, shadowRowsSkipped: 0 });
    expect(report.current.rows).toBe(1500);
    expect(report.features.map((f) => f.name)).toEqual(HEADER);
    for (const feature of report.features) {
      expect(feature).toMatchObject({ kind: 'numeric', test: 'ks', threshold: 0.01, drifted: false, method: 'exact' });
      expect(feature.pValue).toBeGreaterThan(0);
      expect(feature.adjustedPValue).toBeGreaterThanOrEqual(feature.pValue!);
      expect(feature.sampleSize).toEqual({ reference: 2000, current: 1500 });
      expect(feature.histogram.kind).toBe('numeric');
    }
    expect(report.rule).toMatchObject({ test: 'auto', correction: 'bh', driftShare: null });
    expect(report.rule.description).toContain('Benjamini-Hochberg');
    expect(events.length).toBeGreaterThan(0);
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it('finds a shifted column in a gzip reference stored without an extension', async () => {
    const reference = file('0f3a9c', gzipSync(toCsv(HEADER, clean)));
    const report = await checkDrift({ reference, current: file('shifted.csv', toCsv(HEADER, shifted)) });
    expect(report.reference.gzip).toBe(true);
    expect(report.drift).toBe(true);
    expect(report.summary.driftedFeatures).toEqual(['age']);
    const age = report.features.find((f) => f.name === 'age')!;
    expect(age.pValue).toBeLessThan(1e-10);
    expect(age.stats.kind === 'numeric' && age.stats.meanShift).toBeGreaterThan(0.35);
  });

  it('reads JSON lines, gzip-compressed, matching columns by name in any order', async () => {
    const reordered = ['score', 'amount', 'age'];
    const rows = clean2.map((row) => [row[2]!, row[0]!, row[1]!]);
    const current = file('cur.jsonl.gz', gzipSync(toJsonLines(reordered, rows)));
    const report = await checkDrift({ reference: file('ref2.csv', toCsv(HEADER, clean)), current });
    expect(report.current).toMatchObject({ format: 'jsonl', gzip: true, rows: 1500 });
    expect(report.drift).toBe(false);
    expect(report.features.map((f) => f.name)).toEqual(HEADER);
  });

  it('reads a prediction log by position, skipping shadow rows', async () => {
    const log = file('predictions.log', toPredictionLog(shifted, 3));
    const report = await checkDrift({ reference: file('ref3.csv', toCsv(HEADER, clean)), current: log });
    expect(report.current).toMatchObject({ format: 'prediction-log', rows: 1500, shadowRowsSkipped: 500 });
    // The shadow rows are 100 higher: had they been read, every column would drift.
    expect(report.summary.driftedFeatures).toEqual(['age']);
  });

  it('reads a folder of replica prediction logs as one log (the log owner: rotated files, gzip, empty files)', async () => {
    const folder = join(dir, 'replicas');
    mkdirSync(folder, { recursive: true });
    // Replica a: one live file, gzip-compressed (an archived log). Replica b: rotated once.
    // Replica c: nothing logged yet.
    file('replicas/predictions-a.jsonl', gzipSync(toPredictionLog(shifted.slice(0, 700), 3)));
    file('replicas/predictions-b.jsonl.1', toPredictionLog(shifted.slice(700, 1100), 3));
    file('replicas/predictions-b.jsonl', toPredictionLog(shifted.slice(1100), 3));
    file('replicas/predictions-c.jsonl', '');
    const report = await checkDrift({ reference: file('ref-folder.csv', toCsv(HEADER, clean)), current: folder });
    const shadows = Math.ceil(700 / 3) + Math.ceil(400 / 3) + Math.ceil((shifted.length - 1100) / 3);
    expect(report.current).toMatchObject({ format: 'prediction-log', rows: shifted.length, shadowRowsSkipped: shadows });
    expect(report.summary.driftedFeatures).toEqual(['age']);
  });

  it('compares two prediction logs with the model columns as names', async () => {
    const report = await checkDrift({
      reference: file('a.log', toPredictionLog(clean)),
      current: file('b.log', toPredictionLog(clean2)),
      expectedColumns: ['x', 'y', 'z'],
      expectedWidth: 3,
    });
    expect(report.features.map((f) => f.name)).toEqual(['x', 'y', 'z']);
    expect(report.drift).toBe(false);
  });

  it('restricts the check to --features', async () => {
    const report = await checkDrift({
      reference: file('ref4.csv', toCsv(HEADER, clean)),
      current: file('cur4.csv', toCsv(HEADER, shifted)),
      features: ['score', 'amount'],
    });
    expect(report.features.map((f) => f.name)).toEqual(['score', 'amount']);
    expect(report.drift).toBe(false);
  });

  it('ignores extra columns in the current data', async () => {
    const rows = clean2.map((row, i) => [...row, i % 2]);
    const report = await checkDrift({
      reference: file('ref5.csv', toCsv(HEADER, clean)),
      current: file('cur5.csv', toCsv([...HEADER, 'label'], rows)),
    });
    expect(report.features).toHaveLength(3);
  });

  it('handles quotes, CRLF, a BOM, semicolons and missing values', async () => {
    const lines = ['\ufeff"amount";"age";"city"'];
    const random = seededRandom(5);
    for (let i = 0; i < 400; i++) {
      const age = i % 50 === 0 ? (i % 100 === 0 ? 'NA' : '') : (20 + random() * 40).toFixed(2);
      const city = ['"Paris"', 'Lyon', '"St; Etienne"', '"Le ""Havre"""'][i % 4];
      lines.push(`${(random() * 100).toFixed(3)};${age};${city}`);
    }
    const text = `${lines.join('\r\n')}\r\n`;
    const report = await checkDrift({ reference: file('quoted-ref.csv', text), current: file('quoted-cur.csv', text) });
    const [amount, age, city] = report.features;
    expect(amount).toMatchObject({ name: 'amount', kind: 'numeric', sampleSize: { reference: 400, current: 400 } });
    expect(age).toMatchObject({ name: 'age', missing: { reference: 8, current: 8 }, sampleSize: { reference: 392 } });
    expect(city).toMatchObject({ name: 'city', kind: 'categorical', test: 'chi2' });
    expect(city!.histogram.kind === 'categorical' && [...city!.histogram.categories].sort()).toEqual(
      ['Le "Havre"', 'Lyon', 'Paris', 'St; Etienne'],
    );
    expect(city!.pValue).toBeCloseTo(1, 12);
    expect(report.drift).toBe(false);
  });

  it('tests categorical columns with chi-square and finds a changed mix', async () => {
    const header = ['plan', 'amount'];
    const random = seededRandom(11);
    const make = (n: number, premiumShare: number): Array<Array<string | number>> =>
      Array.from({ length: n }, () => [random() < premiumShare ? 'premium' : random() < 0.5 ? 'basic' : 'free', random()]);
    const report = await checkDrift({
      reference: file('plans-ref.csv', toCsv(header, make(3000, 0.2))),
      current: file('plans-cur.csv', toCsv(header, make(3000, 0.3))),
    });
    const plan = report.features[0]!;
    expect(plan).toMatchObject({ kind: 'categorical', test: 'chi2', dof: 2, drifted: true });
    expect(plan.stats.kind === 'categorical' && plan.stats.referenceCategories).toBe(3);
    expect(report.features[1]!.drifted).toBe(false);
  });

  it('treats named columns as categories when asked, and falls back with a note for mismatched tests', async () => {
    const header = ['zip', 'amount'];
    const rows = Array.from({ length: 500 }, (_, i) => [10000 + (i % 7), i / 10]);
    const reference = file('zip-ref.csv', toCsv(header, rows));
    const current = file('zip-cur.csv', toCsv(header, rows));
    const report = await checkDrift({ reference, current, categorical: ['zip'], test: 'wasserstein' });
    expect(report.features[0]).toMatchObject({ name: 'zip', kind: 'categorical', test: 'chi2' });
    expect(report.features[0]!.note).toContain('does not apply');
    expect(report.features[1]).toMatchObject({ name: 'amount', test: 'wasserstein', threshold: 0.1, pValue: null, adjustedPValue: null });
  });

  it('uses distance thresholds for psi, wasserstein and jensenshannon', async () => {
    const reference = file('d-ref.csv', toCsv(HEADER, clean));
    const current = file('d-cur.csv', toCsv(HEADER, shifted));
    for (const test of ['psi', 'wasserstein', 'jensenshannon'] as const) {
      const report = await checkDrift({ reference, current, test });
      expect(report.features.every((f) => f.test === test && f.pValue === null)).toBe(true);
      expect(report.summary.driftedFeatures).toEqual(['age']);
    }
    const strict = await checkDrift({ reference, current, test: 'wasserstein', threshold: 5 });
    expect(strict.drift).toBe(false);
  });

  it('applies --drift-share as a stricter dataset rule, and the corrections', async () => {
    const reference = file('s-ref.csv', toCsv(HEADER, clean));
    const current = file('s-cur.csv', toCsv(HEADER, shifted));
    const share = await checkDrift({ reference, current, driftShare: 0.5 });
    expect(share.summary.drifted).toBe(1);
    expect(share.drift).toBe(false);
    expect((await checkDrift({ reference, current, driftShare: 0.3 })).drift).toBe(true);
    const none = await checkDrift({ reference, current, correction: 'none' });
    const bonferroni = await checkDrift({ reference, current, correction: 'bonferroni' });
    for (let i = 0; i < 3; i++) {
      expect(none.features[i]!.adjustedPValue).toBe(none.features[i]!.pValue);
      expect(bonferroni.features[i]!.adjustedPValue).toBeCloseTo(Math.min(1, 3 * bonferroni.features[i]!.pValue!), 15);
    }
  });

  it('reads files larger than one read chunk, with quoted fields across chunk edges', async () => {
    const random = seededRandom(3);
    const lines = ['id,"value",note'];
    let sum = 0;
    const rows = 60_000;
    for (let i = 0; i < rows; i++) {
      const value = Math.round(random() * 1e6) / 1000;
      sum += value;
      lines.push(`${i},"${value}","a, ""quoted""\nnote ${i % 3}"`);
    }
    const text = `${lines.join('\n')}\n`;
    expect(text.length).toBeGreaterThan(2 * 1024 * 1024);
    const path = file('big.csv', text);
    const report = await checkDrift({ reference: path, current: path, features: ['value', 'note'] });
    expect(report.reference.rows).toBe(rows);
    const value = report.features[0]!;
    expect(value.sampleSize.reference).toBe(rows);
    expect(value.stats.kind === 'numeric' && value.stats.referenceMean).toBeCloseTo(sum / rows, 6);
    expect(report.features[1]!.stats.kind === 'categorical' && report.features[1]!.stats.referenceCategories).toBe(3);
  });
});

describe('reading numbers', () => {
  async function readColumn(name: string, text: string): Promise<Float64Array> {
    const info = await sniffFile(file(name, text), 'current');
    const data = await parseDataFile({ info, columns: [{ name: 'x', kind: 'numeric', source: 0 }] });
    return data.columns[0]!.sorted!;
  }

  it('parses every decimal spelling exactly as Number() does (fast path and fallback)', async () => {
    const random = seededRandom(17);
    const texts: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const magnitude = 10 ** Math.floor(random() * 40 - 20);
      const value = (random() - 0.5) * magnitude;
      const style = i % 6;
      texts.push(
        style === 0 ? value.toPrecision(1 + (i % 17)) :
        style === 1 ? value.toExponential(i % 15) :
        style === 2 ? value.toFixed(i % 12) :
        style === 3 ? String(value) :
        style === 4 ? String(Math.round(value * 1e6)) :
        `${value < 0 ? '-' : '+'}${Math.abs(value).toFixed(3).replace(/^0\./, '.')}`,
      );
    }
    texts.push('5.', '-0', '0.000', '123456789012345678901', '9007199254740993', '1e-400', '1e400', ' 7 ', '\t-2.5', 'inf', '-Infinity');
    const got = await readColumn('numbers.csv', `x\n${texts.join('\n')}\n`);
    const expected = Float64Array.from(texts.map((t) => {
      const token = t.trim().toLowerCase();
      return token === 'inf' ? Infinity : Number(t.trim());
    })).sort();
    expect(got.length).toBe(expected.length);
    for (let i = 0; i < got.length; i++) {
      if (!Object.is(got[i], expected[i]) && !(got[i] === 0 && expected[i] === 0)) {
        throw new Error(`index ${i}: got ${got[i]}, expected ${expected[i]}`);
      }
    }
  });

  it('counts empty, NA, NaN and null cells as missing', async () => {
    const info = await sniffFile(file('missing.csv', 'x,y\n1,a\n,b\nNA,c\nNaN,d\nnull,e\n2,\n'), 'current');
    const data = await parseDataFile({
      info,
      columns: [
        { name: 'x', kind: 'numeric', source: 0 },
        { name: 'y', kind: 'categorical', source: 1 },
      ],
    });
    expect([...data.columns[0]!.sorted!]).toEqual([1, 2]);
    expect(data.columns[0]!.missing).toBe(4);
    expect(data.columns[1]!.missing).toBe(1);
    expect(data.columns[1]!.counts!.length).toBe(5);
  });
});

describe('checkDrift: bad input is a one-line UsageError naming the file (exit 2)', () => {
  const cases: Array<[string, () => DriftCheckOptions, RegExp]> = [
    [
      'a column missing from the current data',
      () => ({ reference: file('m-ref.csv', toCsv(HEADER, clean)), current: file('m-cur.csv', toCsv(['amount', 'score'], clean2)) }),
      /current data .*m-cur\.csv has no column 'age'/,
    ],
    [
      'a non-numeric value in a numeric column',
      () => {
        const rows: Array<Array<number | string>> = clean2.map((row) => [...row]);
        rows[6]![1] = 'abc';
        return { reference: file('n-ref.csv', toCsv(HEADER, clean)), current: file('n-cur.csv', toCsv(HEADER, rows)) };
      },
      /n-cur\.csv line 8: column 'age' has 'abc', not a number/,
    ],
    [
      'an empty file',
      () => ({ reference: file('e-ref.csv', toCsv(HEADER, clean)), current: file('empty.csv', '') }),
      /current data .*empty\.csv is empty \(no rows\)/,
    ],
    [
      'a header and no rows',
      () => ({ reference: file('h-ref.csv', toCsv(HEADER, clean)), current: file('header-only.csv', 'amount,age,score\n') }),
      /header-only\.csv has no rows/,
    ],
    [
      'a row with the wrong number of fields',
      () => {
        const text = toCsv(HEADER, clean2).split('\n');
        text[5] = `${text[5]},7`;
        return { reference: file('w-ref.csv', toCsv(HEADER, clean)), current: file('w-cur.csv', text.join('\n')) };
      },
      /w-cur\.csv line 6 has 4 fields, the header has 3/,
    ],
    [
      'a prediction log of another width',
      () => ({
        reference: file('pw-ref.csv', toCsv(HEADER, clean)),
        current: file('pw.log', toPredictionLog(clean2.map((row) => [...row, 1]))),
      }),
      /pw\.log has 4 features per row, the reference data has 3 columns/,
    ],
    [
      'a prediction log row of another width further down',
      () => {
        const rows = clean2.map((row) => [...row]);
        rows[1200] = [1, 2];
        return { reference: file('pw2-ref.csv', toCsv(HEADER, clean)), current: file('pw2.log', toPredictionLog(rows)) };
      },
      /pw2\.log line 1201 has 2 features, the reference data has 3/,
    ],
    [
      'a truncated gzip file',
      () => {
        const gz = gzipSync(toCsv(HEADER, clean2));
        return { reference: file('t-ref.csv', toCsv(HEADER, clean)), current: file('truncated.gz', gz.subarray(0, gz.length - 200)) };
      },
      /truncated\.gz is not readable gzip/,
    ],
    [
      'a corrupt gzip file',
      () => {
        const gz = Buffer.from(gzipSync(toCsv(HEADER, clean2)));
        gz.fill(0x55, 20, 60);
        return { reference: file('c-ref.csv', toCsv(HEADER, clean)), current: file('corrupt.gz', gz) };
      },
      /corrupt\.gz is not readable gzip/,
    ],
    [
      'a JSON array instead of JSON lines',
      () => ({ reference: file('j-ref.csv', toCsv(HEADER, clean)), current: file('array.json', '[{"amount": 1}]') }),
      /array\.json is a JSON array/,
    ],
    [
      'invalid JSON on a line',
      () => ({
        reference: file('ij-ref.csv', toCsv(HEADER, clean)),
        current: file('bad.jsonl', `${toJsonLines(HEADER, clean2.slice(0, 3))}{"amount": 1,\n`),
      }),
      /bad\.jsonl line 4 is not valid JSON/,
    ],
    [
      'a non-numeric JSON value',
      () => {
        const rows: Array<Array<number | string | null>> = clean2.map((row) => [...row]);
        rows[2]![0] = 'lots';
        return { reference: file('jv-ref.csv', toCsv(HEADER, clean)), current: file('jv.jsonl', toJsonLines(HEADER, rows)) };
      },
      /jv\.jsonl line 3: 'amount' is lots, not a number/,
    ],
    [
      'a JSON-lines file without a compared key',
      () => ({
        reference: file('jk-ref.csv', toCsv(HEADER, clean)),
        current: file('jk.jsonl', toJsonLines(['amount', 'score'], clean2.map((r) => [r[0]!, r[2]!]))),
      }),
      /jk\.jsonl has no column 'age'/,
    ],
    [
      'a column with no values at all',
      () => ({
        reference: file('nv-ref.csv', toCsv(HEADER, clean)),
        current: file('nv-cur.csv', toCsv(HEADER, clean2.map((r) => [r[0]!, 'NA', r[2]!]))),
      }),
      /nv-cur\.csv: column 'age' has no values/,
    ],
    [
      'an unknown --features name',
      () => ({ reference: file('f-ref.csv', toCsv(HEADER, clean)), current: file('f-cur.csv', toCsv(HEADER, clean2)), features: ['agee'] }),
      /no column 'agee'/,
    ],
    [
      'data wider than the model',
      () => ({ reference: file('x-ref.csv', toCsv(HEADER, clean)), current: file('x-cur.csv', toCsv(HEADER, clean2)), expectedWidth: 4 }),
      /has 3 columns but the model takes 4 inputs/,
    ],
    [
      'a model column missing from the data',
      () => ({
        reference: file('mc-ref.csv', toCsv(HEADER, clean)),
        current: file('mc-cur.csv', toCsv(HEADER, clean2)),
        expectedColumns: ['amount', 'age', 'income'],
      }),
      /reference data .*mc-ref\.csv has no column 'income'/,
    ],
    [
      'a headerless CSV',
      () => ({ reference: file('hl-ref.csv', toCsv(HEADER, clean)), current: file('hl-cur.csv', toCsv(HEADER, clean2).split('\n').slice(1).join('\n')) }),
      /hl-cur\.csv has no column 'amount'/,
    ],
    [
      'a directory',
      () => {
        const folder = join(dir, 'folder');
        mkdirSync(folder, { recursive: true });
        return { reference: file('d2-ref.csv', toCsv(HEADER, clean)), current: folder };
      },
      /folder is a folder with no prediction log in it/,
    ],
    [
      'a folder holding a file that is not a prediction log',
      () => {
        const folder = join(dir, 'mixed');
        mkdirSync(folder, { recursive: true });
        file('mixed/predictions.jsonl', toPredictionLog(clean2));
        file('mixed/notes.csv', toCsv(HEADER, clean2));
        return { reference: file('d3-ref.csv', toCsv(HEADER, clean)), current: folder };
      },
      /mixed is a folder, read as prediction logs \(one per replica\), but .*notes\.csv is not a prediction log/,
    ],
    [
      'a prediction log line that is not JSON (a hand-edited log)',
      () => ({
        reference: file('pj-ref.csv', toCsv(HEADER, clean)),
        current: file('pj.log', `${toPredictionLog(clean2.slice(0, 1200))}{"request_id": "torn",\n${toPredictionLog(clean2.slice(1200))}`),
      }),
      /pj\.log line 1201 is not valid JSON/,
    ],
    ['an unknown test', () => ({ reference: 'a', current: 'b', test: 'anova' as never }), /unknown test 'anova'/],
    ['a p-value threshold above 1', () => ({ reference: 'a', current: 'b', threshold: 5 }), /threshold 5 is out of range/],
    ['a drift share of 0', () => ({ reference: 'a', current: 'b', driftShare: 0 }), /drift share 0 is out of range/],
  ];

  for (const [name, options, message] of cases) {
    it(name, async () => {
      const error = await failure(options());
      expect(error).toBeInstanceOf(UsageError);
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain('\n');
      expect((error as UsageError).exitCode).toBe(2);
    });
  }

  it('hints at a missing header line', async () => {
    const error = (await failure({
      reference: file('hh-ref.csv', toCsv(HEADER, clean)),
      current: file('hh-cur.csv', toCsv(HEADER, clean2).split('\n').slice(1).join('\n')),
    })) as UsageError;
    expect(error.hint).toMatch(/header/);
  });

  it('a missing file is NotFoundError (exit 3)', async () => {
    const error = await failure({ reference: file('nf-ref.csv', toCsv(HEADER, clean)), current: join(dir, 'nope.csv') });
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.message).toMatch(/current data .*nope\.csv does not exist/);
    expect((error as NotFoundError).exitCode).toBe(3);
  });
});
