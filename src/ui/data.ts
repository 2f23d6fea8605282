// The UI's read model: each page's data as a plain JSON value (the JSON twin of the page),
// built only from the registry's read API. Nothing here writes.
//
// Read helpers the registry does not offer (kept here, on top of its public API):
// - auditTail: the newest audit events of one model, reading backwards from the newest
//   key instead of every event object (Registry.readAudit reads them all);
// - driftChecks: the recorded drift checks under models/<name>/drift/ (drift-check --record);
// - versionsOf: a model's versions for a long-running reader (records kept in memory);
// - listModelKeys: every model's versions and newest deployment and drift keys from one
//   walk of models/ (listModels plus versionNames per model walk it twice).
import { NotFoundError, UsageError } from '../errors.js';
import { compareVersions, NAME_PATTERN, VERSION_PATTERN } from '../registry/names.js';
import { mapLimit, type Registry } from '../registry/registry.js';
import { statusIn, type StoredRecord } from '../registry/records.js';
import type { AuditEntry, DeploymentRecord, Status, VersionRecord } from '../registry/types.js';

/** The metrics shown first when present (as in `mlops list`). */
const KEY_METRICS = ['accuracy', 'f1_score', 'auc_roc', 'precision', 'recall'];

export function keyMetricNames(metrics: Record<string, number>, limit = 3): string[] {
  return [...KEY_METRICS.filter((m) => m in metrics), ...Object.keys(metrics).filter((m) => !KEY_METRICS.includes(m)).sort()].slice(0, limit);
}

export function checkModelName(name: string): string {
  if (!NAME_PATTERN.test(name)) throw new NotFoundError(`no model named '${name}'`, 'model names are lower-case letters, digits, . _ -', 'model_not_found');
  return name;
}

export function checkVersionName(version: string): string {
  if (version.length > 128 || !VERSION_PATTERN.test(version)) throw new NotFoundError(`no version '${version}'`, 'versions look like v1.2.0', 'version_not_found');
  return version;
}

export interface DriftCheckSummary {
  key: string;
  at: string;
  version?: string;
  drift: boolean | null;
  features: Array<{ name: string; test?: string; pValue: number | null; effect: number | null; drifted: boolean | null; threshold: number | null }>;
  /** Where the run's HTML report is, when the record names one. */
  report?: string;
}

export interface ModelSummary {
  name: string;
  versions: number;
  latest: string | undefined;
  production: { version: string; metrics: Record<string, number>; created_at: string } | null;
  tags: Record<string, string>;
  aliases: Record<string, string>;
  last_change: { at: string; by: string; what: string } | null;
  last_deployment: Pick<DeploymentRecord, 'at' | 'version' | 'outcome' | 'namespace' | 'color'> | null;
  drift: { at: string; drift: boolean | null } | null;
  /** Why the model could not be read (a hand-edited record or state). */
  error?: string;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);


/**
 * What a long-running reader keeps in memory, per registry: audit events and version
 * records are create-only, so an entry read once stays right while its key is listed.
 */
interface Memo {
  audit: Map<string, AuditEntry | null>;
  records: Map<string, Map<string, StoredRecord>>;
}
const memos = new WeakMap<Registry, Memo>();
const memoOf = (registry: Registry): Memo => {
  let memo = memos.get(registry);
  if (!memo) memos.set(registry, (memo = { audit: new Map(), records: new Map() }));
  return memo;
};
const MAX_AUDIT_MEMO = 50_000;

/**
 * All versions of a model with their status, oldest first: Registry.listVersions the first
 * time, then one listing, one state read and Registry.recordIn for versions not seen yet.
 * (listVersions re-checks every record on each call: 2-4 s for 9,000 versions here.)
 */
