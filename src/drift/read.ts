// Data readers for drift-check: sniff a file (gzip by magic bytes, CSV / JSON lines / prediction
// log by content), then stream it into per-column typed arrays without a JS object per row.
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { NotFoundError, UsageError, messageOf } from '../errors.js';
import { sortFloat64 } from './sort.js';
import { moments, type Moments } from './stats.js';

export type DataFormat = 'csv' | 'jsonl' | 'prediction-log';
export type ColumnKind = 'numeric' | 'categorical';

/** What sniffing the start of a file tells: enough to plan which columns to read and how. */
export interface DataFileInfo {
  path: string;
  /** 'reference' or 'current', for messages. */
  role: string;
  format: DataFormat;
  gzip: boolean;
  /** Size of the file on disk, in bytes. */
  size: number;
  /** CSV header or JSON-lines keys (in first-seen order); undefined for prediction logs. */
  columns?: string[];
  /** Columns whose first values include something that is not a number. */
  categoricalColumns: Set<string>;
  /** Prediction logs: the length of `features` in the first non-shadow row, when the head has one. */
  width?: number;
  delimiter: number;
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
  rows: number;
  /** Prediction-log rows marked "shadow": copies sent to a shadow model, not traffic. */
  shadowRows: number;
  /** Other prediction-log lines passed over: feedback lines, other models' rows, rows before `since`. */
  otherRows: number;
  columns: ParsedColumn[];
}

const SNIFF_BYTES = 256 * 1024;
const SNIFF_ROWS = 1000;
const READ_CHUNK = 1024 * 1024;
const NEWLINE = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const COMMA = 0x2c;

// ---------------------------------------------------------------------------------------------
// Numbers

/** Tokens that mean "no value" in a numeric column (compared lower-case). */
const MISSING_TOKENS = new Set(['', 'na', 'n/a', 'nan', '-nan', 'null', 'none']);
const NUMBER_PATTERN = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

const enum Parsed {
  Ok = 0,
  Missing = 1,
  Invalid = 2,
}

/** Status of the last parseNumber call; a module variable keeps the hot path free of allocations. */
let parseStatus: Parsed = Parsed.Ok;

/** Parses a number token from text (already unquoted); sets parseStatus. */
export function parseNumberText(text: string): number {
  const token = text.trim();
  const lower = token.toLowerCase();
  if (MISSING_TOKENS.has(lower)) {
    parseStatus = Parsed.Missing;
    return Number.NaN;
  }
  if (NUMBER_PATTERN.test(token)) {
    parseStatus = Parsed.Ok;
    return Number(token);
  }
  if (lower === 'inf' || lower === '+inf' || lower === 'infinity' || lower === '+infinity') {
    parseStatus = Parsed.Ok;
    return Infinity;
  }
  if (lower === '-inf' || lower === '-infinity') {
    parseStatus = Parsed.Ok;
    return -Infinity;
  }
  parseStatus = Parsed.Invalid;
  return Number.NaN;
}

/**
 * Parses the bytes [start, end) as a decimal number. Up to 15 significant digits and a power
 * of ten within 1e±22 take Clinger's fast path (one exact multiply or divide, so correctly
 * rounded); anything else goes through Number() on the text.
 */
