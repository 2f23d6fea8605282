// The prediction log, one owner of its format: the rows, the writer with rotation, and
// the reader that follows rotation (used by serve, experiment and drift).
export type { PredictionRow, FeedbackRow, LogEntry } from './rows.js';
export { parseLogLine } from './rows.js';
export { RotatingLogWriter, type LogSink } from './writer.js';
export { logFiles, logsIn, predictionLogFiles, readPredictionLog } from './reader.js';
