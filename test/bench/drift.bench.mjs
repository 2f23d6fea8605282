#!/usr/bin/env node
// Benchmark for `mlops drift-check`: two files of 1,000,000 rows x 20 float columns, as CSV
// (~150 MB each) and as Parquet (snappy), our engine against pandas (read_csv / read_parquet)
// + scipy.stats.ks_2samp on every column, all measured in this run on this machine. Targets:
// at most 0.25 of the baseline's wall time and a peak under 500 MB for each format; then
// (--big, or BENCH_BIG=1) a 50M-row gzip CSV under the 1 GB peak that --max-rows promises.
//
//   npm run build && node test/bench/drift.bench.mjs [--rows N] [--runs 3] [--gzip] [--big | --big-only] [--clean]
//
// Data goes to ./.bench/drift/ (gitignored) and is reused while the row count matches;
// --clean deletes it afterwards.
// Needs a python3 with pandas, scipy and pyarrow (pip install pandas scipy pyarrow; Debian has
// no python3-pyarrow; MLOPS_BENCH_PYTHON picks another) and /usr/bin/time (apt-get install time).
import { spawnSync } from 'node:child_process';
import { closeSync, createWriteStream, existsSync, openSync, writeSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { once } from 'node:events';
import { createGzip, gzipSync } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { createReadStream } from 'node:fs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const ROWS = Number(option('--rows', 1_000_000));
const COLUMNS = 20;
const GZIP = args.includes('--gzip');
const CLEAN = args.includes('--clean');
const RUNS = Number(option('--runs', 3));
const DIR = join(ROOT, '.bench', 'drift');
// The same generator as the tests and reference sampling (built by `npm run bench`).
const { seededRandom } = await import(pathToFileURL(join(ROOT, 'dist', 'random.js')).href);
const PYTHON = process.env.MLOPS_BENCH_PYTHON ?? 'python3';
const BIG = args.includes('--big') || args.includes('--big-only') || process.env.BENCH_BIG === '1';
const TIME = '/usr/bin/time';

/** Writes ROWS x COLUMNS normal values; `shiftColumn` is moved by 0.05 SD (drift). */
async function writeCsv(path, seed, shiftColumn) {
  const random = seededRandom(seed);
  const out = createWriteStream(path);
  out.write(`${Array.from({ length: COLUMNS }, (_, c) => `feature_${c}`).join(',')}\n`);
  let block = [];
  for (let row = 0; row < ROWS; row++) {
    const fields = new Array(COLUMNS);
    for (let c = 0; c < COLUMNS; c++) {
      const u = random() || 1e-12;
      const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
      const value = c * 3 + z * (1 + c / 10) + (c === shiftColumn ? 0.05 * (1 + c / 10) : 0);
      fields[c] = value.toFixed(4);
    }
    block.push(fields.join(','));
    if (block.length === 10_000) {
      if (!out.write(`${block.join('\n')}\n`)) await once(out, 'drain');
      block = [];
    }
  }
  if (block.length) out.write(`${block.join('\n')}\n`);
  out.end();
  await once(out, 'finish');
}

async function prepareData() {
  mkdirSync(DIR, { recursive: true });
  const marker = join(DIR, 'rows.txt');
  const reference = join(DIR, 'reference.csv');
  const current = join(DIR, 'current.csv');
  const fresh = existsSync(marker) && readFileSync(marker, 'utf8') === String(ROWS) && existsSync(reference) && existsSync(current);
  if (!fresh) {
    console.error(`generating ${ROWS} x ${COLUMNS} CSV files in ${DIR} ...`);
    await writeCsv(reference, 1, -1);
    await writeCsv(current, 2, 7);
    writeFileSync(marker, String(ROWS));
  }
  if (!GZIP) return { reference, current };
  const gz = async (path) => {
    const target = `${path}.gz`;
    if (!existsSync(target) || statSync(target).mtimeMs < statSync(path).mtimeMs) {
      await pipeline(createReadStream(path), createGzip({ level: 6 }), createWriteStream(target));
    }
    return target;
  };
  return { reference: await gz(reference), current: await gz(current) };
}

/** Runs argv under /usr/bin/time -v: wall seconds, CPU seconds, peak RSS in MB, stdout. */
function measure(argv, label) {
  const started = process.hrtime.bigint();
  const result = spawnSync(TIME, ['-v', ...argv], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0 && result.status !== 1) {
    throw new Error(`${label} failed (exit ${result.status}):\n${result.stderr.slice(-2000)}`);
  }
  const field = (name) => Number(new RegExp(`${name}: ([\\d.]+)`).exec(result.stderr)?.[1] ?? Number.NaN);
  return {
    seconds,
    cpuSeconds: field('User time \\(seconds\\)') + field('System time \\(seconds\\)'),
    peakMb: field('Maximum resident set size \\(kbytes\\)') / 1024,
    stdout: result.stdout,
    exitCode: result.status,
  };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function engineCommand(reference, current) {
  const cli = join(ROOT, 'dist', 'cli', 'main.js');
  if (existsSync(cli)) {
    const help = spawnSync(process.execPath, [join(ROOT, 'bin', 'mlops'), 'drift-check', '--help'], { cwd: ROOT, encoding: 'utf8' });
    if (help.status === 0 && /Usage: mlops drift-check/.test(help.stdout) && help.stdout.includes('--current')) {
      return { how: 'bin/mlops drift-check', argv: [process.execPath, join(ROOT, 'bin', 'mlops'), 'drift-check', '--reference', reference, '--current', current, '--json'] };
    }
  }
  const api = join(ROOT, 'dist', 'drift', 'index.js');
  if (!existsSync(api)) throw new Error('build first: npm run build (dist/drift/index.js is missing)');
  const script = join(DIR, 'engine.mjs');
  writeFileSync(
    script,
    `import { checkDrift } from ${JSON.stringify(pathToFileURL(api).href)};
const report = await checkDrift({ reference: process.argv[2], current: process.argv[3] });
process.stdout.write(JSON.stringify(report) + '\\n');
process.exitCode = report.drift ? 1 : 0;
`,
  );
  return { how: 'dist/drift checkDrift()', argv: [process.execPath, script, reference, current] };
}

const BASELINE = `
import sys, json
import pandas as pd
from scipy import stats
a = pd.read_csv(sys.argv[1])
b = pd.read_csv(sys.argv[2])
out = {c: stats.ks_2samp(a[c].to_numpy(), b[c].to_numpy()).pvalue for c in a.columns}
print(json.dumps(out))
`;

async function main() {
  if (!existsSync(TIME)) throw new Error(`${TIME} is missing (apt-get install time)`);
  const check = spawnSync(PYTHON, ['-c', 'import pandas, scipy, pyarrow'], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`${PYTHON} lacks pandas, scipy or pyarrow (pip install pandas scipy pyarrow): ${check.stderr}`);
  const csv = await prepareData();
  const parquet = { reference: csv.reference.replace(/\.csv(\.gz)?$/, '.parquet'), current: csv.current.replace(/\.csv(\.gz)?$/, '.parquet') };
  for (const [from, to] of [[csv.reference, parquet.reference], [csv.current, parquet.current]]) {
    if (!existsSync(to) || statSync(to).mtimeMs < statSync(from).mtimeMs) {
      const made = spawnSync(PYTHON, ['-c', 'import sys, pandas as pd; pd.read_csv(sys.argv[1]).to_parquet(sys.argv[2], compression="snappy", row_group_size=250000)', from, to], { encoding: 'utf8' });
      if (made.status !== 0) throw new Error(`making ${to} failed: ${made.stderr}`);
    }
  }
  let ok = true;
  if (!args.includes('--big-only')) {
    for (const [format, files] of [['CSV', csv], ['Parquet', parquet]]) ok = compare(format, files) && ok;
  }
  if (BIG) ok = big() && ok;
  if (CLEAN) rmSync(DIR, { recursive: true, force: true });
  if (!ok) process.exitCode = 1;
}

function compare(format, { reference, current }) {
  const sizeMb = (statSync(reference).size + statSync(current).size) / 2 / 1024 / 1024;
  console.log(`\n${format}: ${ROWS} rows x ${COLUMNS} columns, ${sizeMb.toFixed(0)} MB per file${GZIP && format === 'CSV' ? ' (gzip)' : ''}`);
  const script = format === 'CSV' ? BASELINE : BASELINE.replace(/read_csv/g, 'read_parquet');
  // Alternate the two, several times: other work on the machine moves single timings a lot.
  const engine = engineCommand(reference, current);
  const baselineRuns = [];
  const ourRuns = [];
  for (let run = 0; run < RUNS; run++) {
    baselineRuns.push(measure([PYTHON, '-c', script, reference, current], 'baseline'));
    ourRuns.push(measure(engine.argv, engine.how));
  }
  const summary = (runs) => ({
    seconds: median(runs.map((r) => r.seconds)),
    cpuSeconds: median(runs.map((r) => r.cpuSeconds)),
    peakMb: Math.max(...runs.map((r) => r.peakMb)),
    all: runs.map((r) => r.seconds.toFixed(2)).join(' '),
  });
  const baseline = { ...summary(baselineRuns), stdout: baselineRuns[0].stdout };
  const ours = { ...summary(ourRuns), stdout: ourRuns[0].stdout, exitCode: ourRuns[0].exitCode };
  const reader = format === 'CSV' ? 'pandas.read_csv' : 'pandas.read_parquet';
  console.log(
    `baseline  ${reader} + scipy ks_2samp: median ${baseline.seconds.toFixed(2)} s (runs: ${baseline.all}), ` +
      `CPU ${baseline.cpuSeconds.toFixed(2)} s, peak ${baseline.peakMb.toFixed(0)} MB`,
  );
  console.log(
    `mlops     ${engine.how}: median ${ours.seconds.toFixed(2)} s (runs: ${ours.all}), ` +
      `CPU ${ours.cpuSeconds.toFixed(2)} s, peak ${ours.peakMb.toFixed(0)} MB, exit ${ours.exitCode}`,
  );
  const report = JSON.parse(ours.stdout);
  // The two engines must agree on what they computed.
  const scipy = JSON.parse(baseline.stdout);
  let worst = 0;
  for (const feature of report.features) worst = Math.max(worst, Math.abs(feature.pValue - scipy[feature.name]));
  const ratio = ours.seconds / baseline.seconds;
  console.log(`ratio     ${ratio.toFixed(2)} of the baseline's wall time (target <= 0.25); peak ${ours.peakMb.toFixed(0)} MB (target < 500)`);
  console.log(`agreement max |p_mlops - p_scipy| = ${worst.toExponential(2)}; drifted: ${report.summary.driftedFeatures.join(', ') || 'none'}`);
  return ratio <= 0.25 && ours.peakMb < 500 && worst <= 1e-6;
}

/**
 * 50M rows x 20 columns of gzip CSV against a small reference: a multi-member gzip, one
 * 100,000-row member of 64 distinct lines repeated 500 times, so the file is small on disk
 * (like the 7.2 MB of 52M rows) while the reader still parses every row.
 */
function big() {
  const path = join(DIR, 'big-50m.csv.gz');
  const reference = join(DIR, 'big-reference.csv');
  if (!existsSync(path)) {
    const random = seededRandom(50);
    const distinct = Array.from({ length: 64 }, () => Array.from({ length: COLUMNS }, () => (random() * 100).toFixed(3)).join(','));
    const lines = Array.from({ length: 100_000 }, () => distinct[Math.floor(random() * distinct.length)]);
    const header = `${Array.from({ length: COLUMNS }, (_, c) => `feature_${c}`).join(',')}\n`;
    writeFileSync(reference, header + lines.slice(0, 5_000).join('\n') + '\n');
    const member = gzipSync(lines.join('\n') + '\n', { level: 9 });
    const fd = openSync(`${path}.tmp`, 'w');
    writeSync(fd, gzipSync(header));
    for (let i = 0; i < 500; i++) writeSync(fd, member);
    closeSync(fd);
    renameSync(`${path}.tmp`, path);
  }
  const engine = engineCommand(reference, path);
  const run = measure(engine.argv, engine.how);
  const report = JSON.parse(run.stdout);
  console.log(`\n50M-row gzip (${(statSync(path).size / 1024 / 1024).toFixed(0)} MB, ${report.current.rows} rows, sample ${report.current.sampledRows}): ${run.seconds.toFixed(1)} s, peak ${run.peakMb.toFixed(0)} MB (target < 1024)`);
  return run.peakMb < 1024 && report.current.rows === 50_000_000;
}

await main();
