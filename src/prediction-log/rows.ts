// The prediction log's rows (README "Prediction log"): one JSON object per line, a
// prediction row per predicted input row, and feedback rows joined by request id.

/** One prediction log row (README "Prediction log"). */
export interface PredictionRow {
  /** Made by the server: the key feedback joins on. */
  request_id: string;
  /** The client's X-Request-Id, when it sent one (for its own tracing; never a join key). */
  client_request_id?: string;
  time: string;
  model: string;
  version: string;
  variant: string;
  experiment?: string;
  row?: number;
  features: number[] | null;
  outputs: Record<string, unknown>;
  /** The answer's prediction for this row (the class or value returned); feedback joins to it. */
  prediction?: unknown;
  latency_ms: number;
  shadow?: true;
}

/**
 * Ground truth. Joined (the replica that served the request still held it): carries the
 * model, variant and prediction, so sampled-out predictions still count. Unjoined
 * (`joined: false`, another replica served it): only the request id, row and label or
 * outcome; readers join it to the prediction row of the same request_id in any log.
 */
export interface FeedbackRow {
  type: 'feedback';
  request_id: string;
  time: string;
  joined?: false;
  model?: string;
  version?: string;
  variant?: string;
  experiment?: string;
  row?: number;
  prediction?: unknown;
  label?: unknown;
  outcome?: number;
  correct?: boolean;
}

/** A line of the log as read back: a prediction, a feedback row, or a line that is neither. */
export type LogEntry =
  | { kind: 'prediction'; row: PredictionRow & Record<string, unknown>; file: string; line: number }
  | { kind: 'feedback'; row: FeedbackRow & Record<string, unknown>; file: string; line: number }
  | { kind: 'invalid'; reason: 'not JSON' | 'not a log row'; file: string; line: number };

/** Classify one line; never throws (a log is input: a hand-edited or torn line is skipped, not fatal). */
export function parseLogLine(text: string, file: string, line: number): LogEntry {
  let row: unknown;
  try {
    row = JSON.parse(text);
  } catch {
    return { kind: 'invalid', reason: 'not JSON', file, line };
  }
  if (typeof row !== 'object' || row === null || Array.isArray(row)) return { kind: 'invalid', reason: 'not a log row', file, line };
  const record = row as Record<string, unknown>;
  if (record.type === 'feedback') return { kind: 'feedback', row: record as FeedbackRow & Record<string, unknown>, file, line };
  if ('features' in record || 'outputs' in record) return { kind: 'prediction', row: record as unknown as PredictionRow & Record<string, unknown>, file, line };
  return { kind: 'invalid', reason: 'not a log row', file, line };
}
