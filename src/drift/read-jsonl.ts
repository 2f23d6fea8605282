// The streaming JSON-lines parser: one object per line, keyed by column name. storeJsonValue
// keeps one parsed value in its column, for this parser and for the prediction log's features
// (read-prediction-log.ts).
import { UsageError, messageOf } from '../errors.js';
import { isPlainObject } from '../plain-object.js';
import { NumericBuilder, type Builder, type RowSampler } from './columns.js';
import { NEWLINE, type ChunkParser, type ColumnRequest } from './data.js';
import { PARSE_INVALID, PARSE_MISSING, PARSE_OK, parseNumberText, parseStatus, setParseStatus } from './numbers.js';

export class JsonLinesParser implements ChunkParser {
  rows = 0;
  /** Called after each data row is stored (records.ts collects whole rows through it). */
  onRow?: () => void;
  line = 0;
  /** Rows in which each requested key was present at all. */
  readonly present: number[];

  constructor(
    private readonly label: string,
    private readonly requests: ColumnRequest[],
    private readonly builders: Builder[],
    private readonly sampler: RowSampler,
  ) {
    this.present = requests.map(() => 0);
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
    this.sampler.nextRow();
    this.requests.forEach((request, slot) => {
      const key = request.source as string;
      if (Object.prototype.hasOwnProperty.call(value, key)) this.present[slot]!++;
      storeJsonValue(this.builders[slot]!, value[key], `${this.label} line ${this.line}`, `'${request.name}'`);
    });
    this.rows++;
    this.onRow?.();
  }
}

/**
 * Keeps one JSON value in its column: null or absent is missing, a number or numeric text
 * goes to a numeric column (anything else there is a UsageError naming `at` and `where`),
 * and a categorical column keeps the text.
 */
export function storeJsonValue(builder: Builder, value: unknown, at: string, where: string): void {
  if (value === undefined || value === null) {
    builder.addMissing();
    return;
  }
  if (builder instanceof NumericBuilder) {
    let number: number;
    if (typeof value === 'number') {
      number = value;
      setParseStatus(PARSE_OK);
    } else if (typeof value === 'string') {
      number = parseNumberText(value);
    } else {
      setParseStatus(PARSE_INVALID);
      number = Number.NaN;
    }
    if (parseStatus === PARSE_OK) builder.push(number);
    else if (parseStatus === PARSE_MISSING) builder.addMissing();
    else {
      const shown = typeof value === 'string' ? value : JSON.stringify(value);
      throw new UsageError(
        `${at}: ${where} is ${shown.length > 40 ? `${shown.slice(0, 40)}...` : shown}, not a number`,
        'fix or remove that row (null counts as a missing value)',
        'non_numeric',
      );
    }
  } else {
    const text = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
    if (text === '') builder.addMissing();
    else builder.add(text);
  }
}
