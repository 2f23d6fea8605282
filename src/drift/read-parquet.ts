// Parquet input for drift-check, read with hyparquet (pure JS) plus hyparquet-compressors
// (snappy, gzip, zstd, brotli, lz4) through the ByteSource's ranged reads, one row group and one
// column at a time, so memory holds one column chunk beside the sample.
//
// Chosen by measurement: one file of the bench (1M rows x 20 doubles, snappy, pandas-written,
// 73 MB), read into 20 Float64Arrays on a shared 2-core machine: this reader 3.0 s CPU and
// 279 MB peak RSS including the sorts; DuckDB's node API (@duckdb/node-api 1.5, one thread,
// runAndReadAll + getColumns) 12.8 s CPU and 1,607 MB, and a 70 MB native package per
// platform. hyparquet's time goes mostly to assembling nullable columns (assembleLists).
import { parquetMetadataAsync, parquetRead, type AsyncBuffer, type FileMetaData, type SchemaElement } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { UsageError, messageOf } from '../errors.js';
import { NumericBuilder, type Builder, type RowSampler } from './columns.js';
import { COMMA, describe, type DataFileInfo, type ParseRequest } from './data.js';
import { openSource, type ByteSource } from './source.js';

/** 'PAR1' at both ends of the file. */
export function isParquetMagic(head: Buffer): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x41 && head[2] === 0x52 && head[3] === 0x31;
}

/** hyparquet's random access over a ByteSource: local reads, or ranged GETs on s3://. */
export function asyncBuffer(source: ByteSource, size: number): AsyncBuffer {
  return {
    byteLength: size,
    async slice(start: number, end?: number): Promise<ArrayBuffer> {
      const bytes = await source.read(start, (end ?? size) - start);
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
    },
  };
}

const STRING_TYPES = new Set(['STRING', 'ENUM', 'JSON', 'UUID', 'BSON']);

/** Numbers (ints, floats, decimals, dates and times as numbers) or categories (strings, booleans). */
function kindOf(element: SchemaElement): 'numeric' | 'categorical' | 'nested' {
  if (element.num_children !== undefined && element.num_children > 0) return 'nested';
  if (element.type === 'BOOLEAN') return 'categorical';
  if (element.type === 'BYTE_ARRAY' || element.type === 'FIXED_LEN_BYTE_ARRAY') {
    if (element.logical_type?.type === 'DECIMAL' || element.converted_type === 'DECIMAL') return 'numeric';
    return 'categorical';
  }
  if (element.logical_type && STRING_TYPES.has(element.logical_type.type)) return 'categorical';
  return 'numeric';
}

/** The top-level columns of the schema, with their kinds. */
function topColumns(metadata: FileMetaData): Array<{ name: string; kind: ReturnType<typeof kindOf> }> {
  const schema = metadata.schema;
  const out: Array<{ name: string; kind: ReturnType<typeof kindOf> }> = [];
  let i = 1;
  const skip = (index: number): number => {
    // Index just past the subtree at `index`.
    let next = index + 1;
    for (let c = 0; c < (schema[index]!.num_children ?? 0); c++) next = skip(next);
    return next;
  };
  while (i < schema.length) {
    const element = schema[i]!;
    out.push({ name: element.name, kind: kindOf(element) });
    i = skip(i);
  }
  return out;
}

function badParquet(role: string, path: string, error: unknown): UsageError {
  return new UsageError(`${describe(role, path)} is not readable Parquet: ${messageOf(error)}`, 'the file starts like Parquet but is corrupt or truncated; write it again', 'bad_parquet');
}

export async function readMetadata(source: ByteSource, size: number): Promise<FileMetaData> {
  try {
    return await parquetMetadataAsync(asyncBuffer(source, size));
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw badParquet(source.role, source.location, error);
  }
}

