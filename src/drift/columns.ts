// Column builders: numbers into a Float64Array, categories as interned ids, no object per row;
// and the row sampler they share, which keeps memory bounded at any file size.
import { UsageError } from '../errors.js';
import { seededRandom } from '../random.js';

/**
 * Decides, row by row, where the row goes in a uniform sample of at most `cap` rows (reservoir
 * sampling, Li's Algorithm L: random numbers are drawn only for the rows kept, so a 50M-row
 * file costs a few thousand draws, not 50M). Below the cap every row is kept in order, which
 * is the exact path. Seeded: the same file gives the same sample on every run.
 */
export class RowSampler {
  /** Rows seen so far. */
  rows = 0;
  /** Where the current row goes in the sample, or -1 when it is not kept. */
  slot = -1;
  private readonly random: () => number;
  private w = 0;
  private nextKept = 0;

  constructor(readonly cap: number, seed = 0x5eed) {
    this.random = seededRandom(seed);
    if (Number.isFinite(cap)) {
      this.w = Math.exp(Math.log(this.draw()) / cap);
      this.nextKept = cap + Math.floor(Math.log(this.draw()) / Math.log(1 - this.w));
    }
  }

  private draw(): number {
    // (0, 1]: log(0) would be -Infinity.
    return 1 - this.random();
  }

  /** Call once at the start of every data row; sets `slot`. */
  nextRow(): number {
    const index = this.rows++;
    if (index < this.cap) return (this.slot = index);
    if (index !== this.nextKept) return (this.slot = -1);
    this.slot = Math.floor(this.random() * this.cap);
    this.w *= Math.exp(Math.log(this.draw()) / this.cap);
    this.nextKept += Math.floor(Math.log(this.draw()) / Math.log(1 - this.w)) + 1;
    return this.slot;
  }

  /** Rows in the sample. */
  get kept(): number {
    return Math.min(this.rows, this.cap);
  }

  get sampled(): boolean {
    return this.rows > this.cap;
  }
}

/** Numbers of one column, one per sampled row; a missing value is NaN until compact(). */
export class NumericBuilder {
  values: Float64Array;
  /** Missing values in all rows read (not only the sample). */
  missing = 0;
  /** NaNs written into the sample; none means compact() has nothing to remove. */
  private holes = 0;
  constructor(
    private readonly sampler: RowSampler,
    capacity: number,
  ) {
    this.values = new Float64Array(Math.max(16, Math.min(capacity, sampler.cap)));
  }
  push(value: number): void {
    const slot = this.sampler.slot;
    if (slot < 0) return;
    if (slot >= this.values.length) this.grow();
    this.values[slot] = value;
  }
  addMissing(): void {
    this.missing++;
    const slot = this.sampler.slot;
    if (slot < 0) return;
    if (slot >= this.values.length) this.grow();
    this.values[slot] = Number.NaN;
    this.holes++;
  }
  private grow(): void {
    const grown = new Float64Array(Math.min(this.sampler.cap, Math.ceil(this.values.length * 1.5) + 16));
    grown.set(this.values);
    this.values = grown;
  }
  /** The sampled values without the missing ones (NaN), in place. */
  compact(): Float64Array {
    const values = this.values;
    const kept = this.sampler.kept;
    // Measured: the pass costs ~10 ms per million values; most columns have no missing value.
    if (this.holes === 0) return values.subarray(0, kept);
    let length = 0;
    for (let i = 0; i < kept; i++) {
      const value = values[i]!;
      if (value === value) values[length++] = value;
    }
    return values.subarray(0, length);
  }
}

/** Categories of one column: each sampled row's category id (-1 missing), counted at the end. */
export class CategoricalBuilder {
  private readonly ids = new Map<string, number>();
  private readonly names: string[] = [];
  private rowIds: Int32Array;
  missing = 0;
  constructor(
    private readonly sampler: RowSampler,
    capacity = 1024,
  ) {
    this.rowIds = new Int32Array(Math.max(16, Math.min(capacity, sampler.cap)));
  }
  add(value: string): void {
    const slot = this.sampler.slot;
    if (slot < 0) return;
    let id = this.ids.get(value);
    if (id === undefined) {
      id = this.names.length;
      this.ids.set(value, id);
      this.names.push(value);
    }
    this.set(slot, id);
  }
  addMissing(): void {
    this.missing++;
    const slot = this.sampler.slot;
    if (slot >= 0) this.set(slot, -1);
  }
  private set(slot: number, id: number): void {
    if (slot >= this.rowIds.length) {
      const grown = new Int32Array(Math.min(this.sampler.cap, Math.ceil(this.rowIds.length * 1.5) + 16));
      grown.set(this.rowIds);
      this.rowIds = grown;
    }
    this.rowIds[slot] = id;
  }
  /** [category, count] over the sample, in first-seen order. */
  counts(): Array<[string, number]> {
    const tally = new Float64Array(this.names.length);
    const kept = this.sampler.kept;
    for (let i = 0; i < kept; i++) {
      const id = this.rowIds[i]!;
      if (id >= 0) tally[id]!++;
    }
    const out: Array<[string, number]> = [];
    this.names.forEach((name, id) => {
      if (tally[id]! > 0) out.push([name, tally[id]!]);
    });
    return out;
  }
}

/** One field of the record being parsed, as text: how records.ts gets whole rows from the parsers. */
export class FieldText {
  value = '';
  missing = 0;
  add(value: string): void {
    this.value = value;
  }
  addMissing(): void {
    this.value = '';
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