function parseNumberBytes(buf: Uint8Array, start: number, end: number): number {
  let s = start;
  let e = end;
  while (s < e && (buf[s] === 0x20 || buf[s] === 0x09)) s++;
  while (e > s && (buf[e - 1] === 0x20 || buf[e - 1] === 0x09 || buf[e - 1] === CR)) e--;
  if (s === e) {
    parseStatus = Parsed.Missing;
    return Number.NaN;
  }
  let p = s;
  let negative = false;
  let c = buf[p]!;
  if (c === 0x2d) {
    negative = true;
    p++;
  } else if (c === 0x2b) {
    p++;
  }
  let mantissa = 0;
  let significant = 0;
  let exponent = 0;
  let digits = 0;
  while (p < e) {
    const d = buf[p]! - 0x30;
    if (d < 0 || d > 9) break;
    if (mantissa !== 0 || d !== 0) significant++;
    mantissa = mantissa * 10 + d;
    digits++;
    p++;
  }
  if (p < e && buf[p] === 0x2e) {
    p++;
    while (p < e) {
      const d = buf[p]! - 0x30;
      if (d < 0 || d > 9) break;
      if (mantissa !== 0 || d !== 0) significant++;
      mantissa = mantissa * 10 + d;
      exponent--;
      digits++;
      p++;
    }
  }
  if (digits === 0) return parseNumberText(Buffer.from(buf.buffer, buf.byteOffset + s, e - s).toString('latin1'));
  if (p < e && (buf[p] === 0x65 || buf[p] === 0x45)) {
    p++;
    let expNegative = false;
    if (p < e && (buf[p] === 0x2d || buf[p] === 0x2b)) {
      expNegative = buf[p] === 0x2d;
      p++;
    }
    let expValue = 0;
    let expDigits = 0;
    while (p < e) {
      const d = buf[p]! - 0x30;
      if (d < 0 || d > 9) break;
      expValue = expValue * 10 + d;
      expDigits++;
      p++;
    }
    if (expDigits === 0 || expValue > 100_000) {
      return parseNumberText(Buffer.from(buf.buffer, buf.byteOffset + s, e - s).toString('latin1'));
    }
    exponent += expNegative ? -expValue : expValue;
  }
  if (p !== e || significant > 15) {
    return parseNumberText(Buffer.from(buf.buffer, buf.byteOffset + s, e - s).toString('latin1'));
  }
  parseStatus = Parsed.Ok;
  let value: number;
  if (mantissa === 0) value = 0;
  else if (exponent === 0) value = mantissa;
  else if (exponent > 0 && exponent <= 22) value = mantissa * POW10[exponent]!;
  else if (exponent < 0 && exponent >= -22) value = mantissa / POW10[-exponent]!;
  else return parseNumberText(Buffer.from(buf.buffer, buf.byteOffset + s, e - s).toString('latin1'));
  return negative ? -value : value;
}

function isNumericText(text: string): boolean {
  parseNumberText(text);
  return parseStatus !== Parsed.Invalid;
}

// ---------------------------------------------------------------------------------------------
// Opening and sniffing

function describe(role: string, path: string): string {
  return `${role} data ${path}`;
}

async function openCheck(path: string, role: string): Promise<number> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new NotFoundError(`${describe(role, path)} does not exist`, `check the --${role} path`, 'data_not_found');
    }
    throw new UsageError(`cannot read ${describe(role, path)}: ${messageOf(error)}`, `check the --${role} path`, 'unreadable_data');
  }
  if (info.isDirectory()) {
    throw new UsageError(`${describe(role, path)} is a directory, not a file`, 'pass a CSV, JSON-lines or prediction-log file', 'unreadable_data');
  }
  return info.size;
}

async function readBytes(path: string, role: string, position: number, length: number): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new UsageError(`cannot read ${describe(role, path)}: ${messageOf(error)}`, `check the --${role} path and its permissions`, 'unreadable_data');
  }
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, position);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

function gzipError(role: string, path: string, error: unknown): UsageError {
  return new UsageError(
    `${describe(role, path)} is not readable gzip: ${messageOf(error)}`,
    'the file starts like gzip but is corrupt or truncated; compress it again or pass the plain file',
    'bad_gzip',
  );
}

/** The decompressed start of a file (up to `max` bytes) and whether that is the whole file. */
async function readHead(path: string, role: string, gzip: boolean, max: number): Promise<{ head: Buffer; complete: boolean }> {
  const source = createReadStream(path, gzip ? { highWaterMark: 64 * 1024 } : { start: 0, end: max });
  const input = gzip ? source.pipe(createGunzip()) : source;
  if (input !== source) source.on('error', (error) => input.destroy(error));
  const chunks: Buffer[] = [];
  let total = 0;
  let complete = true;
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      total += chunk.length;
      if (total > max) {
        complete = false;
        break;
      }
    }
  } catch (error) {
    if (gzip) throw gzipError(role, path, error);
    throw new UsageError(`cannot read ${describe(role, path)}: ${messageOf(error)}`, `check the --${role} path`, 'unreadable_data');
  } finally {
    source.destroy();
    if (input !== source) input.destroy();
  }
  const head = Buffer.concat(chunks);
  return { head: head.subarray(0, Math.min(head.length, max)), complete: complete && head.length <= max };
}

