// Reference data stored at registration for drift-check: a CSV (or .csv.gz) with a
// header, checked against the model's input width, sampled down to a cap, and kept
// as a gzip CSV plus per-column statistics (serve uses min/max for out-of-distribution).
import { gzipSync } from 'node:zlib';
import { readRecords } from '../drift/records.js';
import { open } from 'node:fs/promises';
import { NotFoundError, UsageError } from '../errors.js';
import { seededRandom } from '../random.js';
import type { ColumnStats } from './types.js';

/** Default cap on stored reference rows: enough for KS to see a 0.05-SD shift, small on disk (~1 MB gzipped for 10 columns). */
export const DEFAULT_REFERENCE_ROWS = 50_000;

export interface PreparedReference {
  columns: ColumnStats[];
  rows: number;
  sourceRows: number;
  /** gzip of the stored CSV. */
  gzip: Buffer;
}

async function isGzip(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const { bytesRead, buffer } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

export async function prepareReference(
  path: string,
  { expectedWidth, maxRows = DEFAULT_REFERENCE_ROWS }: { expectedWidth?: number; maxRows?: number },
): Promise<PreparedReference> {
  let gz: boolean;
  try {
    gz = await isGzip(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new NotFoundError(`reference data ${path} does not exist`, 'check the --reference-data path');
    }
    throw new UsageError(`cannot read reference data ${path}: ${(error as Error).message}`, 'check the --reference-data path');
  }
  void gz; // the check above only names a missing file; readRecords sniffs gzip itself
  let header: string[] | undefined;
  const sample: number[][] = [];
  const random = seededRandom(0x5eed);
  let sourceRows = 0;
  let lineNumber = 0;
  try {
    // The drift reader: sniffs , ; tab | and handles quotes and JSON lines (one reader of the format).
    for await (const record of readRecords(path, 'reference', 'reference-data')) {
      lineNumber = record.line;
      const fields = record.fields;
      if (!header) {
        header = fields;
        if (fields.some((f) => f === '')) {
          throw new UsageError(`${path}: the header has an empty column name`, 'give every column a name in the first line');
        }
        if (expectedWidth !== undefined && fields.length !== expectedWidth) {
          throw new UsageError(
            `${path} has ${fields.length} columns but the model takes ${expectedWidth} features`,
            `pass reference data with exactly the model's ${expectedWidth} input columns, in input order`,
            'width_mismatch',
          );
        }
        continue;
      }
      if (fields.length !== header.length) {
        throw new UsageError(`${path} line ${lineNumber} has ${fields.length} fields, the header has ${header.length}`, 'fix that row');
      }
      const row = fields.map((f, i) => {
        const value = f === '' ? Number.NaN : Number(f);
        if (!Number.isFinite(value)) {
          throw new UsageError(
            `${path} line ${lineNumber}, column '${header![i]}': '${f}' is not a number`,
            'reference data must be numeric (the model takes numeric features)',
            'non_numeric',
          );
        }
        return value;
      });
      sourceRows++;
      // Reservoir sampling keeps a uniform sample of at most maxRows rows in one pass.
      if (sample.length < maxRows) sample.push(row);
      else {
        const slot = Math.floor(random() * sourceRows);
        if (slot < maxRows) sample[slot] = row;
      }
    }
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`cannot read reference data ${path}: ${(error as Error).message}`, 'pass a CSV file (optionally gzip-compressed) with a header row');
  }
  if (!header) throw new UsageError(`${path} is empty`, 'pass a CSV file with a header row and data rows');
  if (sample.length === 0) throw new UsageError(`${path} has a header but no rows`, 'add data rows to the reference file');

  const columns: ColumnStats[] = header.map((name, i) => {
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    for (const row of sample) {
      const v = row[i]!;
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
    }
    const mean = sum / sample.length;
    let squares = 0;
    for (const row of sample) squares += (row[i]! - mean) ** 2;
    const std = sample.length > 1 ? Math.sqrt(squares / (sample.length - 1)) : 0;
    return { name, min, max, mean, std };
  });
  const csv = [header.join(','), ...sample.map((row) => row.join(','))].join('\n') + '\n';
  return { columns, rows: sample.length, sourceRows, gzip: gzipSync(csv, { level: 9 }) };
}
