// Which file column feeds which model input: by name when the file has a header and the model
// recorded names at registration (its reference data header), by position otherwise.
import { UsageError } from '../errors.js';
import { parseNumberText } from '../drift/numbers.js';

export interface ColumnMapping {
  /** For each model feature, the index of the file field that holds it. */
  fieldOf: Int32Array;
  /** 'names' when mapped by header names, 'position' otherwise. */
  by: 'names' | 'position';
  /** The first record is data (a CSV without a header line), not names. */
  headerIsData: boolean;
}

/** A first CSV line of numbers only is data, not a header. */
export function looksLikeData(fields: readonly string[]): boolean {
  return fields.length > 0 && fields.every((field) => field.trim() !== '' && !Number.isNaN(parseNumberText(field)));
}

/**
 * Maps the file's columns onto the model's features. `recorded` are the names stored at
 * registration (undefined: the model knows none, so the file is read by position).
 * A missing or unknown column is exit 2 naming it.
 */
export function mapColumns(header: readonly string[], recorded: readonly string[] | undefined, width: number, label: string, format: 'csv' | 'jsonl' | 'parquet'): ColumnMapping {
  const headerIsData = format === 'csv' && looksLikeData(header);
  if (headerIsData || recorded === undefined) {
    if (header.length !== width) {
      throw new UsageError(
        `${label} has ${header.length} columns; the model takes ${width}${recorded === undefined ? ' (it recorded no column names at registration, so columns are taken by position)' : ''}`,
        headerIsData ? `pass ${width} values per row, in the model's order` : `pass ${width} columns in the model's order, or register the model with --reference-data to map columns by name`,
        'bad_width',
      );
    }
    return { fieldOf: Int32Array.from({ length: width }, (_, i) => i), by: 'position', headerIsData };
  }
  const index = new Map<string, number>();
  header.forEach((name, i) => index.set(name.trim(), i));
  const missing = recorded.filter((name) => !index.has(name));
  if (missing.length > 0) {
    throw new UsageError(`${label} has no column '${missing[0]}'${missing.length > 1 ? ` (nor ${missing.slice(1, 6).map((m) => `'${m}'`).join(', ')}${missing.length > 6 ? ', ...' : ''})` : ''}`, `the model takes ${recorded.join(', ')}`, 'missing_column');
  }
  const known = new Set(recorded);
  const unknown = header.filter((name) => !known.has(name.trim()));
  if (unknown.length > 0) {
    throw new UsageError(`${label} has column '${unknown[0]}', which the model does not take${unknown.length > 1 ? ` (nor ${unknown.slice(1, 6).map((m) => `'${m}'`).join(', ')})` : ''}`, `drop it; the model takes ${recorded.join(', ')}`, 'unknown_column');
  }
  return { fieldOf: Int32Array.from(recorded, (name) => index.get(name)!), by: 'names', headerIsData: false };
}
