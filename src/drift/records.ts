// Whole rows as text from a CSV (any sniffed delimiter, quotes) or JSON-lines file, through the
// same sniffing and parsers as drift-check: the one reader of tabular input files, for callers
// that want rows rather than columns (`register --reference-data`).
import { UsageError } from '../errors.js';
import { FieldText, RowSampler } from './columns.js';
import { describe, feedChunks, type ChunkParser } from './data.js';
import { CsvParser } from './read-csv.js';
import { JsonLinesParser } from './read-jsonl.js';
import { sniffFile } from './sniff.js';
import { chunksOf, openSource } from './source.js';

export interface TextRecord {
  /** The line the record starts on (the header is the first record yielded). */
  line: number;
  /** The header's names, then each row's fields as text ('' for a missing value). */
  fields: string[];
}

/**
 * Yields the header, then every row, streaming: memory stays at one chunk of the file.
 * Errors name the file through `role` and the flag that gave it.
 */
export async function* readRecords(path: string, role: string, flag: string = role): AsyncGenerator<TextRecord> {
  const info = await sniffFile(path, role, flag);
  const label = describe(role, path);
  if (info.format === 'prediction-log' || info.format === 'parquet') {
    throw new UsageError(`${label} is ${info.format === 'parquet' ? 'Parquet' : 'a prediction log'}, which this reader does not take`, 'pass a CSV file with a header line, or JSON lines keyed by column name', 'bad_format');
  }
  const columns = info.columns!;
  yield { line: 1, fields: [...columns] };
  const fields = columns.map(() => new FieldText());
  const requests = columns.map((name, index) => ({ name, kind: 'categorical' as const, source: info.format === 'csv' ? index : name }));
  const csv = info.format === 'csv' ? new CsvParser(label, columns, info.delimiter, requests, fields, new RowSampler(Infinity)) : undefined;
  const json = csv ? undefined : new JsonLinesParser(label, requests, fields, new RowSampler(Infinity));
  const parser: ChunkParser & { line: number } = csv ?? json!;
  let pending: TextRecord[] = [];
  const collect = (): void => {
    pending.push({ line: parser.line, fields: fields.map((field) => field.value) });
    for (const field of fields) field.value = '';
  };
  if (csv) csv.onRow = collect;
  else json!.onRow = collect;
  for await (const _ of feedChunks(parser, chunksOf(openSource(path, role, flag), info.gzip, { chunkSize: 256 * 1024 }))) {
    yield* pending;
    pending = [];
  }
  yield* pending;
}
