// Column builders: numbers into a growing Float64Array, categories into counts; no object per row.
import { UsageError } from '../errors.js';

export class NumericBuilder {
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

export class CategoricalBuilder {
  readonly counts = new Map<string, number>();
  missing = 0;
  add(value: string): void {
    this.counts.set(value, (this.counts.get(value) ?? 0) + 1);
  }
}

/** One field of the record being parsed, as text: how records.ts gets whole rows from the parsers. */
export class FieldText {
  value = '';
  missing = 0;
  add(value: string): void {
    this.value = value;
  }
}

export type Builder = NumericBuilder | CategoricalBuilder | FieldText;

export function nonNumeric(label: string, line: number, column: string, value: string): UsageError {
  const shown = value.length > 40 ? `${value.slice(0, 40)}...` : value;
  return new UsageError(
    `${label} line ${line}: column '${column}' has '${shown}', not a number`,
    'fix or remove that row (empty, NA and NaN count as missing values)',
    'non_numeric',
  );
}