/** Splits one CSV line (no trailing newline) into fields, honouring quotes. For the header and sniffing. */
export function splitCsvLine(line: string, delimiter: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let value = '';
      let j = i + 1;
      for (;;) {
        const q = line.indexOf('"', j);
        if (q === -1) {
          value += line.slice(j);
          j = line.length;
          break;
        }
        value += line.slice(j, q);
        if (line[q + 1] === '"') {
          value += '"';
          j = q + 2;
        } else {
          j = q + 1;
          break;
        }
      }
      const next = line.indexOf(delimiter, j);
      fields.push(value);
      if (next === -1) break;
      i = next + 1;
    } else {
      const next = line.indexOf(delimiter, i);
      fields.push((next === -1 ? line.slice(i) : line.slice(i, next)).trim());
      if (next === -1) break;
      i = next + 1;
    }
  }
  return fields;
}

/** Lines of text, with quoted newlines kept inside their line (CSV records). */
function csvRecords(text: string, limit: number): string[] {
  const records: string[] = [];
  let start = 0;
  let inQuotes = false;
  for (let i = 0; i < text.length && records.length < limit; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) inQuotes = !inQuotes;
    else if (c === NEWLINE && !inQuotes) {
      records.push(text.slice(start, i).replace(/\r$/, ''));
      start = i + 1;
    }
  }
  return records;
}

