// Drift's view of the serve prediction log. The format (its rows, rotation, a folder of
// replica logs, gzip) belongs to src/prediction-log/; here: recognising a log from the
// sniffed first lines, and reading the features of the checked model's live rows into
// drift's columns (shadow copies, feedback and other models' rows skipped and counted).
import { UsageError } from '../errors.js';
import { parseLogLine, readPredictionLog } from '../prediction-log/index.js';
import type { Builder, RowSampler } from './columns.js';
import { describe, type ParseRequest } from './data.js';
import { storeJsonValue } from './read-jsonl.js';

/**
 * Whether sniffed lines (JSON objects) start a prediction log, and if so the length of
 * `features` in the first live row. A rotated log can start with feedback lines: any
 * prediction row with a `features` array, or a feedback row, makes it a log.
 */
export function predictionLogHead(lines: readonly string[], file: string): { width: number | undefined } | undefined {
  const entries = lines.map((text, index) => parseLogLine(text, file, index + 1));
  const isLog = entries.some((entry) => entry.kind === 'feedback' || (entry.kind === 'prediction' && Array.isArray(entry.row.features)));
  if (!isLog) return undefined;
  const live = entries.find((entry) => entry.kind === 'prediction' && entry.row.shadow !== true && entry.row.type === undefined && Array.isArray(entry.row.features));
  return { width: live?.kind === 'prediction' ? live.row.features!.length : undefined };
}

export interface LogColumns {
  rows: number;
  shadowRows: number;
  /** Feedback lines, non-tabular requests (features: null), other models' rows, rows before `since`. */
  otherRows: number;
}

/** Reads the features of the live rows of the log (or folder of logs) `request.info` names into the builders. */
export async function readLogColumns(request: ParseRequest, builders: readonly Builder[], sampler: RowSampler): Promise<LogColumns> {
  const { info, columns: requests, model, since } = request;
  let width = request.width;
  const counts: LogColumns = { rows: 0, shadowRows: 0, otherRows: 0 };
  for await (const entry of readPredictionLog(info.path)) {
    const at = `${describe(info.role, entry.file)} line ${entry.line}`;
    if (entry.kind === 'invalid') {
      const what = entry.reason === 'not JSON' ? 'is not valid JSON' : 'is not a prediction log row';
      throw new UsageError(`${at} ${what}`, 'pass the prediction log written by mlops serve, unchanged', 'bad_format');
    }
    const row = entry.row;
    if (entry.kind === 'prediction' && row.shadow === true) {
      counts.shadowRows++;
      continue;
    }
    if (
      entry.kind === 'feedback' ||
      row.type !== undefined ||
      row.features === null ||
      (model !== undefined && row.model !== model) ||
      (since !== undefined && !(Date.parse(String(row.time)) >= since))
    ) {
      counts.otherRows++;
      continue;
    }
    const features: unknown = row.features;
    if (!Array.isArray(features)) {
      throw new UsageError(`${at} has no "features" array`, 'pass the prediction log written by mlops serve, unchanged', 'bad_format');
    }
    width ??= features.length;
    if (features.length !== width) {
      const expected = request.widthSource ? `${request.widthSource} has ${width}` : `earlier rows have ${width}`;
      throw new UsageError(`${at} has ${features.length} features, ${expected}`, 'compare a prediction log only with data of the same model input width', 'width_mismatch');
    }
    sampler.nextRow();
    requests.forEach((column, slot) => storeJsonValue(builders[slot]!, features[column.source as number], at, `features[${column.source}] ('${column.name}')`));
    counts.rows++;
  }
  return counts;
}
