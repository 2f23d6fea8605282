// Everything drift knows about the serve prediction log, in one place, so that it can switch to
// the log's owner module (src/prediction-log/) in one edit: how to recognise a log from its first
// lines, and which lines are live traffic of the model checked.
import { UsageError } from '../errors.js';

/** A rotated log can start with feedback lines: any row with `features`, or a feedback line, makes it a log. */
export function isPredictionLogHead(rows: readonly Record<string, unknown>[]): boolean {
  return rows.length > 0 && rows.some((row) => Array.isArray(row.features) || row.type === 'feedback');
}

/** The length of `features` in the first live (non-shadow, non-feedback) row, when the head has one. */
export function predictionLogWidth(rows: readonly Record<string, unknown>[]): number | undefined {
  const live = rows.find((row) => row.shadow !== true && row.type === undefined && Array.isArray(row.features));
  return live ? (live.features as unknown[]).length : undefined;
}

export interface LogFilter {
  /** Only this model's rows (a server may serve several models into one log). */
  model?: string;
  /** Only rows whose `time` is at or after this (ms since the epoch). */
  since?: number;
}

/**
 * Classifies one parsed log line: 'shadow' (a copy sent to a shadow model), 'other' (feedback
 * lines, non-tabular requests, other models, rows before `since`), or the row's features.
 */
export function predictionLogFeatures(value: Record<string, unknown>, filter: LogFilter, label: string, line: number): unknown[] | 'shadow' | 'other' {
  if (value.shadow === true) return 'shadow';
  if (
    value.type !== undefined ||
    value.features === null ||
    (filter.model !== undefined && value.model !== filter.model) ||
    (filter.since !== undefined && !(Date.parse(String(value.time)) >= filter.since))
  ) {
    return 'other';
  }
  const features = value.features;
  if (!Array.isArray(features)) {
    throw new UsageError(`${label} line ${line} has no "features" array`, 'pass the prediction log written by mlops serve, unchanged', 'bad_format');
  }
  return features;
}

/**
 * The files of a rotated log, oldest first: log.N ... log.1, log (serve renames log to log.1 on
 * rotation, as `ab report` reads them). A window such as --since 1h can reach into log.1.
 */
export async function logSegments(path: string, exists: (path: string) => Promise<boolean>): Promise<string[]> {
  const rotated: string[] = [];
  for (let index = 1; await exists(`${path}.${index}`); index++) rotated.unshift(`${path}.${index}`);
  return [...rotated, path];
}