function chooseDelimiter(headerLine: string): number {
  let best = COMMA;
  let bestCount = 0;
  for (const candidate of [',', ';', '\t', '|']) {
    const count = headerLine.split(candidate).length - 1;
    if (count > bestCount) {
      best = candidate.charCodeAt(0);
      bestCount = count;
    }
  }
  return best;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Sniffs a data file: gzip or not, which format, columns, and which columns look categorical. */
export async function sniffFile(path: string, role: string): Promise<DataFileInfo> {
  const size = await openCheck(path, role);
  const magic = await readBytes(path, role, 0, 2);
  const gzip = magic.length === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  const { head, complete } = await readHead(path, role, gzip, SNIFF_BYTES);
  let text = head.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  // A multi-byte character cut at the end of the head decodes as U+FFFD; drop the partial line.
  if (!complete) {
    if (text.lastIndexOf('\n') === -1) {
      throw new UsageError(
        `${describe(role, path)}: the first line is longer than ${SNIFF_BYTES / 1024} KB`,
        'pass a CSV file with a header line, or JSON lines',
        'bad_format',
      );
    }
    text = text.slice(0, text.lastIndexOf('\n') + 1);
  }
  const trimmed = text.trimStart();
  const label = describe(role, path);
  if (trimmed === '') {
    throw new UsageError(`${label} is empty (no rows)`, 'pass a file with a header line and data rows', 'empty_data');
  }

  // The uncompressed size: gzip's trailer holds it modulo 2^32 (good enough for an estimate).
  let dataBytes = size;
  if (gzip && complete) dataBytes = head.length;
  else if (gzip && size >= 4) {
    const trailer = await readBytes(path, role, size - 4, 4);
    dataBytes = Math.max(trailer.readUInt32LE(0), head.length);
  }

  const first = trimmed[0];
  if (first === '[') {
    throw new UsageError(
      `${label} is a JSON array; drift-check reads JSON lines (one object per line)`,
      'write one JSON object per line, or pass a CSV file with a header',
      'bad_format',
    );
  }
  if (first === '{') {
    const lines = text.split('\n');
    const rows: Record<string, unknown>[] = [];
    let sampledBytes = 0;
    for (let i = 0; i < lines.length && rows.length < SNIFF_ROWS; i++) {
      const line = lines[i]!.trim();
      if (line === '') continue;
      if (i === lines.length - 1 && !complete) break;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (error) {
        throw new UsageError(`${label} line ${i + 1} is not valid JSON: ${messageOf(error)}`, 'each line must be one JSON object', 'bad_format');
      }
      if (!isPlainObject(value)) {
        throw new UsageError(`${label} line ${i + 1} is not a JSON object`, 'each line must be one JSON object keyed by column name', 'bad_format');
      }
      rows.push(value);
      sampledBytes += lines[i]!.length + 1;
    }
    const estimatedRows = Math.ceil((dataBytes / Math.max(1, sampledBytes / Math.max(1, rows.length))) * 1.05) + 16;
    // A rotated log can start with feedback lines: any row with `features`, or a feedback
    // line, makes it a prediction log.
    if (rows.length > 0 && rows.some((row) => Array.isArray(row.features) || row.type === 'feedback')) {
      const live = rows.find((row) => row.shadow !== true && row.type === undefined && Array.isArray(row.features));
      return {
        path,
        role,
        format: 'prediction-log',
        gzip,
        size,
        categoricalColumns: new Set(),
        width: live ? (live.features as unknown[]).length : undefined,
        delimiter: COMMA,
        estimatedRows,
      };
    }
    const columns: string[] = [];
    const seen = new Set<string>();
    const categorical = new Set<string>();
    for (const row of rows) {
      for (const [key, value] of Object.entries(row)) {
        if (!seen.has(key)) {
          seen.add(key);
          columns.push(key);
        }
        if (typeof value === 'boolean' || (typeof value === 'string' && !isNumericText(value))) categorical.add(key);
      }
    }
    return { path, role, format: 'jsonl', gzip, size, columns, categoricalColumns: categorical, delimiter: COMMA, estimatedRows };
  }

  const records = csvRecords(complete && !text.endsWith('\n') ? `${text}\n` : text, SNIFF_ROWS + 1);
  const headerLine = records.find((line) => line.trim() !== '');
  if (headerLine === undefined) {
    throw new UsageError(`${label}: the first line is longer than ${SNIFF_BYTES} bytes`, 'pass a CSV file with a header line', 'bad_format');
  }
  const delimiter = chooseDelimiter(headerLine);
  const delimiterText = String.fromCharCode(delimiter);
  const columns = splitCsvLine(headerLine, delimiterText);
  const seen = new Set<string>();
  for (const name of columns) {
    if (name === '') {
      throw new UsageError(`${label}: the header has an empty column name`, 'give every column a name in the first line', 'bad_format');
    }
    if (seen.has(name)) {
      throw new UsageError(`${label}: column '${name}' appears twice in the header`, 'give every column a unique name', 'bad_format');
    }
    seen.add(name);
  }
  const categorical = new Set<string>();
  const dataRecords = records.slice(records.indexOf(headerLine) + 1).filter((line) => line.trim() !== '');
  let sampledBytes = 0;
  for (const record of dataRecords) {
    sampledBytes += record.length + 1;
    const fields = splitCsvLine(record, delimiterText);
    for (let i = 0; i < Math.min(fields.length, columns.length); i++) {
      if (!isNumericText(fields[i]!)) categorical.add(columns[i]!);
    }
  }
  const estimatedRows =
    Math.ceil((dataBytes / Math.max(1, sampledBytes / Math.max(1, dataRecords.length))) * 1.05) + 16;
  return { path, role, format: 'csv', gzip, size, columns, categoricalColumns: categorical, delimiter, estimatedRows };
}

// ---------------------------------------------------------------------------------------------
// Column builders

class NumericBuilder {
  values: Float64Array;
  length = 0;
  missing = 0;
  constructor(capacity: number) {
    this.values = new Float64Array(Math.max(16, capacity));
  }
  push(value: number): void {
    if (this.length === this.values.length) {
      const grown = new Float64Array(Math.ceil(this.values.length * 1.5) + 16);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = value;
  }
}

class CategoricalBuilder {
  readonly counts = new Map<string, number>();
  missing = 0;
  add(value: string): void {
    this.counts.set(value, (this.counts.get(value) ?? 0) + 1);
  }
}

type Builder = NumericBuilder | CategoricalBuilder;

function nonNumeric(label: string, line: number, column: string, value: string): UsageError {
  const shown = value.length > 40 ? `${value.slice(0, 40)}...` : value;
  return new UsageError(
    `${label} line ${line}: column '${column}' has '${shown}', not a number`,
    'fix or remove that row (empty, NA and NaN count as missing values)',
    'non_numeric',
  );
}

// ---------------------------------------------------------------------------------------------
// Streaming parsers

interface ChunkParser {
  /** Parses whole records in buf from 0; returns the offset of the first unparsed byte. */
  parse(buf: Buffer, final: boolean): number;
}

class CsvParser implements ChunkParser {
  rows = 0;
  line = 0;
  private headerSeen = false;
  private readonly width: number;
  private readonly delimiter: number;
  /** For each CSV field: the builder index, or -1 when the column is not compared. */
  private readonly slotOfField: Int32Array;
  private readonly fieldStarts: number[] = [];
  private readonly fieldEnds: number[] = [];
  private readonly fieldQuoted: boolean[] = [];
  /** The numeric builder of each slot (undefined for categorical columns), for the hot loop. */
  private readonly numericOfSlot: Array<NumericBuilder | undefined>;

  constructor(
    private readonly label: string,
    private readonly columns: string[],
    delimiter: number,
    requests: ColumnRequest[],
    private readonly builders: Builder[],
  ) {
    this.width = columns.length;
    this.delimiter = delimiter;
    this.slotOfField = new Int32Array(this.width).fill(-1);
    requests.forEach((request, slot) => {
      this.slotOfField[request.source as number] = slot;
    });
    this.numericOfSlot = builders.map((builder) => (builder instanceof NumericBuilder ? builder : undefined));
  }

  parse(buf: Buffer, final: boolean): number {
    let pos = 0;
    const length = buf.length;
    if (!this.headerSeen && this.line === 0 && length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) {
      pos = 3;
    }
    // The header line: known from sniffing, skipped here (the first non-blank line).
    while (!this.headerSeen && pos < length) {
      if (buf.indexOf(QUOTE, pos) !== -1) {
        const next = this.parseQuotedRecord(buf, pos, final);
        if (next < 0) return pos;
        pos = next;
        continue;
      }
      let lineEnd = buf.indexOf(NEWLINE, pos);
      if (lineEnd === -1) {
        if (!final) return pos;
        lineEnd = length;
      }
      this.line++;
      const blank = lineEnd === pos || (lineEnd === pos + 1 && buf[pos] === CR);
      if (!blank) this.headerSeen = true;
      pos = lineEnd + 1;
    }
    if (pos >= length) return length;
    if (buf.indexOf(QUOTE, pos) === -1) {
      // No quotes: whole lines up to the last newline parse in one tight loop.
      const limit = final ? length : buf.lastIndexOf(NEWLINE) + 1;
      if (limit > pos) this.parseUnquoted(buf, pos, limit);
      return Math.max(pos, limit);
    }
    while (pos < length) {
      const next = this.parseQuotedRecord(buf, pos, final);
      if (next < 0) return pos;
      pos = next;
    }
    return length;
  }

  /**
   * Records with no quote characters in [start, end), where end is just after a newline (or the
   * end of the file). Numbers are parsed while scanning, in the same pass that finds the
   * delimiters; anything unusual in a field (spaces, NA, long mantissas) goes through store().
   * Measured (CPU profile, 150 MB, 1,000,000 x 20 floats): 0.50 s, against 0.80 s for a first
   * version that found the field ends first and then parsed each field.
   */
  private parseUnquoted(buf: Buffer, start: number, end: number): void {
    const delimiter = this.delimiter;
    const width = this.width;
    const slotOfField = this.slotOfField;
    const numeric = this.numericOfSlot;
    let p = start;
    while (p < end) {
      this.line++;
      let c = buf[p]!;
      if (c === NEWLINE) {
        p++;
        continue;
      }
      if (c === CR && (p + 1 >= end || buf[p + 1] === NEWLINE)) {
        p += 2;
        continue;
      }
      let field = 0;
      for (;;) {
        const slot = field < width ? slotOfField[field]! : -1;
        const builder = slot >= 0 ? numeric[slot] : undefined;
        let parsed = false;
        if (builder !== undefined) {
          let q = p;
          let negative = false;
          c = q < end ? buf[q]! : NEWLINE;
          if (c === 0x2d) {
            negative = true;
            q++;
          } else if (c === 0x2b) {
            q++;
          }
          let mantissa = 0;
          let digits = 0;
          let exponent = 0;
          while (q < end) {
            const d = buf[q]! - 0x30;
            if (d < 0 || d > 9) break;
            mantissa = mantissa * 10 + d;
            digits++;
            q++;
          }
          if (q < end && buf[q] === 0x2e) {
            q++;
            while (q < end) {
              const d = buf[q]! - 0x30;
              if (d < 0 || d > 9) break;
              mantissa = mantissa * 10 + d;
              digits++;
              exponent--;
              q++;
            }
          }
          const next = q < end ? buf[q]! : NEWLINE;
          // Exact integer mantissa and a power of ten that is exact: one correctly rounded operation.
          if (digits > 0 && mantissa < 9007199254740992 && exponent >= -22 && (next === delimiter || next === NEWLINE || next === CR)) {
            const magnitude = exponent === 0 ? mantissa : mantissa / POW10[-exponent]!;
            builder.push(negative ? -magnitude : magnitude);
            p = q;
            parsed = true;
          }
        }
        if (!parsed) {
          let q = p;
          while (q < end && buf[q] !== delimiter && buf[q] !== NEWLINE) q++;
          if (slot >= 0) this.store(slot, buf, p, q, false);
          p = q;
        }
        field++;
        c = p < end ? buf[p]! : NEWLINE;
        if (c === CR) c = p + 1 < end ? buf[++p]! : NEWLINE;
        if (c === delimiter) {
          p++;
          continue;
        }
        p++;
        break;
      }
      if (field !== width) this.widthError(field);
      this.rows++;
    }
  }

  /**
   * A record that may contain quoted fields (with "" escapes and newlines inside quotes).
   * Field boundaries are collected first and stored only once the whole record is in the buffer.
   * Returns the offset after the record, or -1 when the buffer ends inside it.
   */
  private parseQuotedRecord(buf: Buffer, start: number, final: boolean): number {
    const length = buf.length;
    const delimiter = this.delimiter;
    const starts = this.fieldStarts;
    const ends = this.fieldEnds;
    const quoted = this.fieldQuoted;
    starts.length = 0;
    ends.length = 0;
    quoted.length = 0;
    let p = start;
    let newlinesInside = 0;
    let recordEnd: number;
    for (;;) {
      let q = p;
      while (q < length && (buf[q] === 0x20 || buf[q] === 0x09)) q++;
      if (q < length && buf[q] === QUOTE) {
        let close = q + 1;
        for (;;) {
          close = buf.indexOf(QUOTE, close);
          if (close === -1) {
            if (!final) return -1;
            throw new UsageError(
              `${this.label} line ${this.line + 1}: a quoted field is never closed`,
              'close the quote or remove the stray " character',
              'bad_format',
            );
          }
          if (buf[close + 1] === QUOTE) {
            close += 2;
            continue;
          }
          break;
        }
        if (close + 1 >= length && !final) return -1;
        for (let i = q + 1; i < close; i++) if (buf[i] === NEWLINE) newlinesInside++;
        starts.push(q + 1);
        ends.push(close);
        quoted.push(true);
        p = close + 1;
        while (p < length && (buf[p] === 0x20 || buf[p] === 0x09 || buf[p] === CR)) p++;
        if (p >= length) {
          if (!final) return -1;
          recordEnd = length;
          break;
        }
        if (buf[p] === delimiter) {
          p++;
          continue;
        }
        if (buf[p] === NEWLINE) {
          recordEnd = p;
          break;
        }
        throw new UsageError(
          `${this.label} line ${this.line + 1}: unexpected text after a quoted field`,
          'quote the whole field, and write a quote inside it as ""',
          'bad_format',
        );
      }
      let fieldEnd = p;
      while (fieldEnd < length && buf[fieldEnd] !== delimiter && buf[fieldEnd] !== NEWLINE) fieldEnd++;
      if (fieldEnd >= length && !final) return -1;
      starts.push(p);
      ends.push(fieldEnd > p && buf[fieldEnd - 1] === CR && (fieldEnd >= length || buf[fieldEnd] === NEWLINE) ? fieldEnd - 1 : fieldEnd);
      quoted.push(false);
      if (fieldEnd < length && buf[fieldEnd] === delimiter) {
        p = fieldEnd + 1;
        continue;
      }
      recordEnd = fieldEnd;
      break;
    }
    this.line++;
    const blank = starts.length === 1 && !quoted[0] && ends[0]! <= starts[0]!;
    if (!blank) {
      if (!this.headerSeen) {
        this.headerSeen = true;
      } else {
        if (starts.length !== this.width) this.widthError(starts.length);
        for (let field = 0; field < this.width; field++) {
          const slot = this.slotOfField[field]!;
          if (slot >= 0) this.store(slot, buf, starts[field]!, ends[field]!, quoted[field]!);
        }
        this.rows++;
      }
    }
    this.line += newlinesInside;
    return recordEnd + 1;
  }

  private store(slot: number, buf: Buffer, start: number, end: number, quoted: boolean): void {
    const builder = this.builders[slot]!;
    if (builder instanceof NumericBuilder) {
      const value = quoted
        ? parseNumberText(buf.toString('utf8', start, end).replace(/""/g, '"'))
        : parseNumberBytes(buf, start, end);
      if (parseStatus === Parsed.Ok) builder.push(value);
      else if (parseStatus === Parsed.Missing) builder.missing++;
      else {
        const name = this.columns[this.columnOfSlot(slot)]!;
        throw nonNumeric(this.label, this.line, name, buf.toString('utf8', start, end).trim());
      }
    } else {
      let text = buf.toString('utf8', start, end);
      text = quoted ? text.replace(/""/g, '"') : text.trim();
      if (text === '') builder.missing++;
      else builder.add(text);
    }
  }

  private columnOfSlot(slot: number): number {
    return this.slotOfField.indexOf(slot);
  }

  private widthError(fields: number): never {
    throw new UsageError(
      `${this.label} line ${this.line} has ${fields} fields, the header has ${this.width}`,
      'every row needs one value per header column (leave a cell empty for a missing value)',
      'width_mismatch',
    );
  }
}

class JsonLinesParser implements ChunkParser {
  rows = 0;
  shadowRows = 0;
  otherRows = 0;
  line = 0;
  /** JSON-lines: rows in which each requested key was present at all. */
  readonly present: number[];
  width: number | undefined;

  constructor(
    private readonly label: string,
    private readonly format: DataFormat,
    private readonly requests: ColumnRequest[],
    private readonly builders: Builder[],
    width: number | undefined,
    private readonly widthSource: string | undefined,
    private readonly model?: string,
    private readonly since?: number,
  ) {
    this.present = requests.map(() => 0);
    this.width = width;
  }

  parse(buf: Buffer, final: boolean): number {
    let pos = 0;
    const length = buf.length;
    while (pos < length) {
      let end = buf.indexOf(NEWLINE, pos);
      if (end === -1) {
        if (!final) return pos;
        end = length;
      }
      this.line++;
      const text = buf.toString('utf8', pos, end).trim();
      pos = end + 1;
      if (text === '') continue;
      this.parseLine(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    }
    return length;
  }

  private parseLine(text: string): void {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new UsageError(`${this.label} line ${this.line} is not valid JSON: ${messageOf(error)}`, 'each line must be one JSON object', 'bad_format');
    }
    if (!isPlainObject(value)) {
      throw new UsageError(`${this.label} line ${this.line} is not a JSON object`, 'each line must be one JSON object', 'bad_format');
    }
    if (this.format === 'prediction-log') {
      if (value.shadow === true) {
        this.shadowRows++;
        return;
      }
      // Feedback lines, non-tabular requests (features null), other models and older rows are not this traffic.
      if (
        value.type !== undefined ||
        value.features === null ||
        (this.model !== undefined && value.model !== this.model) ||
        (this.since !== undefined && !(Date.parse(String(value.time)) >= this.since))
      ) {
        this.otherRows++;
        return;
      }
      const features = value.features;
      if (!Array.isArray(features)) {
        throw new UsageError(
          `${this.label} line ${this.line} has no "features" array`,
          'pass the prediction log written by mlops serve, unchanged',
          'bad_format',
        );
      }
      if (this.width === undefined) this.width = features.length;
      if (features.length !== this.width) {
        const expected = this.widthSource ? `${this.widthSource} has ${this.width}` : `earlier rows have ${this.width}`;
        throw new UsageError(
          `${this.label} line ${this.line} has ${features.length} features, ${expected}`,
          'compare a prediction log only with data of the same model input width',
          'width_mismatch',
        );
      }
      this.requests.forEach((request, slot) => {
        this.present[slot]!++;
        this.storeValue(slot, request, features[request.source as number]);
      });
    } else {
      this.requests.forEach((request, slot) => {
        const key = request.source as string;
        if (Object.prototype.hasOwnProperty.call(value, key)) this.present[slot]!++;
        this.storeValue(slot, request, (value as Record<string, unknown>)[key]);
      });
    }
    this.rows++;
  }

  private storeValue(slot: number, request: ColumnRequest, value: unknown): void {
    const builder = this.builders[slot]!;
    if (value === undefined || value === null) {
      builder.missing++;
      return;
    }
    if (builder instanceof NumericBuilder) {
      let number: number;
      if (typeof value === 'number') {
        number = value;
        parseStatus = Parsed.Ok;
      } else if (typeof value === 'string') {
        number = parseNumberText(value);
      } else {
        parseStatus = Parsed.Invalid;
        number = Number.NaN;
      }
      if (parseStatus === Parsed.Ok) builder.push(number);
      else if (parseStatus === Parsed.Missing) builder.missing++;
      else {
        const shown = typeof value === 'string' ? value : JSON.stringify(value);
        const where = this.format === 'prediction-log' ? `features[${request.source}] ('${request.name}')` : `'${request.name}'`;
        throw new UsageError(
          `${this.label} line ${this.line}: ${where} is ${shown.length > 40 ? `${shown.slice(0, 40)}...` : shown}, not a number`,
          'fix or remove that row (null counts as a missing value)',
          'non_numeric',
        );
      }
    } else {
      const text = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
      if (text === '') builder.missing++;
      else builder.add(text);
    }
  }
}

/**
 * Reads a whole file into the requested columns: numeric columns come back sorted (ready for
 * KS), categorical ones as counts. Runs in a worker thread when one is available (check.ts).
 */
export async function parseDataFile(request: ParseRequest): Promise<ParsedData> {
  const { info, columns: requests } = request;
  const label = describe(info.role, info.path);
  const builders: Builder[] = requests.map((column) =>
    column.kind === 'numeric' ? new NumericBuilder(info.estimatedRows) : new CategoricalBuilder(),
  );
  const csv = info.format === 'csv' ? new CsvParser(label, info.columns ?? [], info.delimiter, requests, builders) : undefined;
  const json = csv ? undefined : new JsonLinesParser(label, info.format, requests, builders, request.width, request.widthSource, request.model, request.since);
  const parser: ChunkParser = csv ?? json!;

  const source = createReadStream(info.path, { highWaterMark: READ_CHUNK });
  const input = info.gzip ? source.pipe(createGunzip({ chunkSize: 256 * 1024 })) : source;
  // pipe() does not forward the file's errors to the gunzip stream being iterated.
  if (input !== source) source.on('error', (error) => input.destroy(error));
  let carry: Buffer | undefined;
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      const buf = carry ? Buffer.concat([carry, chunk]) : chunk;
      const used = parser.parse(buf, false);
      carry = used < buf.length ? buf.subarray(used) : undefined;
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof NotFoundError) throw error;
    if (info.gzip) throw gzipError(info.role, info.path, error);
    throw new UsageError(`cannot read ${label}: ${messageOf(error)}`, `check the --${info.role} path`, 'unreadable_data');
  } finally {
    source.destroy();
    if (input !== source) input.destroy();
  }
  if (carry && carry.length > 0) parser.parse(carry, true);

  const rows = csv ? csv.rows : json!.rows;
  const shadowRows = json ? json.shadowRows : 0;
  const otherRows = json ? json.otherRows : 0;
  if (rows === 0) {
    const passed = [shadowRows > 0 ? `${shadowRows} shadow rows` : '', otherRows > 0 ? `${otherRows} feedback lines, other models' rows or rows before --since` : ''].filter(Boolean);
    const skipped = passed.length ? ` (skipped: ${passed.join(', ')})` : '';
    throw new UsageError(
      `${label} has no rows${skipped}`,
      info.format === 'csv' ? 'add data rows under the header line' : 'pass a file with at least one data row',
      'empty_data',
    );
  }
  if (json && info.format === 'jsonl') {
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
      const values = builder.values.subarray(0, builder.length);
      if (!scratch || scratch.length < values.length) scratch = new Float64Array(values.length);
      sortFloat64(values, scratch);
      return { name: column.name, kind: 'numeric', sorted: values, moments: moments(values), missing: builder.missing };
    }
    return { name: column.name, kind: 'categorical', counts: [...builder.counts], missing: builder.missing };
  });
  return { rows, shadowRows, otherRows, columns };
}