export async function sniffParquet(source: ByteSource, size: number): Promise<DataFileInfo> {
  const metadata = await readMetadata(source, size);
  const columns = topColumns(metadata);
  return {
    path: source.location,
    role: source.role,
    flag: source.flag,
    format: 'parquet',
    gzip: false,
    size,
    columns: columns.map((c) => c.name),
    categoricalColumns: new Set(columns.filter((c) => c.kind === 'categorical').map((c) => c.name)),
    nestedColumns: columns.filter((c) => c.kind === 'nested').map((c) => c.name),
    delimiter: COMMA,
    sniffedRows: Number(metadata.num_rows),
    estimatedRows: Number(metadata.num_rows),
  };
}

function storeValue(builder: Builder, value: unknown, label: string, column: string, row: number): void {
  if (value === null || value === undefined) return builder.addMissing();
  if (builder instanceof NumericBuilder) {
    let number: number;
    if (typeof value === 'number') number = value;
    else if (typeof value === 'bigint') number = Number(value);
    else if (value instanceof Date) number = value.getTime();
    else if (typeof value === 'boolean') number = value ? 1 : 0;
    else {
      throw new UsageError(`${label} row ${row + 1}: column '${column}' has ${String(value).slice(0, 40)}, not a number`, 'compare it as a category with --categorical', 'non_numeric');
    }
    if (number !== number) builder.addMissing();
    else builder.push(number);
    return;
  }
  const text = typeof value === 'string' ? value : value instanceof Uint8Array ? Buffer.from(value).toString('hex') : typeof value === 'object' ? JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v)) : String(value);
  if (text === '') builder.addMissing();
  else builder.add(text);
}

/** Reads the requested columns into the builders; returns the number of rows. */
export async function readParquet(request: ParseRequest, builders: Builder[], sampler: RowSampler): Promise<number> {
  const { info, columns: requests } = request;
  const label = describe(info.role, info.path);
  const source = openSource(info.path, info.role, info.flag, request.env);
  const file = asyncBuffer(source, info.size);
  const metadata = await readMetadata(source, info.size);
  const nested = new Set(info.nestedColumns ?? []);
  for (const request of requests) {
    if (nested.has(request.name)) {
      throw new UsageError(`${label}: column '${request.name}' is nested (a list, map or struct)`, 'compare flat columns only; leave it out with --features', 'unsupported_column');
    }
  }
  let groupStart = 0;
  for (const group of metadata.row_groups) {
    const groupRows = Number(group.num_rows);
    // Where each row of this group goes in the sample (-1: not kept); the same for every column.
    const slots = new Int32Array(groupRows);
    for (let i = 0; i < groupRows; i++) slots[i] = sampler.nextRow();
    for (let slot = 0; slot < requests.length; slot++) {
      const name = requests[slot]!.name;
      const builder = builders[slot]!;
      try {
        await parquetRead({
          file,
          metadata,
          columns: [name],
          rowStart: groupStart,
          rowEnd: groupStart + groupRows,
          compressors,
          onChunk: ({ columnData, rowStart }) => {
            const from = Math.max(0, groupStart - rowStart);
            const to = Math.min(columnData.length, groupStart + groupRows - rowStart);
            const offset = rowStart - groupStart;
            const numeric = builder instanceof NumericBuilder ? builder : undefined;
            for (let i = from; i < to; i++) {
              const value: unknown = columnData[i];
              sampler.slot = slots[offset + i]!;
              // The common case first: a number (float, double, int32), kept or not.
              if (numeric !== undefined && typeof value === 'number') {
                if (value === value) numeric.push(value);
                else numeric.addMissing();
                continue;
              }
              if (sampler.slot < 0 && !(value === null || value === undefined)) continue;
              storeValue(builder, value, label, name, rowStart + i);
            }
          },
        });
      } catch (error) {
        if (error instanceof UsageError) throw error;
        throw badParquet(info.role, info.path, error);
      }
    }
    groupStart += groupRows;
  }
  return groupStart;
}
