// The streaming CSV parser: an unquoted fast path that parses numbers while finding delimiters,
// and a quoted path ("" escapes, newlines inside quotes) that stores a record once it is whole.
import { UsageError } from '../errors.js';
import { NumericBuilder, nonNumeric, type Builder, type RowSampler } from './columns.js';
import { CR, NEWLINE, QUOTE, type ChunkParser, type ColumnRequest } from './data.js';
import { POW10, PARSE_MISSING, PARSE_OK, parseNumberBytes, parseNumberText, parseStatus } from './numbers.js';

export class CsvParser implements ChunkParser {
  rows = 0;
  /** Called after each data row is stored (records.ts collects whole rows through it). */
  onRow?: () => void;
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
    private readonly sampler: RowSampler,
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
      this.sampler.nextRow();
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
      this.onRow?.();
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
        this.sampler.nextRow();
        for (let field = 0; field < this.width; field++) {
          const slot = this.slotOfField[field]!;
          if (slot >= 0) this.store(slot, buf, starts[field]!, ends[field]!, quoted[field]!);
        }
        this.rows++;
        this.onRow?.();
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
      if (parseStatus === PARSE_OK) builder.push(value);
      else if (parseStatus === PARSE_MISSING) builder.addMissing();
      else {
        const name = this.columns[this.columnOfSlot(slot)]!;
        throw nonNumeric(this.label, this.line, name, buf.toString('utf8', start, end).trim());
      }
    } else {
      let text = buf.toString('utf8', start, end);
      text = quoted ? text.replace(/""/g, '"') : text.trim();
      if (text === '') builder.addMissing();
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
