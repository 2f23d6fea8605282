// Reading a data file for drift-check: sniff it (sniff.ts), then stream it through the reader of
// its format (read-csv.ts, read-jsonl.ts, read-parquet.ts, read-prediction-log.ts) into
// per-column typed arrays, sorted for KS.
import { UsageError } from '../errors.js';
import { CategoricalBuilder, NumericBuilder, RowSampler, type Builder } from './columns.js';
import { describe, feedChunks, type ChunkParser, type ParseRequest, type ParsedColumn, type ParsedData } from './data.js';
import { CsvParser } from './read-csv.js';
import { JsonLinesParser } from './read-jsonl.js';
import { readParquet } from './read-parquet.js';
import { readLogColumns } from './read-prediction-log.js';
import { chunksOf, openSource } from './source.js';
import { sortFloat64 } from './sort.js';
import { moments } from './stats.js';

export type { ColumnKind, ColumnRequest, DataFileInfo, DataFormat, ParseRequest, ParsedColumn, ParsedData } from './data.js';
export { parseNumberText } from './numbers.js';
export { sniffFile, splitCsvLine } from './sniff.js';

const READ_CHUNK = 1024 * 1024;

/**
 * Reads a whole file into the requested columns: numeric columns come back sorted (ready for
 * KS), categorical ones as counts. Runs in a worker thread when one is available (check.ts).
 */
export async function parseDataFile(request: ParseRequest): Promise<ParsedData> {
  const { info, columns: requests } = request;
  const label = describe(info.role, info.path);
  const sampler = new RowSampler(request.maxRows ?? Infinity);
  const builders: Builder[] = requests.map((column) =>
    column.kind === 'numeric' ? new NumericBuilder(sampler, info.estimatedRows) : new CategoricalBuilder(sampler, info.estimatedRows),
  );
  let rows: number;
  let json: JsonLinesParser | undefined;
  let shadowRows = 0;
  let otherRows = 0;
  if (info.format === 'parquet') {
    rows = await readParquet(request, builders, sampler);
  } else if (info.format === 'prediction-log') {
    // The log's owner reads it, rotated files oldest first, and every replica's log in a folder.
    ({ rows, shadowRows, otherRows } = await readLogColumns(request, builders, sampler));
  } else {
    const csv = info.format === 'csv' ? new CsvParser(label, info.columns ?? [], info.delimiter, requests, builders, sampler) : undefined;
    json = csv ? undefined : new JsonLinesParser(label, requests, builders, sampler);
    const parser: ChunkParser = csv ?? json!;
    const source = openSource(info.path, info.role, info.flag);
    for await (const _ of feedChunks(parser, chunksOf(source, info.gzip, { chunkSize: READ_CHUNK, gunzipChunk: 256 * 1024 })));
    rows = csv ? csv.rows : json!.rows;
  }
  if (rows === 0) {
    const passed = [shadowRows > 0 ? `${shadowRows} shadow rows` : '', otherRows > 0 ? `${otherRows} feedback lines, other models' rows or rows before --since` : ''].filter(Boolean);
    const skipped = passed.length ? ` (skipped: ${passed.join(', ')})` : '';
    throw new UsageError(
      `${label} has no rows${skipped}`,
      info.format === 'csv' || info.format === 'parquet' ? 'add data rows under the header line' : 'pass a file with at least one data row',
      'empty_data',
    );
  }
  if (json) {
    requests.forEach((column, slot) => {
      if (json.present[slot] === 0) {
        throw new UsageError(`${label} has no column '${column.name}'`, 'every compared column must appear in both files (or pass --features)', 'missing_column');
      }
    });
  }

  // One scratch buffer serves every column's radix sort.
  let scratch: Float64Array | undefined;
  const columns = requests.map((column, slot): ParsedColumn => {
    const builder = builders[slot]!;
    if (builder instanceof NumericBuilder) {
      const values = builder.compact();
      if (!scratch || scratch.length < values.length) scratch = new Float64Array(values.length);
      sortFloat64(values, scratch);
      return { name: column.name, kind: 'numeric', sorted: values, moments: moments(values), missing: builder.missing };
    }
    return { name: column.name, kind: 'categorical', counts: (builder as CategoricalBuilder).counts(), missing: builder.missing };
  });
  return { rows, sampledRows: sampler.kept, shadowRows, otherRows, columns };
}
