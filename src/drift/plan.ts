// Column planning: which columns to compare, of which kind, and where each is in each file
// (CSV field, JSON key, or prediction-log feature position); schema errors name the file at fault.
import { UsageError } from '../errors.js';
import type { ColumnKind, ColumnRequest, DataFileInfo, ParseRequest } from './data.js';
import type { DriftCheckOptions } from './options.js';

interface ColumnPlan {
  compared: Array<{ name: string; kind: ColumnKind }>;
  reference: ParseRequest;
  current: ParseRequest;
  /** Columns left out, for the report's notes. */
  notes: string[];
}

function isNamed(info: DataFileInfo): boolean {
  return info.format !== 'prediction-log';
}

export function fileLabel(info: DataFileInfo): string {
  return `${info.role} data ${info.path}`;
}

function listColumns(columns: readonly string[]): string {
  const shown = columns.slice(0, 12).join(', ');
  return columns.length > 12 ? `${shown}, ... (${columns.length} in all)` : shown;
}

export function planColumns(reference: DataFileInfo, current: DataFileInfo, options: DriftCheckOptions): ColumnPlan {
  const { expectedColumns, expectedWidth } = options;
  if (expectedColumns && expectedWidth !== undefined && expectedColumns.length !== expectedWidth) {
    throw new UsageError(`the model lists ${expectedColumns.length} columns but takes ${expectedWidth} inputs`, 'check the model signature');
  }
  const namedFile = [reference, current].find(isNamed);
  // The full, ordered column list: it names the positions of prediction-log features.
  let base: string[];
  let baseSource: string;
  if (expectedColumns) {
    base = [...expectedColumns];
    baseSource = 'the model';
  } else if (namedFile) {
    base = [...namedFile.columns!];
    baseSource = `the ${namedFile.role} data`;
  } else {
    const width = expectedWidth ?? reference.width ?? current.width;
    if (width === undefined) {
      throw new UsageError(
        `${fileLabel(reference)} has no prediction rows in its first lines (only shadow rows?)`,
        'pass a prediction log with live traffic, or reference data as CSV',
        'empty_data',
      );
    }
    base = Array.from({ length: width }, (_, i) => `feature_${i}`);
    baseSource = expectedWidth !== undefined ? 'the model' : `the ${reference.width !== undefined ? 'reference' : 'current'} data`;
  }
  if (expectedWidth !== undefined && !options.features && base.length !== expectedWidth) {
    throw new UsageError(
      `${baseSource} has ${base.length} columns but the model takes ${expectedWidth} inputs`,
      "pass data with exactly the model's input columns, or choose them with --features",
      'width_mismatch',
    );
  }
  for (const info of [reference, current]) {
    if (!isNamed(info) && info.width !== undefined && info.width !== base.length) {
      throw new UsageError(
        `${fileLabel(info)} has ${info.width} features per row, ${baseSource} has ${base.length} columns`,
        'compare a prediction log only with data of the same model input width',
        'width_mismatch',
      );
    }
  }

  let names: string[];
  if (options.features) {
    names = [...new Set(options.features.map((name) => name.trim()))];
    if (names.length === 0 || names.some((name) => name === '')) {
      throw new UsageError('--features is empty', 'name the columns to compare, separated by commas');
    }
    for (const name of names) {
      const available = namedFile && !expectedColumns ? namedFile.columns! : base;
      if (!available.includes(name)) {
        const where = namedFile && !expectedColumns ? fileLabel(namedFile) : baseSource;
        throw new UsageError(`no column '${name}' in ${where}`, `columns: ${listColumns(available)}`, 'missing_column');
      }
    }
  } else {
    names = base;
  }
  for (const name of options.categorical ?? []) {
    if (!names.includes(name)) {
      throw new UsageError(`categorical column '${name}' is not among the compared columns`, `columns: ${listColumns(names)}`, 'missing_column');
    }
  }

  // CSV headers and Parquet schemas are known now; a missing JSON-lines key is found while reading.
  for (const info of [reference, current]) {
    if (info.format !== 'csv' && info.format !== 'parquet') continue;
    for (const name of names) {
      if (!info.columns!.includes(name)) {
        const looksHeaderless = info.columns!.every((column) => /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(column));
        throw new UsageError(
          `${fileLabel(info)} has no column '${name}'`,
          looksHeaderless
            ? 'its first line looks like data: add a header line with the column names'
            : `its columns: ${listColumns(info.columns!)}; compare a subset with --features`,
          'missing_column',
        );
      }
    }
  }

  const forcedCategorical = new Set(options.categorical ?? []);
  const compared = names.map((name) => {
    let kind: ColumnKind = 'numeric';
    if (forcedCategorical.has(name)) kind = 'categorical';
    // A header-only reference tells nothing about kinds: the current data decides, and reading
    // the reference then fails naming it ("has no rows").
    else if (isNamed(reference) && reference.columns!.includes(name) && reference.sniffedRows !== 0) {
      kind = reference.categoricalColumns.has(name) ? 'categorical' : 'numeric';
    } else if (isNamed(current) && current.categoricalColumns.has(name)) {
      kind = 'categorical';
    }
    return { name, kind };
  });

  const request = (info: DataFileInfo): ParseRequest => {
    const columns: ColumnRequest[] = compared.map(({ name, kind }) => ({
      name,
      kind,
      source: info.format === 'csv' ? info.columns!.indexOf(name) : isNamed(info) ? name : base.indexOf(name),
    }));
    if (isNamed(info)) return { info, columns };
    return { info, columns, width: base.length, widthSource: baseSource, model: options.model, since: options.since?.getTime() };
  };
  // Columns a reader might expect to be compared, and are not: say so rather than ignore them.
  const notes: string[] = [];
  if (!options.features) {
    for (const info of [current, reference]) {
      if (!isNamed(info)) continue;
      const extra = info.columns!.filter((name) => !names.includes(name));
      if (extra.length > 0) {
        const other = info === current ? 'reference' : 'current';
        const why = expectedColumns ? "not among the model's inputs" : `not in the ${other} data`;
        notes.push(`${info.role} data has ${extra.length} column${extra.length === 1 ? '' : 's'} ${why}, not compared: ${listColumns(extra)}`);
      }
    }
  }
  return { compared, reference: request(reference), current: request(current), notes };
}