export async function versionsOf(registry: Registry, name: string): Promise<Versioned[]> {
  if (registry.format === 1) return (await registry.listVersions(name)).map((r) => ({ record: r, status: r.status }));
  const memo = memoOf(registry);
  const known = memo.records.get(name);
  if (!known) {
    const all = await registry.listVersions(name);
    memo.records.set(name, new Map(all.map((r) => [r.version, stored(r)])));
    return all.map((r) => ({ record: r, status: r.status }));
  }
  const [names, { state }] = await Promise.all([registry.versionNames(name), registry.readState(name)]);
  const missing = names.filter((v) => !known.has(v));
  await mapLimit(missing, 32, async (v) => {
    const r = await registry.recordIn(name, v, state);
    if (r) known.set(v, stored(r));
  });
  const listed = new Set(names);
  for (const v of known.keys()) if (!listed.has(v)) known.delete(v);
  // Only the stage is derived per request (statusIn), not a copy of each record with its history.
  return names.filter((v) => known.has(v)).sort(compareVersions).map((v) => ({ record: known.get(v)!, status: statusIn(state, v) }));
}

export interface Versioned {
  record: StoredRecord;
  status: Status;
}

function stored(record: VersionRecord): StoredRecord {
  const { status: _status, history: _history, ...rest } = record;
  return rest;
}

/** The newest `limit` audit events of one model (all models when name is undefined), newest first. */
export async function auditTail(registry: Registry, name: string | undefined, limit = 100, maxReads = 2000): Promise<AuditEntry[]> {
  if (registry.format === 1) return (await registry.readAudit()).filter((e) => !name || e.model === name).reverse().slice(0, limit);
  const memo = memoOf(registry).audit;
  if (memo.size > MAX_AUDIT_MEMO) memo.clear();
  const keys = (await registry.store.list('audit/')).map((o) => o.key).reverse();
  const out: AuditEntry[] = [];
  for (let start = 0; start < Math.min(keys.length, maxReads) && out.length < limit; start += 64) {
    const batch = await mapLimit(keys.slice(start, Math.min(start + 64, maxReads)), 32, async (key) => {
      if (memo.has(key)) return memo.get(key) ?? undefined;
      const got = await registry.store.get(key);
      let entry: AuditEntry | undefined;
      try {
        entry = got ? (JSON.parse(got.body.toString('utf8')) as AuditEntry) : undefined;
      } catch {
        entry = undefined;
      }
      const ok = entry && typeof entry === 'object' && typeof entry.at === 'string' && typeof entry.model === 'string' ? entry : undefined;
      if (got) memo.set(key, ok ?? null);
      return ok;
    });
    for (const e of batch) if (e && (!name || e.model === name) && out.length < limit) out.push(e);
  }
  return out;
}

function parseDriftCheck(key: string, text: string): DriftCheckSummary | undefined {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (!value || typeof value !== 'object') return undefined;
  // The record may be a DriftReport itself or wrap one under `report`.
  const report = (value.report && typeof value.report === 'object' ? value.report : value) as Record<string, unknown>;
  const stamp = /(\d{8}T\d{6,9}Z)/.exec(key.split('/').pop() ?? '')?.[1];
  const fromKey = stamp ? `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}${stamp.length > 16 ? `.${stamp.slice(15, -1)}` : ''}Z` : undefined;
  const at = str(value.at) ?? str(value.checked_at) ?? str(value.recorded_at) ?? fromKey ?? '';
  const features = Array.isArray(report.features)
    ? (report.features as Array<Record<string, unknown>>).filter((f) => f && typeof f.name === 'string').map((f) => {
        const stats = (f.stats && typeof f.stats === 'object' ? f.stats : {}) as Record<string, unknown>;
        const effect = num(f.effect) ?? num(stats.wassersteinNormalized) ?? num(stats.jensenShannon) ?? num(f.statistic);
        const pValue = num(f.adjustedPValue) ?? num(f.pValue);
        // The threshold is an alpha only for the p-value tests (ks, chi2); else it is a distance.
        return { name: f.name as string, test: str(f.test), pValue, effect, drifted: typeof f.drifted === 'boolean' ? f.drifted : null, threshold: pValue !== null ? num(f.threshold) : null };
      })
    : [];
  return { key, at, version: str(value.version) ?? str((value.model as Record<string, unknown> | undefined)?.version), drift: typeof report.drift === 'boolean' ? report.drift : null, features, report: str(value.report_path) ?? str(value.html) };
}

