// Parquet rows for predict: the column names, then each row's values as text, one row group at a
// time through the drift Parquet reader's random access (local reads or ranged GETs on s3://),
// so memory holds one row group, not the file.
import { parquetRead } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { UsageError, messageOf } from '../errors.js';
import { describe, type DataFileInfo } from '../drift/data.js';
import { asyncBuffer, readMetadata } from '../drift/read-parquet.js';
import { openSource, type SourceEnv } from '../drift/source.js';

/** Row numbers count from 2, as if the column names were line 1 (the CSV convention). */
export async function* readParquetRows(info: DataFileInfo, env: SourceEnv | undefined): AsyncGenerator<{ line: number; fields: string[] }> {
  const source = openSource(info.path, info.role, info.flag, env);
  const metadata = await readMetadata(source, info.size);
  const file = asyncBuffer(source, info.size);
  const columns = info.columns ?? [];
  yield { line: 1, fields: [...columns] };
  let start = 0;
  for (const group of metadata.row_groups) {
    const end = start + Number(group.num_rows);
    let rows: unknown[][] = [];
    try {
      await parquetRead({ file, metadata, columns, rowStart: start, rowEnd: end, compressors, onComplete: (done: unknown[][]) => (rows = done) });
    } catch (error) {
      throw new UsageError(`${describe(info.role, info.path)} is not readable Parquet: ${messageOf(error)}`, 'the file starts like Parquet but is corrupt or truncated; write it again', 'bad_parquet');
    }
    for (let i = 0; i < rows.length; i++) {
      yield { line: start + i + 2, fields: rows[i]!.map((value) => (value === null || value === undefined ? '' : String(value))) };
    }
    start = end;
  }
}
