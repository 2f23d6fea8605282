// The row cap holds memory: a gzip CSV of 4,000,000 rows x 20 columns (both files, so an
// uncapped read would hold 1.3 GB of values) is checked by the built engine in a child
// process, whose own peak RSS (getrusage maxrss, threads included) must stay under the
// documented bound, with the sample said in the report.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../support/cli.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('mlops-drift-memory-'));
});
afterAll(async () => cleanup());

const ROWS_PER_MEMBER = 10_000;
const MEMBERS = 400;

/** A multi-member gzip (one member repeated): 4M rows in a few MB, written in milliseconds. */
function bigGzip(path: string, seed: number): void {
  let state = seed;
  const random = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 4294967296;
  const lines: string[] = [];
  for (let r = 0; r < ROWS_PER_MEMBER; r++) lines.push(Array.from({ length: 20 }, () => (random() * 100).toFixed(3)).join(','));
  const header = gzipSync(Array.from({ length: 20 }, (_, c) => `f${c}`).join(',') + '\n');
  const member = gzipSync(lines.join('\n') + '\n');
  writeFileSync(path, Buffer.concat([header, ...Array.from({ length: MEMBERS }, () => member)]));
}

describe('drift-check memory at any size', () => {
  it(`checks 2 x ${(ROWS_PER_MEMBER * MEMBERS) / 1e6}M rows x 20 columns of gzip under the documented peak`, async () => {
    const reference = join(dir, 'reference.csv.gz');
    const current = join(dir, 'current.csv.gz');
    bigGzip(reference, 1);
    bigGzip(current, 2);
    const script = join(dir, 'measure.mjs');
    const api = pathToFileURL(join(ROOT, 'dist', 'drift', 'index.js')).href;
    writeFileSync(
      script,
      `import { checkDrift, DEFAULT_MAX_ROWS, DEFAULT_MAX_ROWS_PEAK_MB } from ${JSON.stringify(api)};
const report = await checkDrift({ reference: process.argv[2], current: process.argv[3] });
const peakMb = process.resourceUsage().maxRSS / 1024;
console.log(JSON.stringify({ peakMb, cap: DEFAULT_MAX_ROWS, bound: DEFAULT_MAX_ROWS_PEAK_MB, current: report.current, notes: report.notes }));
`,
    );
    const result = await execa(process.execPath, [script, reference, current], { reject: false });
    expect(result.exitCode, result.stderr).toBe(0);
    const measured = JSON.parse(result.stdout);
    console.log(`peak RSS ${measured.peakMb.toFixed(0)} MB for 2 x 4M rows x 20 columns at --max-rows ${measured.cap}`);
    expect(measured.current).toMatchObject({ rows: ROWS_PER_MEMBER * MEMBERS, sampledRows: measured.cap });
    expect(measured.notes[1]).toMatch(/^current: tested on a uniform sample of 1000000 of 4000000 rows/);
    expect(measured.peakMb).toBeLessThan(measured.bound);
  }, 300_000);
});