/** Recorded drift checks of a model, oldest first (empty when none was recorded). */
export async function driftChecks(registry: Registry, name: string, limit = 500): Promise<DriftCheckSummary[]> {
  const keys = (await registry.store.list(`models/${checkModelName(name)}/drift/`)).map((o) => o.key).filter((k) => k.endsWith('.json')).slice(-limit);
  const checks = await mapLimit(keys, 32, async (key) => {
    const got = await registry.store.get(key);
    return got ? parseDriftCheck(key, got.body.toString('utf8')) : undefined;
  });
  return checks.filter((c): c is DriftCheckSummary => c !== undefined).sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}

/** What one listing of models/ says about each model: its versions and its newest deployment and drift keys. */
interface ModelKeys {
  versions: string[];
  lastDeployment?: string;
  lastDrift?: string;
}

/**
 * One walk of models/ instead of listModels plus a listing per model (versions, deployments,
 * drift): on 10,000 versions the walks, not the reads, are what the models page costs.
 */
export async function listModelKeys(registry: Registry): Promise<Map<string, ModelKeys>> {
  const out = new Map<string, ModelKeys>();
  for (const { key } of await registry.store.list('models/')) {
    const m = /^models\/([^/]+)\/(versions|deployments|drift)\/([^/]+)$/.exec(key);
    if (!m || !NAME_PATTERN.test(m[1]!)) continue;
    let entry = out.get(m[1]!);
    if (!entry) out.set(m[1]!, (entry = { versions: [] }));
    if (m[2] === 'versions' && m[3]!.endsWith('.yaml')) entry.versions.push(m[3]!.slice(0, -5));
    else if (m[2] === 'deployments' && m[3]!.endsWith('.yaml') && (!entry.lastDeployment || key > entry.lastDeployment)) entry.lastDeployment = key;
    else if (m[2] === 'drift' && m[3]!.endsWith('.json') && (!entry.lastDrift || key > entry.lastDrift)) entry.lastDrift = key;
  }
  for (const [name, entry] of out) if (entry.versions.length === 0) out.delete(name);
  return out;
}

