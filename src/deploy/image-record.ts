// What of the registry goes into an image: the model and its record, nothing that names
// the build machine or a person, and the reference SUMMARY (column statistics, which
// serve uses for out-of-distribution counts) but not the reference ROWS (training data).
// Runs on the registry folder exported into the build context, after the export.
import { readdir, readFile, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { writeFileAtomic } from '../registry/fs.js';

/** A version record as it may travel in an image. Pure. */
export function imageRecord(record: Record<string, unknown>): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(record)) as Record<string, unknown>;
  delete copy.registered_by;
  const source = copy.source as Record<string, unknown> | undefined;
  // The path was on the registering machine; the commit is what identifies the code.
  if (source) copy.source = Object.fromEntries(Object.entries(source).filter(([key]) => key !== 'path'));
  const artifact = copy.artifact as Record<string, unknown> | undefined;
  if (artifact && typeof artifact.file === 'string') artifact.file = basename(artifact.file);
  const reference = copy.reference_data as Record<string, unknown> | undefined;
  if (reference) {
    if (typeof reference.file === 'string') reference.file = basename(reference.file);
    // The rows are not in the image; say so, so nothing tries to read them.
    reference.rows_in_image = false;
  }
  if (Array.isArray(copy.history)) {
    copy.history = copy.history.map((entry: Record<string, unknown>) => Object.fromEntries(Object.entries(entry).filter(([key]) => key !== 'by')));
  }
  return copy;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await filesUnder(path)));
    else files.push(path);
  }
  return files;
}

/**
 * Rewrites every version record of the exported registry with imageRecord, removes
 * every blob that is not a model artifact (the reference rows), and any audit or
 * deployment log the export may have started (they name people).
 */
export async function sanitizeExportedRegistry(registryDir: string): Promise<{ removed: string[] }> {
  const keep = new Set<string>();
  const removed: string[] = [];
  for (const path of await filesUnder(join(registryDir, 'models'))) {
    if (!path.endsWith('.yaml')) continue;
    const text = await readFile(path, 'utf8');
    const header = text.startsWith('#') ? `${text.split('\n')[0]}\n` : '';
    const record = parse(text) as Record<string, unknown> | null;
    if (!record || typeof record !== 'object') continue;
    const artifact = record.artifact as { sha256?: unknown } | undefined;
    if (typeof artifact?.sha256 === 'string') keep.add(artifact.sha256);
    if (!('artifact' in record)) continue;
    await writeFileAtomic(path, header + stringify(imageRecord(record), { lineWidth: 0 }));
  }
  for (const path of await filesUnder(join(registryDir, 'blobs'))) {
    if (keep.has(basename(path))) continue;
    await rm(path, { force: true });
    removed.push(path);
  }
  for (const path of await filesUnder(registryDir)) {
    if (/\.(jsonl|log)$/.test(path)) {
      await rm(path, { force: true });
      removed.push(path);
    }
  }
  return { removed };
}
