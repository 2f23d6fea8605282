// The streaming JSON-lines parser: one object per line, keyed by column name; prediction-log rows
// are recognised and unpacked by read-prediction-log.ts.
import { UsageError, messageOf } from '../errors.js';
import { NumericBuilder, type Builder, type RowSampler } from './columns.js';
import { isPlainObject } from '../plain-object.js';
import { NEWLINE, type ChunkParser, type ColumnRequest, type DataFormat } from './data.js';
import { predictionLogFeatures } from './read-prediction-log.js';
import { PARSE_INVALID, PARSE_MISSING, PARSE_OK, parseNumberText, parseStatus, setParseStatus } from './numbers.js';

export class JsonLinesParser implements ChunkParser {
  rows = 0;
  /** Called after each data row is stored (records.ts collects whole rows through it). */
  onRow?: () => void;
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
    private readonly sampler: RowSampler,
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
      const features = predictionLogFeatures(value, { model: this.model, since: this.since }, this.label, this.line);
      if (features === 'shadow') {
        this.shadowRows++;
        return;
      }
      if (features === 'other') {
        this.otherRows++;
        return;
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
      this.sampler.nextRow();
      this.requests.forEach((request, slot) => {
        this.present[slot]!++;
        this.storeValue(slot, request, features[request.source as number]);
      });
    } else {
      this.sampler.nextRow();
      this.requests.forEach((request, slot) => {
        const key = request.source as string;
        if (Object.prototype.hasOwnProperty.call(value, key)) this.present[slot]!++;
        this.storeValue(slot, request, (value as Record<string, unknown>)[key]);
      });
    }
    this.rows++;
    this.onRow?.();
  }

  private storeValue(slot: number, request: ColumnRequest, value: unknown): void {
    const builder = this.builders[slot]!;
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
        const where = this.format === 'prediction-log' ? `features[${request.source}] ('${request.name}')` : `'${request.name}'`;
        throw new UsageError(
          `${this.label} line ${this.line}: ${where} is ${shown.length > 40 ? `${shown.slice(0, 40)}...` : shown}, not a number`,
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
}
