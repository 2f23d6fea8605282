// mlops predict: scores a CSV, JSON-lines or Parquet file with one registry version, locally.
// Rows stream through the drift readers (src/drift/records.ts, parquet-rows.ts) in bounded
// batches; each batch is validated and filled by serve's own code (rowsFromInstances) and run
// by serve's LoadedModel, so a file that serve would refuse is refused here the same way.
import { InterruptedError, UsageError } from '../errors.js';
import { describe, type DataFileInfo } from '../drift/data.js';
import { parseNumberText } from '../drift/numbers.js';
import { readRecords } from '../drift/records.js';
import { sniffFile } from '../drift/sniff.js';
import type { SourceEnv } from '../drift/source.js';
import { HttpError } from '../serve/http.js';
import { rowsFromInstances } from '../serve/inputs.js';
import { LoadedModel, answerRows, type ModelSource } from '../serve/model.js';
import { mapColumns, type ColumnMapping } from './columns.js';
import type { OutputFormat, PredictionSink } from './output.js';
import { readParquetRows } from './parquet-rows.js';

/** Rows per onnxruntime run. 4,096 measured best on the fraud example (see README "mlops predict"). */
export const DEFAULT_BATCH_ROWS = 4096;

export interface PredictOptions {
  source: ModelSource;
  name: string;
  ref: string;
  input: string;
  format: OutputFormat;
  sink: PredictionSink;
  batchRows?: number;
  env?: SourceEnv;
  /** Aborted on SIGINT/SIGTERM: the run stops between batches and removes its partial output. */
  signal?: AbortSignal;
  onEvent?: (event: { type: 'progress'; message: string }) => void;
}

export interface PredictResult {
  model: string;
  version: string;
  input: string;
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  batchRows: number;
  columnsBy: 'names' | 'position';
}

/** The input file's rows as text fields, the header first (Parquet: its column names). */
async function* inputRows(info: DataFileInfo, env: SourceEnv | undefined): AsyncGenerator<{ line: number; fields: string[] }, void, undefined> {
  const path = info.path;
  if (info.format === 'prediction-log') {
    throw new UsageError(`${describe('input', path)} is a serve prediction log`, 'pass a CSV, JSON-lines or Parquet file of feature rows', 'bad_format');
  }
  if (info.format === 'parquet') yield* readParquetRows(info, env);
  else yield* readRecords(path, 'input', 'input', env, true);
}

function formatHeader(format: OutputFormat, classes: number): string {
  if (format === 'jsonl') return '';
  return classes > 2 ? `row,prediction,${Array.from({ length: classes }, (_, i) => `probability_${i}`).join(',')}\n` : 'row,prediction,probability\n';
}

const csvCell = (value: unknown): string => {
  const text = typeof value === 'string' ? value : value === undefined ? '' : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
};

export async function predictFile(options: PredictOptions): Promise<PredictResult> {
  const batchRows = options.batchRows ?? DEFAULT_BATCH_ROWS;
  let model: LoadedModel | undefined;
  try {
    const record = await options.source.resolve(options.name, options.ref);
    const info = await sniffFile(options.input, 'input', 'input', options.env, true);
    options.onEvent?.({ type: 'progress', message: `loading ${record.name} ${record.version}` });
    const loaded = await LoadedModel.load(options.source, record, { batchWindowMs: -1, batchMaxRows: batchRows });
    model = loaded;
    const width = loaded.width;
    if (width === undefined) {
      throw new UsageError(`${record.name} ${record.version} takes ${loaded.signature.inputs.map((i) => i.name).join(', ')}, not rows of features`, 'predict scores tabular models ([batch, N] input); send tensors to mlops serve instead', 'not_tabular');
    }
    const recorded = record.reference_data?.columns.length === width ? loaded.featureNames : undefined;
    const label = describe('input', options.input);
    const format = info.format;
    const started = performance.now();
    let mapping: ColumnMapping | undefined;
    let rows = 0;
    let wroteHeader = false;
    let batch: number[][] = [];

    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      let filled;
      try {
        filled = rowsFromInstances(batch, loaded, 'rows');
      } catch (error) {
        if (error instanceof HttpError) throw new UsageError(`${label}: ${error.message}`, 'fix the row or leave it out', 'bad_row');
        throw error;
      }
      const { outputs, offset } = await loaded.predictRows(filled.data, filled.rows);
      const answers = answerRows(loaded.plan, outputs, offset, filled.rows);
      if (!wroteHeader) {
        const first = answers.probabilities?.[0];
        await options.sink.write(formatHeader(options.format, Array.isArray(first) ? first.length : 2));
        wroteHeader = true;
      }
      const lines: string[] = new Array(filled.rows);
      for (let i = 0; i < filled.rows; i++) {
        const rowNumber = rows - filled.rows + i + 1;
        const probability = answers.probabilities?.[i];
        if (options.format === 'jsonl') {
          lines[i] = JSON.stringify(Array.isArray(probability) ? { row: rowNumber, prediction: answers.predictions[i], probabilities: probability } : { row: rowNumber, prediction: answers.predictions[i], probability });
        } else {
          lines[i] = `${rowNumber},${csvCell(answers.predictions[i])},${Array.isArray(probability) ? probability.join(',') : csvCell(probability)}`;
        }
      }
      await options.sink.write(`${lines.join('\n')}\n`);
      batch = [];
    };

    for await (const input of inputRows(info, options.env)) {
      if (!mapping) {
        mapping = mapColumns(input.fields, recorded, width, label, format === 'parquet' ? 'parquet' : format === 'csv' ? 'csv' : 'jsonl');
        if (!mapping.headerIsData) continue;
      }
      const values: number[] = new Array(width);
      for (let f = 0; f < width; f++) {
        const text = input.fields[mapping.fieldOf[f]!] ?? '';
        const value = parseNumberText(text);
        if (Number.isNaN(value)) {
          const column = mapping.by === 'names' ? `column '${loaded.featureNames[f]}'` : `value ${f + 1}`;
          throw new UsageError(`${label} line ${input.line}: ${column} is ${text.trim() === '' ? 'missing' : `'${text.slice(0, 40)}', not a number`}`, 'every feature needs a finite number; fix or drop the row', 'bad_row');
        }
        values[f] = value;
      }
      batch.push(values);
      rows++;
      if (batch.length >= batchRows) {
        if (options.signal?.aborted) throw new InterruptedError(`interrupted after ${rows - batch.length} rows; no output written`);
        await flush();
      }
    }
    await flush();
    if (!mapping || rows === 0) throw new UsageError(`${label} has no rows`, 'pass a file with at least one data row', 'empty_data');
    await options.sink.commit();
    const seconds = (performance.now() - started) / 1000;
    return { model: record.name, version: record.version, input: options.input, rows, seconds, rowsPerSecond: rows / Math.max(seconds, 1e-9), batchRows, columnsBy: mapping.by };
  } catch (error) {
    await options.sink.abort();
    throw error;
  } finally {
    await model?.retire();
  }
}
