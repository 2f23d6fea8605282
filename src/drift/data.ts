// The data model shared by drift's readers: what sniffing a file tells (DataFileInfo), which
// columns to read (ParseRequest), and what comes back (ParsedData), plus the byte constants.
import type { Moments } from './stats.js';

export type DataFormat = 'csv' | 'jsonl' | 'prediction-log' | 'parquet';
export type ColumnKind = 'numeric' | 'categorical';

/** What sniffing the start of a file tells: enough to plan which columns to read and how. */
export interface DataFileInfo {
  path: string;
  /** 'reference' or 'current', for messages. */
  role: string;
  /** The flag that named the file, for hints (default: the role). */
  flag?: string;
  format: DataFormat;
  gzip: boolean;
  /** Size of the file on disk, in bytes. */
  size: number;
  /** CSV header or JSON-lines keys (in first-seen order); undefined for prediction logs. */
  columns?: string[];
  /** Parquet: columns that are lists, maps or structs (not compared). */
  nestedColumns?: string[];
  /** Columns whose first values include something that is not a number. */
  categoricalColumns: Set<string>;
  /** Prediction logs: the length of `features` in the first non-shadow row, when the head has one. */
  width?: number;
  delimiter: number;
  /** Data rows seen while sniffing (0: a header-only file); undefined for prediction logs. */
  sniffedRows?: number;
  /** Rough row count from the file size and the sniffed rows, to size the column buffers once. */
  estimatedRows: number;
}

/** One column to read: where it is in the file and how to keep it. */
export interface ColumnRequest {
  name: string;
  kind: ColumnKind;
  /** CSV field index, JSON key, or prediction-log feature position. */
  source: number | string;
}

export interface ParseRequest {
  info: DataFileInfo;
  columns: ColumnRequest[];
  /** Prediction logs: the width every row must have (from the reference or the model). */
  width?: number;
  /** Who decided the width, for the message when a row disagrees. */
  widthSource?: string;
  /** Prediction logs: only this model's rows (a server may serve several models into one log). */
  model?: string;
  /** Prediction logs: only rows whose `time` is at or after this (ms since the epoch). */
  since?: number;
  /** Keep a uniform sample of at most this many rows (reservoir sampling); default: all rows. */
  maxRows?: number;
  /** For s3:// locations: the AWS_* variables of the registry's S3 client (see source-s3.ts). */
  env?: Readonly<Record<string, string | undefined>>;
}

export interface ParsedColumn {
  name: string;
  kind: ColumnKind;
  /** Numeric columns: the non-missing values, ascending. */
  sorted?: Float64Array;
  /** Numeric columns: mean and SD of the finite values (computed in the reading thread). */
  moments?: Moments;
  /** Categorical columns: [category, count] pairs. */
  counts?: Array<[string, number]>;
  missing: number;
}

export interface ParsedData {
  /** Data rows read (all of them, sampled or not). */
  rows: number;
  /** Rows in the sample the statistics use: rows, or maxRows when the file has more. */
  sampledRows: number;
  /** Prediction-log rows marked "shadow": copies sent to a shadow model, not traffic. */
  shadowRows: number;
  /** Other prediction-log lines passed over: feedback lines, other models' rows, rows before `since`. */
  otherRows: number;
  columns: ParsedColumn[];
}

export const NEWLINE = 0x0a;
export const CR = 0x0d;
export const QUOTE = 0x22;
export const COMMA = 0x2c;

/** "reference data PATH": how every message names a file, so the right file is blamed. */
export function describe(role: string, path: string): string {
  return `${role} data ${path}`;
}

/** A streaming parser: fed chunks in order, it keeps what it has not parsed yet for the next call. */
export interface ChunkParser {
  /** Parses whole records in buf from 0; returns the offset of the first unparsed byte. */
  parse(buf: Buffer, final: boolean): number;
}

/**
 * Feeds chunks to a parser in order, carrying a partial record over to the next chunk, and
 * the rest at the end. Yields after each chunk, so a caller can hand on what was parsed.
 */
export async function* feedChunks(parser: ChunkParser, chunks: AsyncIterable<Buffer>): AsyncGenerator<void> {
  let carry: Buffer | undefined;
  for await (const chunk of chunks) {
    const buf = carry ? Buffer.concat([carry, chunk]) : chunk;
    const used = parser.parse(buf, false);
    carry = used < buf.length ? buf.subarray(used) : undefined;
    yield;
  }
  if (carry && carry.length > 0) parser.parse(carry, true);
}