async function readDeployment(registry: Registry, key: string | undefined): Promise<DeploymentRecord | undefined> {
  const got = key ? await registry.store.get(key) : undefined;
  if (!got) return undefined;
  const { parse } = await import('yaml');
  try {
    const value = parse(got.body.toString('utf8')) as DeploymentRecord | null;
    return value && typeof value === 'object' && typeof value.at === 'string' && typeof value.version === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

export async function modelSummary(registry: Registry, name: string, keys: ModelKeys): Promise<ModelSummary> {
  const [{ state }, deployment, driftObject] = await Promise.all([registry.readState(name), readDeployment(registry, keys.lastDeployment), keys.lastDrift ? registry.store.get(keys.lastDrift) : undefined]);
  const drift = keys.lastDrift && driftObject ? parseDriftCheck(keys.lastDrift, driftObject.body.toString('utf8')) : undefined;
  const names = [...keys.versions].sort(compareVersions);
  const latest = names[names.length - 1];
  // recordIn: one state read for the page, records kept in memory by the registry once read.
  const production = state.production ? await registry.recordIn(name, state.production, state) : undefined;
  const registered = latest ? (latest === production?.version ? production : await registry.recordIn(name, latest, state)) : undefined;
  const shown = production ?? registered;
  const change = state.changes[state.changes.length - 1];
  let last_change: ModelSummary['last_change'] = change ? { at: change.at, by: change.by, what: `${change.event.replace('_', ' ')} ${change.version} to ${change.to}` } : null;
  if (registered && (!last_change || registered.created_at > last_change.at)) last_change = { at: registered.created_at, by: registered.registered_by, what: `registered ${registered.version}` };
  return {
    name,
    versions: names.length,
    latest,
    production: production ? { version: production.version, metrics: production.metrics, created_at: production.created_at } : null,
    tags: shown?.tags ?? {},
    aliases: state.aliases,
    last_change,
    last_deployment: deployment ? { at: deployment.at, version: deployment.version, outcome: deployment.outcome, namespace: deployment.namespace, color: deployment.color } : null,
    drift: drift ? { at: drift.at, drift: drift.drift } : null,
  };
}

export interface ModelsFilter {
  q?: string;
  /** key or key=value, matched against the tags of the production (else latest) version. */
  tag?: string;
}

export async function modelsPage(registry: Registry, filter: ModelsFilter) {
  const all = await listModelKeys(registry);
  const names = [...all.keys()].sort().filter((n) => !filter.q || n.includes(filter.q.toLowerCase()));
  // One unreadable model (a hand-edited state) shows as a row with its error, not a failed page.
  let models = await mapLimit(names, 8, async (n): Promise<ModelSummary> => {
    try {
      return await modelSummary(registry, n, all.get(n)!);
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      return { name: n, versions: 0, latest: undefined, production: null, tags: {}, aliases: {}, last_change: null, last_deployment: null, drift: null, error: error.message };
    }
  });
  if (filter.tag) {
    const eq = filter.tag.indexOf('=');
    const [k, v] = eq < 0 ? [filter.tag, undefined] : [filter.tag.slice(0, eq), filter.tag.slice(eq + 1)];
    models = models.filter((m) => k in m.tags && (v === undefined || m.tags[k] === v));
  }
  return { registry: registry.location, filter, models };
}

export const SORT_KEYS = ['version', 'status', 'created', 'by', 'size'] as const;
export type SortKey = (typeof SORT_KEYS)[number] | `metric:${string}`;

/** `versions` come oldest first (versionsOf); the sort is stable, so ties keep version order. */
function sortVersions(versions: Versioned[], sort: SortKey, order: 'asc' | 'desc'): Versioned[] {
  if (sort === 'version') return order === 'desc' ? [...versions].reverse() : versions;
  const key = ({ record: v, status }: Versioned): string | number => {
    if (sort.startsWith('metric:')) return v.metrics[sort.slice(7)] ?? -Infinity;
    if (sort === 'status') return status;
    if (sort === 'created') return v.created_at;
    if (sort === 'by') return v.registered_by;
    if (sort === 'size') return v.artifact.size;
    return '';
  };
  const keyed = versions.map((v, i) => ({ v, k: key(v), i }));
  keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : a.i - b.i));
  const sorted = keyed.map((x) => x.v);
  return order === 'desc' ? sorted.reverse() : sorted;
}

export interface ModelQuery {
  sort?: string;
  order?: string;
  page?: number;
  perPage?: number;
}

export async function modelPage(registry: Registry, name: string, query: ModelQuery = {}) {
  checkModelName(name);
  const [all, { state }, deployments, timeline] = await Promise.all([versionsOf(registry, name), registry.readState(name), registry.deployments(name), auditTail(registry, name, 100)]);
  if (all.length === 0) throw new NotFoundError(`no model named ${name}`, 'see the models at /', 'model_not_found');
  const sort = (query.sort && ((SORT_KEYS as readonly string[]).includes(query.sort) || query.sort.startsWith('metric:')) ? query.sort : 'version') as SortKey;
  const order = query.order === 'asc' ? 'asc' : query.order === 'desc' ? 'desc' : 'desc';
  const perPage = Math.min(Math.max(query.perPage ?? 100, 1), 1000);
  const pages = Math.max(1, Math.ceil(all.length / perPage));
  const page = Math.min(Math.max(query.page ?? 1, 1), pages);
  const sorted = sortVersions(all, sort, order);
  const aliasesOf = (v: string) => Object.entries(state.aliases).filter(([, target]) => target === v).map(([a]) => a);
  const metricNames = [...new Set(all.slice(-200).flatMap((v) => keyMetricNames(v.record.metrics, 4)))].slice(0, 5);
  return {
    name,
    total: all.length,
    production: state.production ?? null,
    aliases: state.aliases,
    metric_names: metricNames,
    sort,
    order,
    page,
    pages,
    per_page: perPage,
    versions: sorted.slice((page - 1) * perPage, page * perPage).map(({ record: v, status }) => ({
      version: v.version,
      status,
      aliases: aliasesOf(v.version),
      metrics: v.metrics,
      created_at: v.created_at,
      registered_by: v.registered_by,
      git_commit: v.source.git_commit ?? null,
      size: v.artifact.size,
      sha256: v.artifact.sha256,
    })),
    timeline,
    deployments: deployments.sort((a, b) => (a.at < b.at ? 1 : -1)).slice(0, 50),
  };
}

