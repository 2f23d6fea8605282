// Drift over time: `drift-check --record` keeps each run's summary in the registry, one JSON
// object per run at models/<name>/drift/<time>-<random>.json (one object per run, so two
// writers never touch the same file and an object store can hold them unchanged; the lead can
// move recordRun/readHistory onto the store's client). `mlops drift history` reads them back.
import { randomBytes } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { validateName } from '../registry/names.js';
import { writeFileAtomic } from '../registry/fs.js';
import type { DriftReport } from './types.js';

export interface HistoryFeature {
  name: string;
  test: string;
  statistic: number;
  pValue: number | null;
  adjustedPValue: number | null;
  /** Wasserstein / reference SD (numbers) or Jensen-Shannon distance (categories). */
  effect: number;
  effectUnit: 'W/SD' | 'JS';
  drifted: boolean;
  /** Share of missing values in the current data, when a missing-share test ran. */
  missingShare?: number;
}

export interface HistoryRecord {
  schemaVersion: 1;
  /** When the check ran (ISO 8601). */
  time: string;
  model: string;
  version: string | null;
  drift: boolean;
  reference: { path: string; rows: number; sampledRows: number };
  current: { path: string; rows: number; sampledRows: number };
  rule: string;
  features: HistoryFeature[];
}

export function historyDir(registryDir: string, model: string): string {
  return join(registryDir, 'models', validateName(model), 'drift');
}

/** The summary of one run, small enough to keep thousands (no histograms). */
export function historyRecord(report: DriftReport, model: string, version: string | null, time: Date): HistoryRecord {
  const dataset = (d: DriftReport['reference']) => ({ path: d.path, rows: d.rows, sampledRows: d.sampledRows });
  return {
    schemaVersion: 1,
    time: time.toISOString(),
    model,
    version,
    drift: report.drift,
    reference: dataset(report.reference),
    current: dataset(report.current),
    rule: report.rule.description,
    features: report.features.map((f) => ({
      name: f.name,
      test: f.test,
      statistic: f.statistic,
      pValue: f.pValue,
      adjustedPValue: f.adjustedPValue,
      effect: f.stats.kind === 'numeric' ? f.stats.wassersteinNormalized : f.stats.jensenShannon,
      effectUnit: f.stats.kind === 'numeric' ? 'W/SD' : 'JS',
      drifted: f.drifted,
      ...(f.missingTest ? { missingShare: f.missingTest.currentShare } : {}),
    })),
  };
}

/** Writes one run's record atomically; returns its path. Names sort by time (ISO basic format). */
export async function recordRun(registryDir: string, record: HistoryRecord): Promise<string> {
  const stamp = record.time.replace(/[-:]/g, '');
  const path = join(historyDir(registryDir, record.model), `${stamp}-${randomBytes(4).toString('hex')}.json`);
  await writeFileAtomic(path, `${JSON.stringify(record, null, 1)}\n`);
  return path;
}

const FILE_PATTERN = /^\d{8}T\d{6}(\.\d+)?Z-[0-9a-f]{8}\.json$/;

function isFiniteOrNull(value: unknown): boolean {
  return value === null || (typeof value === 'number' && Number.isFinite(value));
}

/** Checks a record read from disk field by field (a hand-edited or truncated file is input too). */
function validate(value: unknown, model: string): HistoryRecord | string {
  if (typeof value !== 'object' || value === null) return 'not a JSON object';
  const r = value as Record<string, unknown>;
  if (r.schemaVersion !== 1) return `unknown schemaVersion ${String(r.schemaVersion)}`;
  if (typeof r.time !== 'string' || Number.isNaN(Date.parse(r.time))) return 'no valid time';
  if (r.model !== model) return `it is for model ${String(r.model)}`;
  if (typeof r.drift !== 'boolean' || !Array.isArray(r.features)) return 'no drift verdict or features';
  for (const f of r.features as unknown[]) {
    const feature = f as Record<string, unknown>;
    if (typeof feature !== 'object' || feature === null || typeof feature.name !== 'string') return 'a feature without a name';
    if (!isFiniteOrNull(feature.pValue) || !isFiniteOrNull(feature.adjustedPValue) || typeof feature.effect !== 'number' || !Number.isFinite(feature.effect)) {
      return `feature '${feature.name}' has a bad p-value or effect`;
    }
    if (typeof feature.drifted !== 'boolean') return `feature '${feature.name}' has no verdict`;
  }
  return value as HistoryRecord;
}

export interface History {
  model: string;
  records: HistoryRecord[];
  /** Files passed over, with why: a history stays readable when one file is damaged. */
  skipped: Array<{ file: string; reason: string }>;
}

/** The model's recorded runs since `since` (all when undefined), oldest first. */
export async function readHistory(registryDir: string, model: string, since?: Date): Promise<History> {
  const dir = historyDir(registryDir, model);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { model, records: [], skipped: [] };
    throw new UsageError(`cannot read the drift history in ${dir}: ${(error as Error).message}`, 'check the registry folder and its permissions');
  }
  const records: HistoryRecord[] = [];
  const skipped: History['skipped'] = [];
  for (const name of names.sort()) {
    if (!FILE_PATTERN.test(name)) continue; // temp files of a write in progress, stray files
    const path = join(dir, name);
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(path, 'utf8'));
    } catch (error) {
      skipped.push({ file: path, reason: `not readable JSON: ${(error as Error).message}` });
      continue;
    }
    const record = validate(parsed, model);
    if (typeof record === 'string') {
      skipped.push({ file: path, reason: record });
      continue;
    }
    if (since && Date.parse(record.time) < since.getTime()) continue;
    records.push(record);
  }
  records.sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  return { model, records, skipped };
}
