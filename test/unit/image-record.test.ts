// What of a version record travels in an image: no machine paths, no user names, no
// reference rows; the reference summary (serve's out-of-range counters) stays.
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { imageRecord, sanitizeExportedRegistry } from '../../src/deploy/image-record.ts';
import { tempDir } from '../support/cli.ts';

const record = {
  name: 'fraud',
  version: 'v1',
  status: 'production',
  registered_by: 'alice',
  artifact: { file: '/home/alice/work/fraud.onnx', size: 10, sha256: 'a'.repeat(64) },
  source: { path: '/home/alice/work/fraud.onnx', git_commit: 'c'.repeat(40) },
  reference_data: { rows: 3, source_rows: 3, sha256: 'b'.repeat(64), size: 5, file: '/home/alice/data/train.csv', columns: [{ name: 'x', min: 0, max: 1, mean: 0.5, std: 0.1 }] },
  history: [{ at: '2026-01-01T00:00:00Z', by: 'alice', event: 'registered', status: 'staging' }],
};

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

describe('the record in an image', () => {
  it('drops people and machine paths, keeps the summary and the commit', () => {
    const cleaned = imageRecord(record);
    const text = JSON.stringify(cleaned);
    expect(text).not.toContain('alice');
    expect(text).not.toContain('/home');
    expect(cleaned.source).toEqual({ git_commit: 'c'.repeat(40) });
    expect(cleaned.artifact).toEqual({ file: 'fraud.onnx', size: 10, sha256: 'a'.repeat(64) });
    expect((cleaned.reference_data as { columns: unknown[]; rows_in_image: boolean }).columns).toHaveLength(1);
    expect((cleaned.reference_data as { rows_in_image: boolean }).rows_in_image).toBe(false);
  });

  it('sanitizes an exported registry folder: records rewritten, the rows blob and logs removed', async () => {
    const versions = join(dir, 'models', 'fraud', 'versions');
    const blobs = join(dir, 'blobs', 'sha256');
    await mkdir(versions, { recursive: true });
    await mkdir(blobs, { recursive: true });
    await writeFile(join(versions, 'v1.yaml'), `# header\n${stringify(record)}`);
    await writeFile(join(blobs, 'a'.repeat(64)), 'model');
    await writeFile(join(blobs, 'b'.repeat(64)), 'rows');
    await writeFile(join(dir, 'audit.jsonl'), '{"by":"alice"}\n');
    await sanitizeExportedRegistry(dir);
    expect(await readdir(blobs)).toEqual(['a'.repeat(64)]);
    expect(await readdir(dir)).not.toContain('audit.jsonl');
    const text = await readFile(join(versions, 'v1.yaml'), 'utf8');
    expect(text.startsWith('# header\n')).toBe(true);
    expect(text).not.toContain('alice');
    expect(parse(text).name).toBe('fraud');
  });
});