export async function versionPage(registry: Registry, name: string, version: string) {
  checkModelName(name);
  checkVersionName(version);
  const record = await registry.tryGet(name, version);
  if (!record) {
    await registry.requireModel(name, { names: true });
    throw new NotFoundError(`${name} has no version ${version}`, `see the versions at /models/${name}`, 'version_not_found');
  }
  const { state } = await registry.readState(name);
  const deployments = (await registry.deployments(name)).filter((d) => d.version === version).sort((a, b) => (a.at < b.at ? 1 : -1));
  const aliases = Object.entries(state.aliases).filter(([, t]) => t === version).map(([a]) => a);
  return { record, aliases, deployments };
}

export const MAX_COMPARE = 5;

export async function comparePage(registry: Registry, name: string, versions: string[]) {
  checkModelName(name);
  const wanted = [...new Set(versions)];
  if (wanted.length < 2 || wanted.length > MAX_COMPARE) throw new UsageError(`compare 2 to ${MAX_COMPARE} versions, not ${wanted.length}`, `pick them on /models/${name} or write ?v=v1.0.0&v=v1.1.0`, 'bad_compare');
  wanted.forEach(checkVersionName);
  const records = await Promise.all(wanted.map(async (v) => {
    const r = await registry.tryGet(name, v);
    if (!r) throw new NotFoundError(`${name} has no version ${v}`, `see the versions at /models/${name}`, 'version_not_found');
    return r;
  }));
  // Creation order, so a chart reads left to right as the model evolved.
  records.sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : compareVersions(a.version, b.version)));
  const metricNames = [...new Set(records.flatMap((r) => Object.keys(r.metrics)))].sort((a, b) => keyMetricNames({ [a]: 0, [b]: 0 }, 2).indexOf(a) - keyMetricNames({ [a]: 0, [b]: 0 }, 2).indexOf(b));
  const base = records[0]!;
  return {
    name,
    versions: records.map((r) => ({ version: r.version, status: r.status, created_at: r.created_at, registered_by: r.registered_by, sha256: r.artifact.sha256 })),
    metrics: metricNames.map((metric) => ({
      metric,
      values: records.map((r) => (metric in r.metrics ? r.metrics[metric]! : null)),
      /** Each version minus the first (oldest) one. */
      differences: records.map((r) => (metric in r.metrics && metric in base.metrics ? r.metrics[metric]! - base.metrics[metric]! : null)),
    })),
  };
}

export async function driftPage(registry: Registry, name: string) {
  checkModelName(name);
  await registry.requireModel(name, { names: true });
  const checks = await driftChecks(registry, name);
  const features = [...new Set(checks.flatMap((c) => c.features.map((f) => f.name)))];
  return {
    name,
    checks,
    features: features.map((feature) => ({
      feature,
      points: checks.map((c) => {
        const f = c.features.find((x) => x.name === feature);
        return { at: c.at, pValue: f?.pValue ?? null, effect: f?.effect ?? null, drifted: f?.drifted ?? null, threshold: f?.threshold ?? null };
      }),
    })),
  };
}

/** The running experiment, when the model's state records one (a later state field); else null. */
export async function experimentsPage(registry: Registry) {
  const names = await registry.listModels();
  const { parse } = await import('yaml');
  // The parsed state keeps only the fields this registry knows, so the raw object is read.
  const experiments = await mapLimit(names, 8, async (name) => {
    const got = await registry.store.get(registry.stateKey(name));
    let experiment: unknown;
    try {
      experiment = got ? (parse(got.body.toString('utf8')) as Record<string, unknown> | null)?.experiment : undefined;
    } catch {
      experiment = undefined;
    }
    return experiment && typeof experiment === 'object' && !Array.isArray(experiment) ? [{ model: name, experiment: experiment as Record<string, unknown> }] : [];
  });
  return { experiments: experiments.flat() };
}
