// Moving registries: `registry migrate` converts a format-1 folder in place (explicitly,
// never behind the user's back), `registry copy` copies a registry or one model between
// a folder and a bucket, both ways, resumably, verifying every blob's sha256 on the way.
import { UsageError } from '../errors.js';
import type { ObjectStore } from '../store/types.js';
import { blobKey } from './blobs.js';
import { formatRecord, formatState, parseRecord, stateFromLegacy, timeKey } from './records.js';
import { FORMAT_FILE, FORMAT_VERSION, Registry, type OpenOptions } from './registry.js';
import { compareVersions } from './names.js';
import type { AuditEntry, DeploymentRecord } from './types.js';

export interface MigrateResult {
  location: string;
  models: number;
  versions: number;
  audit_events: number;
}

/**
 * Format 1 -> 2 in place. Order makes a rerun after a crash safe: each model's state is
 * written (from the records' status and history) before its records lose those fields,
 * and the format file says 2 only at the end.
 */
export async function migrate(location: string, now: Date, options: OpenOptions = {}): Promise<MigrateResult> {
  const registry = await Registry.open(location, options);
  if (registry.format === FORMAT_VERSION) throw new UsageError(`${registry.location} is already a format-${FORMAT_VERSION} registry`, 'nothing to migrate');
  const store = registry.store;
  let versions = 0;
  const models = await registry.listModels();
  for (const name of models) {
    const prefix = `models/${name}/versions/`;
    const listed = (await store.list(prefix)).filter((o) => o.key.endsWith('.yaml'));
    const records = await Promise.all(
      listed.map(async (o) => {
        const got = (await store.get(o.key))!;
        return { key: o.key, etag: got.etag, record: await parseRecord(got.body.toString('utf8'), `${store.location}/${o.key}`, { name, version: o.key.slice(prefix.length, -5) }) };
      }),
    );
    const stateKey = `models/${name}/state.yaml`;
    if (!(await store.get(stateKey))) {
      await store.putIfMatch(stateKey, await formatState(stateFromLegacy(name, records.map((r) => r.record))), null);
    }
    for (const { key, etag, record } of records) {
      if (record.status === undefined && record.history === undefined) continue; // converted by an earlier run
      await store.putIfMatch(key, await formatRecord(record), etag);
      versions++;
    }
    const deployments = await store.get(`models/${name}/deployments.jsonl`);
    for (const [i, line] of (deployments?.body.toString('utf8') ?? '').split('\n').filter(Boolean).entries()) {
      const d = JSON.parse(line) as DeploymentRecord;
      const { stringify } = await import('yaml');
      await store.putIfAbsent(timeKey(`models/${name}/deployments`, new Date(d.at), `m${String(i).padStart(6, '0')}`, 'yaml'), stringify(d, { lineWidth: 0 }));
    }
  }
  const audit = await store.get('audit.jsonl');
  const lines = (audit?.body.toString('utf8') ?? '').split('\n').filter(Boolean);
  for (const [i, line] of lines.entries()) {
    const entry = JSON.parse(line) as AuditEntry;
    await store.putIfAbsent(timeKey('audit', new Date(entry.at), `m${String(i).padStart(6, '0')}`, 'json'), `${line}\n`);
  }
  const format = (await store.get(FORMAT_FILE))!;
  const text = format.body.toString('utf8').replace(/^format:\s*1\s*$/m, `format: ${FORMAT_VERSION}\nmigrated_at: ${now.toISOString()}`);
  await store.putIfMatch(FORMAT_FILE, text, format.etag);
  return { location: store.location, models: models.length, versions, audit_events: lines.length };
}

export interface CopyResult {
  from: string;
  to: string;
  models: string[];
  copied: { blobs: number; versions: number; states: number; audit_events: number; deployments: number };
  skipped: { blobs: number; versions: number; states: number; audit_events: number; deployments: number };
}

export type OnCopyEvent = (event: { type: 'info' | 'warn'; message: string }) => void;

/** Copy SRC into DST (created if needed). Objects already at DST are skipped: a rerun resumes. */
export async function copyRegistry(source: string, destination: string, options: OpenOptions & { model?: string; now: Date; onEvent?: OnCopyEvent }): Promise<CopyResult> {
  const src = await Registry.open(source, options);
  if (src.format !== FORMAT_VERSION) throw new UsageError(`${src.location} is a format-1 registry`, `migrate it first: mlops registry migrate --registry ${src.location}`, 'registry_format');
  const { registry: dst } = await Registry.init(destination, options.now, options);
  dst.requireWritable();
  const zero = () => ({ blobs: 0, versions: 0, states: 0, audit_events: 0, deployments: 0 });
  const result: CopyResult = { from: src.location, to: dst.location, models: [], copied: zero(), skipped: zero() };
  const models = options.model ? [options.model] : await src.listModels();
  if (options.model) await src.requireModel(options.model, { names: true });
  const copyObject = async (key: string, kind: keyof CopyResult['copied'], to: ObjectStore = dst.store) => {
    const got = await src.store.get(key);
    if (!got) return;
    if (await to.putIfAbsent(key, got.body)) result.copied[kind]++;
    else result.skipped[kind]++;
  };
  for (const name of models) {
    result.models.push(name);
    const versions = (await src.listVersions(name)).sort((a, b) => compareVersions(a.version, b.version));
    for (const record of versions) {
      const label = `${name} ${record.version}`;
      for (const sha256 of [record.artifact.sha256, record.reference_data?.sha256].filter((h): h is string => Boolean(h))) {
        const key = blobKey(sha256);
        if (await dst.store.head(key)) {
          result.skipped.blobs++;
          continue;
        }
        // blobFile verifies the sha256 (a bucket's blob is downloaded to the local cache first).
        await dst.store.putFile(key, await src.blobFile(sha256, label));
        result.copied.blobs++;
      }
      await copyObject(src.versionKey(name, record.version), 'versions');
      options.onEvent?.({ type: 'info', message: `copied ${label}` });
    }
    // The state last: DST never names a version it does not hold. An existing DST state is kept.
    await copyObject(src.stateKey(name), 'states');
    for (const { key } of await src.store.list(`models/${name}/deployments/`)) await copyObject(key, 'deployments');
  }
  for (const { key } of await src.store.list('audit/')) {
    if (options.model) {
      const got = await src.store.get(key);
      if (!got || (JSON.parse(got.body.toString('utf8')) as AuditEntry).model !== options.model) continue;
    }
    await copyObject(key, 'audit_events');
  }
  return result;
}

