// End-to-end: mlops drift-check through the built CLI, on the formats users feed it.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE, ROOT, expectCleanError, mlops, tempDir } from '../support/cli.js';

let dir: string;
let cleanup: () => Promise<void>;
let registry: string;
const run = (...args: string[]) => mlops(['--registry', registry, ...args], { cwd: dir });
const CURRENT = join(EXAMPLE, 'current.csv');
const DRIFTED = join(EXAMPLE, 'drifted.csv');

function csvToJsonl(text: string): string {
  const [header, ...rows] = text.trim().split('\n');
  const names = header!.split(',');
  return rows.map((row) => JSON.stringify(Object.fromEntries(row.split(',').map((v, i) => [names[i], Number(v)])))).join('\n') + '\n';
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  registry = join(dir, 'registry');
  const registered = await run('register', 'fraud', join(EXAMPLE, 'fraud-v1.onnx'), '--reference-data', join(EXAMPLE, 'reference.csv'));
  expect(registered.exitCode, registered.stderr).toBe(0);
  await run('promote', 'fraud', 'v1.0.0');
});
afterAll(async () => cleanup());

describe('mlops drift-check', () => {
  it('exits 0 on clean data and 1 on drifted data, naming the drifted features', async () => {
    const clean = await run('drift-check', 'fraud', '--current', CURRENT);
    expect(clean.exitCode, clean.stderr).toBe(0);
    expect(clean.stdout).toMatch(/no drift in fraud v1.0.0/);
    const drifted = await run('drift-check', 'fraud@v1.0.0', '--current', DRIFTED);
    expect(drifted.exitCode, drifted.stderr).toBe(1);
    expect(drifted.stdout).toMatch(/DRIFT in fraud v1.0.0: .*velocity/);
  });

  it('prints one JSON document with per-feature test, statistic, p-value, threshold and verdict', async () => {
    const result = await run('drift-check', 'fraud', '--current', DRIFTED, '--json');
    expect(result.exitCode).toBe(1);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ model: 'fraud', version: 'v1.0.0', drift: true, reference: { rows: 2000 }, current: { rows: 2000 } });
    const velocity = report.features.find((f: { name: string }) => f.name === 'velocity');
    expect(velocity).toMatchObject({ test: 'ks', drifted: true, threshold: 0.01 });
    expect(velocity.pValue).toBeLessThan(1e-10);
    expect(report.features).toHaveLength(10);
  });

  it('reads JSON lines and gzip, and compares two plain files without a model', async () => {
    const text = await readFile(DRIFTED, 'utf8');
    const jsonl = join(dir, 'current.jsonl');
    await writeFile(jsonl, csvToJsonl(text));
    const gz = join(dir, 'current.csv.gz');
    await writeFile(gz, gzipSync(text));
    for (const file of [jsonl, gz]) {
      const result = await run('drift-check', 'fraud', '--current', file, '--json');
      expect(result.exitCode, result.stderr).toBe(1);
      expect(JSON.parse(result.stdout).summary.driftedFeatures).toContain('velocity');
    }
    const plain = await mlops(['drift-check', '--reference', join(EXAMPLE, 'reference.csv'), '--current', CURRENT, '--features', 'amount,hour', '--json'], { cwd: dir });
    expect(plain.exitCode, plain.stderr).toBe(0);
    expect(JSON.parse(plain.stdout).features.map((f: { name: string }) => f.name)).toEqual(['amount', 'hour']);
  });

  it('--min-effect keeps significant but tiny shifts from counting as drift', async () => {
    const result = await run('drift-check', 'fraud', '--current', DRIFTED, '--min-effect', '0.3', '--json');
    expect(result.exitCode, result.stderr).toBe(1);
    const report = JSON.parse(result.stdout);
    expect(report.rule.minEffect).toBe(0.3);
    expect(report.summary.driftedFeatures).toEqual(['velocity']);
    const amount = report.features.find((f: { name: string }) => f.name === 'amount');
    expect(amount.adjustedPValue).toBeLessThan(0.01);
    expect(amount.drifted).toBe(false);
    expect(amount.note).toMatch(/significant, but its effect .* is below --min-effect 0.3/);
    expect((await run('drift-check', 'fraud', '--current', DRIFTED, '--min-effect', '5')).exitCode).toBe(0);
    expect((await run('drift-check', 'fraud', '--current', DRIFTED, '--min-effect', '-1')).exitCode).toBe(2);
  });

  it('writes a self-contained HTML report', async () => {
    const out = join(dir, 'report.html');
    await run('drift-check', 'fraud', '--current', DRIFTED, '--report', out);
    const html = await readFile(out, 'utf8');
    expect(html).toMatch(/<svg/);
    expect(html).toContain('velocity');
    expect(html).not.toMatch(/(src|href)="https?:/);
  });

  it.each([
    ['a missing column', 'amount,hour\n1,2\n', /column|amount|missing/i],
    ['non-numeric values', `${'amount,hour,merchant_risk,distance_km,account_age_days,tx_last_24h,avg_amount_30d,card_present,foreign,velocity'}\n1,2,3,4,5,6,7,8,9,10\n1,2,3,4,5,6,seven,8,9,10\n`, /seven|numeric|number/i],
    ['an empty file', '', /empty|no rows|no data/i],
    ['a header without rows', 'amount,hour,merchant_risk,distance_km,account_age_days,tx_last_24h,avg_amount_30d,card_present,foreign,velocity\n', /rows|empty/i],
    ['a row of the wrong width', 'amount,hour,merchant_risk,distance_km,account_age_days,tx_last_24h,avg_amount_30d,card_present,foreign,velocity\n1,2,3,4,5,6,7,8,9,10\n1,2,3\n', /fields|width|columns/i],
  ])('refuses %s with exit 2 and one line', async (_label, content, message) => {
    const file = join(dir, 'bad.csv');
    await writeFile(file, content);
    const result = await run('drift-check', 'fraud', '--current', file);
    expect(result.exitCode, result.stderr).toBe(2);
    expect(expectCleanError(result)).toMatch(message);
  });

  it('reads only its model\'s traffic from a shared prediction log: no feedback, shadow or other-model lines; --since', async () => {
    const rows = (await readFile(DRIFTED, 'utf8')).trim().split('\n').slice(1).map((line) => line.split(',').map(Number));
    const now = Date.now();
    const lines: string[] = [JSON.stringify({ type: 'feedback', request_id: 'x', label: 1 })];
    rows.forEach((features, i) => {
      // The older half of the rows is two hours old.
      const time = new Date(now - (i < 1000 ? 2 * 3_600_000 : 60_000)).toISOString();
      lines.push(JSON.stringify({ request_id: `r${i}`, time, model: 'fraud', version: 'v1.0.0', variant: 'default', features, outputs: {}, latency_ms: 0.1 }));
      if (i % 10 === 0) lines.push(JSON.stringify({ request_id: `r${i}`, time, model: 'fraud', version: 'v9.0.0', variant: 'shadow', features, outputs: {}, latency_ms: 0.1, shadow: true }));
      if (i % 4 === 0) lines.push(JSON.stringify({ request_id: `c${i}`, time, model: 'churn', version: 'v1.0.0', variant: 'default', features: [1, 2, 3], outputs: {}, latency_ms: 0.1 }));
      if (i % 7 === 0) lines.push(JSON.stringify({ type: 'feedback', request_id: `r${i}`, time, label: 0 }));
    });
    const log = join(dir, 'shared.jsonl');
    await writeFile(log, `${lines.join('\n')}\n`);
    const all = await run('drift-check', 'fraud', '--current', log, '--json');
    expect(all.exitCode, all.stderr).toBe(1);
    const report = JSON.parse(all.stdout);
    expect(report.current).toMatchObject({ format: 'prediction-log', rows: 2000, shadowRowsSkipped: 200 });
    expect(report.current.otherRowsSkipped).toBe(1 + 500 + 286);
    const recent = await run('drift-check', 'fraud', '--current', log, '--since', '1h', '--json');
    expect(JSON.parse(recent.stdout).current.rows).toBe(1000);
    const bad = await run('drift-check', 'fraud', '--current', log, '--since', 'yesterday');
    expect(bad.exitCode).toBe(2);
    expect(expectCleanError(bad)).toMatch(/--since yesterday/);
  });

  it('refuses a prediction log whose width differs from the model', async () => {
    const log = join(dir, 'narrow.jsonl');
    await writeFile(log, `${JSON.stringify({ request_id: 'a', model: 'fraud', version: 'v1.0.0', variant: 'v1.0.0', features: [1, 2, 3] })}\n`);
    const result = await run('drift-check', 'fraud', '--current', log);
    expect(result.exitCode).toBe(2);
    expect(expectCleanError(result)).toMatch(/3|width|10/);
  });

  it('reads large files in worker threads with the same verdicts and errors', async () => {
    // Over 4 MB in all, so checkDrift parses the two files in worker threads.
    const [header, ...rows] = (await readFile(DRIFTED, 'utf8')).trim().split('\n');
    const big = join(dir, 'big.csv');
    await writeFile(big, `${header}\n${Array.from({ length: 40 }, () => rows.join('\n')).join('\n')}\n`);
    const result = await run('drift-check', 'fraud', '--current', big, '--reference', big, '--json');
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).current.rows).toBe(80_000);
    const drifted = await mlops(['drift-check', '--reference', big, '--current', CURRENT, '--json'], { cwd: dir });
    expect(drifted.exitCode, drifted.stderr).toBe(1);
    const broken = join(dir, 'big-broken.csv');
    await writeFile(broken, `${header}\n${Array.from({ length: 40 }, () => rows.join('\n')).join('\n')}\n1,2,3,4,5,6,oops,8,9,10\n`);
    const failure = await mlops(['drift-check', '--reference', big, '--current', broken], { cwd: dir });
    expect(failure.exitCode).toBe(2);
    expect(expectCleanError(failure)).toMatch(/oops/);
  });

  it('gives exit 3 for a missing file or model and exit 2 for missing arguments', async () => {
    expect((await run('drift-check', 'fraud', '--current', join(dir, 'nope.csv'))).exitCode).toBe(3);
    expect((await run('drift-check', 'nope', '--current', CURRENT)).exitCode).toBe(3);
    expect((await run('drift-check', 'fraud')).exitCode).toBe(2);
    expect((await mlops(['drift-check', '--current', CURRENT], { cwd: dir })).exitCode).toBe(2);
    expect((await run('drift-check', 'fraud', '--current', CURRENT, '--drift-share', '2')).exitCode).toBe(2);
  });

  it('follows a rotated prediction log: --since 3h reaches into log.1 and log.2, oldest first', async () => {
    const rows = (await readFile(DRIFTED, 'utf8')).trim().split('\n').slice(1).map((line) => line.split(',').map(Number));
    const now = Date.now();
    const entry = (i: number, hoursAgo: number) =>
      JSON.stringify({ request_id: `r${i}`, time: new Date(now - hoursAgo * 3_600_000).toISOString(), model: 'fraud', version: 'v1.0.0', variant: 'default', features: rows[i % rows.length], outputs: {}, latency_ms: 0.1 });
    const log = join(dir, 'rotated.jsonl');
    // log.2: 5 h old (outside the window), log.1: 2 h old, log: 10 min old.
    await writeFile(`${log}.2`, Array.from({ length: 300 }, (_, i) => entry(i, 5)).join('\n') + '\n');
    await writeFile(`${log}.1`, Array.from({ length: 400 }, (_, i) => entry(300 + i, 2)).join('\n') + '\n');
    await writeFile(log, Array.from({ length: 500 }, (_, i) => entry(700 + i, 1 / 6)).join('\n') + '\n');
    const recent = await run('drift-check', 'fraud', '--current', log, '--since', '3h', '--json');
    expect(recent.exitCode, recent.stderr).toBe(1);
    expect(JSON.parse(recent.stdout).current).toMatchObject({ rows: 900, otherRowsSkipped: 300 });
    const all = await run('drift-check', 'fraud', '--current', log, '--json');
    expect(JSON.parse(all.stdout).current.rows).toBe(1200);
  });

  it('reads a folder of replica logs as one log (--log DIR/predictions-$(hostname).jsonl), rotated files and --since too', async () => {
    const rows = (await readFile(DRIFTED, 'utf8')).trim().split('\n').slice(1).map((line) => line.split(',').map(Number));
    const now = Date.now();
    const entry = (i: number, hoursAgo: number, model = 'fraud') =>
      JSON.stringify({ request_id: `r${i}`, time: new Date(now - hoursAgo * 3_600_000).toISOString(), model, version: 'v1.0.0', variant: 'default', features: rows[i % rows.length], outputs: {}, latency_ms: 0.1 });
    const folder = join(dir, 'replica-logs');
    await mkdir(folder, { recursive: true });
    // Pod a: rotated once, log.1 is 5 h old. Pod b: live only, with feedback and another model's rows.
    await writeFile(join(folder, 'predictions-pod-a.jsonl.1'), Array.from({ length: 300 }, (_, i) => entry(i, 5)).join('\n') + '\n');
    await writeFile(join(folder, 'predictions-pod-a.jsonl'), Array.from({ length: 400 }, (_, i) => entry(300 + i, 1 / 6)).join('\n') + '\n');
    const podB = Array.from({ length: 500 }, (_, i) => entry(700 + i, 1 / 6));
    podB.push(JSON.stringify({ type: 'feedback', request_id: 'r701', time: new Date(now).toISOString(), label: 1, joined: false }), entry(9, 1 / 6, 'churn'));
    await writeFile(join(folder, 'predictions-pod-b.jsonl'), podB.join('\n') + '\n');
    const all = await run('drift-check', 'fraud', '--current', folder, '--json');
    expect(all.exitCode, all.stderr).toBe(1);
    expect(JSON.parse(all.stdout).current).toMatchObject({ format: 'prediction-log', rows: 1200, otherRowsSkipped: 2 });
    const recent = await run('drift-check', 'fraud', '--current', folder, '--since', '1h', '--json');
    expect(JSON.parse(recent.stdout).current).toMatchObject({ rows: 900, otherRowsSkipped: 302 });
    // A stray file that is not a log: exit 2, one line naming it.
    await writeFile(join(folder, 'notes.csv'), 'a,b\n1,2\n');
    const stray = await run('drift-check', 'fraud', '--current', folder);
    expect(stray.exitCode).toBe(2);
    expect(expectCleanError(stray)).toMatch(/notes\.csv is not a prediction log/);
  });

  it('says what it ignored, warns on a tiny sample and exits 2 rather than a silent ok', async () => {
    const [header, first] = (await readFile(CURRENT, 'utf8')).split('\n');
    const tiny = join(dir, 'tiny.csv');
    await writeFile(tiny, `${header},extra\n${first},7\n`);
    const result = await run('drift-check', 'fraud', '--current', tiny);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toMatch(/too few/);
    expect(result.stderr).toMatch(/warning: 'amount': only 1 non-missing current values; KS needs at least 30/);
    expect(result.stderr).toMatch(/note: current data has 1 column not among the model's inputs, not compared: extra/);
    const json = await run('drift-check', 'fraud', '--current', tiny, '--json');
    expect(json.exitCode).toBe(2);
    expect(JSON.parse(json.stdout).warnings).toHaveLength(10);
  });

  it('reads Parquet, and --max-rows samples with a note in the text and the JSON', async () => {
    const parquet = join(ROOT, 'test', 'fixtures', 'drift', 'parquet');
    const result = await mlops(['drift-check', '--reference', join(parquet, 'ref-zstd.parquet'), '--current', join(parquet, 'cur-drifted.parquet'), '--max-rows', '1000'], { cwd: dir });
    expect(result.exitCode, result.stderr).toBe(1);
    expect(result.stdout).toMatch(/DRIFT in the data/);
    expect(result.stderr).toMatch(/note: current: tested on a uniform sample of 1000 of 2000 rows/);
    expect(result.stderr).toMatch(/note: 'level': integer column with 4 distinct values/);
    expect(result.stderr).toMatch(/note: 'income': missing values went from 0% to 10.8% of rows/);
    const bad = await mlops(['drift-check', '--reference', join(parquet, 'ref-zstd.parquet'), '--current', join(parquet, 'cur-drifted.parquet'), '--max-rows', '5'], { cwd: dir });
    expect(bad.exitCode).toBe(2);
  });

  it('registers a tab-separated reference (the same reader as drift-check) and checks against it', async () => {
    const tsv = join(dir, 'reference.tsv');
    await writeFile(tsv, (await readFile(join(EXAMPLE, 'reference.csv'), 'utf8')).replaceAll(',', '\t'));
    const registered = await run('register', 'fraudtsv', join(EXAMPLE, 'fraud-v1.onnx'), '--reference-data', tsv);
    expect(registered.exitCode, registered.stderr).toBe(0);
    const checked = await run('drift-check', 'fraudtsv@v1.0.0', '--current', CURRENT);
    expect(checked.exitCode, checked.stderr).toBe(0);
  });

  it('--record keeps one JSON object per run; drift history shows them as a table, JSON and a trend report', async () => {
    const first = await run('drift-check', 'fraud', '--current', CURRENT, '--record', '--json');
    expect(first.exitCode, first.stderr).toBe(0);
    const recorded = JSON.parse(first.stdout).recorded as string;
    expect(recorded).toMatch(/models\/fraud\/drift\/\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{8}\.json$/);
    expect((await run('drift-check', 'fraud', '--current', DRIFTED, '--record')).exitCode).toBe(1);
    // A damaged record is skipped with a warning, not fatal; a stray file is ignored.
    const historyDir = join(registry, 'models', 'fraud', 'drift');
    await writeFile(join(historyDir, '20260101T000000.000Z-0badf00d.json'), '{"schemaVersion":1,"time":');
    await writeFile(join(historyDir, 'notes.txt'), 'hello');
    const table = await run('drift', 'history', 'fraud');
    expect(table.exitCode, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/TIME \(UTC\)\s+VERDICT\s+AMOUNT/);
    expect(table.stdout.trim().split('\n')).toHaveLength(3);
    expect(table.stdout).toMatch(/drift .*\*/);
    expect(table.stderr).toMatch(/warning: skipped .*0badf00d\.json: not readable JSON/);
    const json = await run('drift', 'history', 'fraud', '--json', '--report', join(dir, 'trend.html'));
    const history = JSON.parse(json.stdout);
    expect(history.records.map((r: { drift: boolean }) => r.drift)).toEqual([false, true]);
    const velocity = history.records[1].features.find((f: { name: string }) => f.name === 'velocity');
    expect(velocity).toMatchObject({ test: 'ks', effectUnit: 'W/SD', drifted: true });
    const html = await readFile(join(dir, 'trend.html'), 'utf8');
    expect(html).toMatch(/<g class="axis x">/);
    expect(html).toContain('velocity');
    // --since in the future of every record: none.
    const none = await run('drift', 'history', 'fraud', '--since', '2999-01-01', '--json');
    expect(JSON.parse(none.stdout).records).toEqual([]);
    expect((await run('drift', 'history', 'fraud', '--since', 'soon')).exitCode).toBe(2);
    expect((await run('drift', 'history', '../etc')).exitCode).toBe(2);
    const noModel = await mlops(['drift-check', '--reference', CURRENT, '--current', CURRENT, '--record'], { cwd: dir });
    expect(noModel.exitCode).toBe(2);
    expect(expectCleanError(noModel)).toMatch(/--record needs a model/);
  });
});
