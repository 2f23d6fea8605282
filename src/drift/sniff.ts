// Sniffing a data file: gzip by magic bytes, then CSV (delimiter, header, which columns look
// categorical), JSON lines or a prediction log by content, and a row estimate to size buffers.
import { UsageError, messageOf } from '../errors.js';
import { isPlainObject } from '../plain-object.js';
import { COMMA, NEWLINE, QUOTE, describe, type DataFileInfo } from './data.js';
import { isNumericText } from './numbers.js';
import { isParquetMagic, sniffParquet } from './read-parquet.js';
import { isPredictionLogHead, predictionLogWidth } from './read-prediction-log.js';
import { chunksOf, openSource, type ByteSource, type SourceEnv } from './source.js';

const SNIFF_BYTES = 256 * 1024;
const SNIFF_ROWS = 1000;

/** The decompressed start of a file (up to `max` bytes) and whether that is the whole file. */
async function readHead(source: ByteSource, gzip: boolean, max: number): Promise<{ head: Buffer; complete: boolean }> {
  const chunks: Buffer[] = [];
  let total = 0;
  let complete = true;
  for await (const chunk of chunksOf(source, gzip, { end: max })) {
    chunks.push(chunk);
    total += chunk.length;
    if (total > max) {
      complete = false;
      break;
    }
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

/**
 * Sniffs a data file: gzip or not, which format, columns, and which columns look categorical.
 * `headerOptional`: a first CSV line of numbers only may be data (predict reads it by position),
 * so its values need not be unique names.
 */
export async function sniffFile(path: string, role: string, flag: string = role, env?: SourceEnv, headerOptional = false): Promise<DataFileInfo> {
  const source = openSource(path, role, flag, env);
  const size = await source.size();
  const magic = await source.read(0, 4);
  if (isParquetMagic(magic)) return sniffParquet(source, size);
  const gzip = magic.length >= 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  const { head, complete } = await readHead(source, gzip, SNIFF_BYTES);
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
    const trailer = await source.read(size - 4, 4);
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
    if (isPredictionLogHead(rows)) {
      return {
        path,
        role,
        flag,
        format: 'prediction-log',
        gzip,
        size,
        categoricalColumns: new Set(),
        width: predictionLogWidth(rows),
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
    return { path, role, flag, format: 'jsonl', gzip, size, columns, categoricalColumns: categorical, delimiter: COMMA, sniffedRows: rows.length, estimatedRows };
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
  const dataLine = headerOptional && columns.every((name) => isNumericText(name));
  for (const name of dataLine ? [] : columns) {
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
  return { path, role, flag, format: 'csv', gzip, size, columns, categoricalColumns: categorical, delimiter, sniffedRows: dataRecords.length, estimatedRows };
}
