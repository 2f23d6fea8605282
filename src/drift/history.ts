// Drift over time: `drift-check --record` keeps each run's summary in the registry's object
// store (a folder or an S3 bucket), one create-only object per run at
// models/<name>/drift/<time>-<random>.json, so two writers never touch the same object and the
// keys list in time order. `mlops drift history` reads them back from either backend.
import { randomBytes } from 'node:crypto';
import { UsageError, isMlopsError } from '../errors.js';
import { validateName } from '../registry/names.js';
import type { ObjectStore } from '../store/types.js';
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

/** The key prefix of a model's history in the registry store (a folder's models/<name>/drift/). */
export function historyPrefix(model: string): string {
  return `models/${validateName(model)}/drift/`;
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

/**
 * Writes one run's record as a create-only object (atomic on both backends); returns where it
 * is. Keys sort by time (ISO basic format), the random suffix keeps two runs in one ms apart.
 */
export async function recordRun(store: ObjectStore, record: HistoryRecord): Promise<string> {
  const stamp = record.time.replace(/[-:]/g, '');
  const body = `${JSON.stringify(record, null, 1)}\n`;
  for (;;) {
    const key = `${historyPrefix(record.model)}${stamp}-${randomBytes(4).toString('hex')}.json`;
    if (await store.putIfAbsent(key, body)) return `${store.location}/${key}`;
  }
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

/** The time in a record's key (20261204T171900.123Z), in ms; NaN when it has none. */
function keyTime(name: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\.\d+)?Z/.exec(name);
  return m ? Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[7] ?? ''}Z`) : Number.NaN;
}

/** Objects read at once from the store: S3 round trips overlap, a folder does not mind. */
const PARALLEL_READS = 16;

/** The model's recorded runs since `since` (all when undefined), oldest first. */
export async function readHistory(store: ObjectStore, model: string, since?: Date): Promise<History> {
  const prefix = historyPrefix(model);
  let keys: string[];
  try {
    keys = (await store.list(prefix)).map((object) => object.key);
  } catch (error) {
    if (isMlopsError(error)) throw error;
    throw new UsageError(`cannot read the drift history in ${store.location}/${prefix}: ${(error as Error).message}`, 'check the registry folder and its permissions');
  }
  // Names carry the run's time: runs before --since are passed over without reading them.
  const wanted = keys.filter((key) => {
    const name = key.slice(prefix.length);
    if (!FILE_PATTERN.test(name)) return false; // temp files of a write in progress, stray files
    return since === undefined || !(keyTime(name) < since.getTime() - 1);
  });
  const bodies: Array<Buffer | undefined> = new Array(wanted.length);
  for (let next = 0; next < wanted.length; next += PARALLEL_READS) {
    const batch = wanted.slice(next, next + PARALLEL_READS);
    const read = await Promise.all(batch.map((key) => store.get(key)));
    read.forEach((object, i) => (bodies[next + i] = object?.body));
  }
  const records: HistoryRecord[] = [];
  const skipped: History['skipped'] = [];
  wanted.forEach((key, index) => {
    const where = `${store.location}/${key}`;
    const body = bodies[index];
    if (body === undefined) return; // deleted between the listing and the read
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (error) {
      skipped.push({ file: where, reason: `not readable JSON: ${(error as Error).message}` });
      return;
    }
    const record = validate(parsed, model);
    if (typeof record === 'string') {
      skipped.push({ file: where, reason: record });
      return;
    }
    if (since && Date.parse(record.time) < since.getTime()) return;
    records.push(record);
  });
  records.sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  return { model, records, skipped };
}
