// The registry (format 2) on an object store: a folder or an S3 bucket, one code path.
//
//   mlops-registry.yaml                        format: 2
//   blobs/sha256/<hex>                         content-addressed artifacts and reference data (create-only)
//   models/<name>/versions/<version>.yaml      one record per version (create-only, immutable)
//   models/<name>/state.yaml                   stage assignments and stage changes (compare-and-swap only)
//   models/<name>/deployments/<time>-<id>.yaml one object per deployment (create-only)
//   audit/<time>-<id>.json                     one object per event, listing in time order (create-only)
//   .cache/                                    (folder only) derived read cache, safe to delete
//
// A version's status is derived from its model's state. Nothing read is trusted: keys
// built from records are validated, blobs are verified against their sha256 before use.
import { createHash, randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { NotFoundError, UsageError } from '../errors.js';
import { isS3Url, openStore } from '../store/open.js';
import { FolderStore } from '../store/folder.js';
import type { ObjectStore } from '../store/types.js';
import { blobKey, Blobs } from './blobs.js';
import { RecordCache } from './cache.js';
import { compareVersions, NAME_PATTERN, validateName } from './names.js';
import { emptyState, formatRecord, formatState, parseRecord, parseState, validateRecord, stateFromLegacy, timeKey, withState, type ModelState, type StoredRecord } from './records.js';
import type { AuditEntry, DeploymentRecord, HistoryEntry, Status, VersionRecord } from './types.js';

export const FORMAT_FILE = 'mlops-registry.yaml';
export const FORMAT_VERSION = 2;
/** Blobs from this size on are streamed from their file (S3: 16 MB multipart parts, 4 at once). */
const BIG_BLOB_BYTES = 16 * 1024 * 1024;

export type RegistryEvent = { type: 'warn' | 'info'; message: string };
export type OnRegistryEvent = (event: RegistryEvent) => void;

export interface OpenOptions {
  env?: Readonly<Record<string, string | undefined>>;
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Local cache folder for a bucket's blobs and records: MLOPS_CACHE_DIR, else XDG_CACHE_HOME/mlops, else ~/.cache/mlops. */
export function localCacheDir(env: Readonly<Record<string, string | undefined>>): string {
  if (env.MLOPS_CACHE_DIR) return env.MLOPS_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'mlops');
}

const formatText = (now: Date) => `# An mlops model registry. Plain files: readable in a folder or with \`aws s3 ls\`.\nformat: ${FORMAT_VERSION}\ncreated_at: ${now.toISOString()}\n`;

export const MIGRATE_HINT = (location: string) => `convert it once with \`mlops registry migrate --registry ${location}\` (back it up first); until then it can be read but not changed`;

export class Registry {
  readonly blobs: Blobs;
  private readonly records: RecordCache;
  private readonly states = new Map<string, { state: ModelState; etag: string | undefined }>();

  private constructor(
    readonly store: ObjectStore,
    /** 2, or 1 for a folder made by an older mlops (read-only until migrated). */
    readonly format: number,
    cacheDir: string,
  ) {
    this.blobs = new Blobs(store, cacheDir);
    this.records = new RecordCache(store instanceof FolderStore ? join(store.root, '.cache') : join(cacheDir, 'records', createHash('sha256').update(store.location).digest('hex').slice(0, 16)));
  }

  /** The folder path or s3:// URL. */
  get location(): string {
    return this.store.location;
  }

  /** Kept for callers that print where the registry is. */
  get dir(): string {
    return this.store.location;
  }

  private static cacheDir(location: string, env: Readonly<Record<string, string | undefined>>): string {
    return isS3Url(location) ? localCacheDir(env) : join(location, '.cache');
  }

  /** Create the registry if needed (an existing bucket for s3://); idempotent. */
  static async init(location: string, now: Date, options: OpenOptions = {}): Promise<{ registry: Registry; created: boolean }> {
    const env = options.env ?? globalThis.process.env;
    const store = await openStore(location, env);
    const existing = await store.get(FORMAT_FILE);
    if (existing) return { registry: await Registry.open(location, options), created: false };
    const created = await store.putIfAbsent(FORMAT_FILE, formatText(now)); // two inits at once: one writes it
    if (store instanceof FolderStore) await writeGitignore(store);
    return { registry: await Registry.open(location, options), created };
  }

  static async open(location: string, options: OpenOptions = {}): Promise<Registry> {
    const env = options.env ?? globalThis.process.env;
    const store = await openStore(location, env);
    const text = (await store.get(FORMAT_FILE))?.body.toString('utf8');
    if (text === undefined) {
      if (!(store instanceof FolderStore)) await (store as import('../store/s3.js').S3Store).requireBucket();
      throw new NotFoundError(`no registry at ${store.location}`, 'run `mlops init` there, or pass --registry DIR|s3://BUCKET/PREFIX (or set MLOPS_REGISTRY)', 'registry_not_found');
    }
    // The format file is ours and simple: no YAML parser needed on the hot start-up path.
    const format = Number(/^format:\s*(\d+)\s*$/m.exec(text)?.[1]);
    if (format !== 1 && format !== FORMAT_VERSION) {
      throw new UsageError(`${store.location}/${FORMAT_FILE} has registry format ${String(format)}; this mlops reads formats 1 and ${FORMAT_VERSION}`, 'upgrade mlops or use a registry made by this version');
    }
    return new Registry(store, format, Registry.cacheDir(location, env));
  }

  /** Writes need format 2: an older folder is never rewritten behind the user's back. */
  requireWritable(): void {
    if (this.format !== FORMAT_VERSION) {
      throw new UsageError(`${this.location} is a format-1 registry (made by an older mlops); this mlops changes only format-2 registries`, MIGRATE_HINT(this.location), 'registry_format');
    }
  }

  versionKey(name: string, version: string): string {
    return `models/${validateName(name)}/versions/${version}.yaml`;
  }

  stateKey(name: string): string {
    return `models/${validateName(name)}/state.yaml`;
  }

  /** Where a version's artifact lives, for people (a local path for a folder, a URL for a bucket). */
  artifactPath(record: VersionRecord): string {
    return `${this.location}/${blobKey(record.artifact.sha256)}`;
  }

  referencePath(record: VersionRecord): string | undefined {
    return record.reference_data ? `${this.location}/${blobKey(record.reference_data.sha256)}` : undefined;
  }

  /** A verified local file of any blob (the folder's own file, or the local cache of a bucket's). */
  blobFile(sha256: string, label = `blob ${sha256.slice(0, 12)}`): Promise<string> {
    return this.blobs.file(sha256, label);
  }

  /** The version's model file, verified against its sha256. */
  artifactFile(record: VersionRecord): Promise<string> {
    return this.blobs.file(record.artifact.sha256, `${record.name} ${record.version}`);
  }

  /** The version's reference data (gzip CSV), verified; undefined when it has none. */
  async referenceFile(record: VersionRecord): Promise<string | undefined> {
    return record.reference_data ? this.blobs.file(record.reference_data.sha256, `${record.name} ${record.version}'s reference data`) : undefined;
  }

  /** Models with at least one version: one delimited listing plus one small listing per model. */
  async listModels(): Promise<string[]> {
    const folders = (await this.store.listFolders('models/')).filter((name) => NAME_PATTERN.test(name));
    const withVersions = await mapLimit(folders, 16, async (name) => ((await this.store.list(`models/${name}/versions/`)).some((o) => o.key.endsWith('.yaml')) ? name : undefined));
    return withVersions.filter((n): n is string => n !== undefined);
  }

  /** The version numbers of a model, from one listing (no record is read). */
  async versionNames(name: string): Promise<string[]> {
    const prefix = `models/${validateName(name)}/versions/`;
    return (await this.store.list(prefix)).map((o) => o.key.slice(prefix.length)).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -5));
  }

  /** The model's state and its etag (one small object; a conditional GET when polled again). */
  async readState(name: string): Promise<{ state: ModelState; etag: string | undefined }> {
    const key = this.stateKey(name);
    if (this.format === 1) {
      const records = await this.readRecords(name);
      return { state: stateFromLegacy(name, records), etag: undefined };
    }
    const known = this.states.get(name);
    const got = await this.store.getIfChanged(key, known?.etag);
    if (got === 'unchanged' && known) return known;
    if (got === undefined || got === 'unchanged') {
      const fresh = { state: emptyState(name), etag: undefined };
      this.states.set(name, fresh);
      return fresh;
    }
    const fresh = { state: await parseState(got.body.toString('utf8'), `${this.location}/${key}`, name), etag: got.etag };
    this.states.set(name, fresh);
    return fresh;
  }

  private async readRecords(name: string): Promise<Array<StoredRecord & { status?: Status; history?: HistoryEntry[] }>> {
    const prefix = `models/${validateName(name)}/versions/`;
    const listed = (await this.store.list(prefix)).filter((o) => o.key.endsWith('.yaml'));
    return this.records.read(this.store, name, listed, async (key, source) => {
      const where = `${this.location}/${key}`;
      const expected = { name, version: key.slice(prefix.length, -5) };
      return 'text' in source ? parseRecord(source.text, where, expected) : validateRecord(source.value, where, expected);
    });
  }

  /** All versions of a model with their status, oldest first (one listing, cached records, one state read). */
  async listVersions(name: string): Promise<VersionRecord[]> {
    const records = await this.readRecords(name);
    if (records.length === 0) return [];
    const { state } = this.format === 1 ? { state: stateFromLegacy(name, records) } : await this.readState(name);
    return records.map((r) => withState(r, state)).sort((a, b) => compareVersions(a.version, b.version));
  }

  async tryGet(name: string, version: string): Promise<VersionRecord | undefined> {
    const stored = await this.tryGetStored(name, version);
    if (!stored) return undefined;
    if (this.format === 1) return withState(stored, stateFromLegacy(name, [stored]));
    return withState(stored, (await this.readState(name)).state);
  }

  /** One version with its stage taken from `state` (for plans made on one read of the state). */
  async recordIn(name: string, version: string, state: ModelState): Promise<VersionRecord | undefined> {
    const stored = await this.tryGetStored(name, version);
    return stored ? withState(stored, state) : undefined;
  }

  /** One record without its status; immutable, so kept in memory once read. */
  private readonly storedCache = new Map<string, StoredRecord>();
  private async tryGetStored(name: string, version: string): Promise<(StoredRecord & { status?: Status; history?: HistoryEntry[] }) | undefined> {
    const key = this.versionKey(name, version);
    const cached = this.storedCache.get(key);
    if (cached && this.format === FORMAT_VERSION) return cached;
    const got = await this.store.get(key);
    if (!got) return undefined;
    const record = await parseRecord(got.body.toString('utf8'), `${this.location}/${key}`, { name, version });
    this.storedCache.set(key, record);
    return record;
  }

  /** A version by number or stage (production, staging = newest staging, latest = newest): the state plus one record. */
  async resolve(name: string, ref = 'production'): Promise<VersionRecord> {
    validateName(name);
    if (ref !== 'production' && ref !== 'staging' && ref !== 'latest') {
      const record = await this.tryGet(name, ref);
      if (record) return record;
      await this.requireModel(name, { names: true });
      throw new NotFoundError(`${name} has no version ${ref}`, `see the versions with \`mlops list ${name}\``, 'version_not_found');
    }
    if (ref === 'production' && this.format === FORMAT_VERSION) {
      const { state } = await this.readState(name);
      if (state.production) {
        const stored = await this.tryGetStored(name, state.production);
        if (stored) return withState(stored, state);
      }
      await this.requireModel(name, { names: true });
      throw new NotFoundError(`${name} has no production version`, `promote one: mlops promote ${name} VERSION --to production`, 'version_not_found');
    }
    const versions = await this.requireModel(name);
    const pick = ref === 'latest' ? versions : versions.filter((v) => v.status === ref);
    const record = pick[pick.length - 1];
    if (!record) {
      throw new NotFoundError(
        `${name} has no ${ref} version`,
        ref === 'production' ? `promote one: mlops promote ${name} VERSION --to production` : `register one: mlops register ${name} MODEL.onnx`,
        'version_not_found',
      );
    }
    return record;
  }

  async requireModel(name: string): Promise<VersionRecord[]>;
  async requireModel(name: string, options: { names: true }): Promise<string[]>;
  async requireModel(name: string, options?: { names: true }): Promise<VersionRecord[] | string[]> {
    const found = options?.names ? await this.versionNames(name) : await this.listVersions(name);
    if (found.length === 0) {
      const models = await this.listModels();
      throw new NotFoundError(
        `no model named ${name} in ${this.location}`,
        models.length ? `known models: ${models.join(', ')}` : 'register one with `mlops register NAME MODEL.onnx`',
        'model_not_found',
      );
    }
    return found;
  }

  /** Store bytes under their sha256 once; concurrent writers of the same bytes are harmless. */
  async putBlob(data: Buffer, sourceFile?: string): Promise<string> {
    this.requireWritable();
    // A big file is streamed from disk (multipart on S3) rather than sent as one buffer.
    if (sourceFile && data.byteLength >= BIG_BLOB_BYTES) {
      const sha256 = sha256Hex(data);
      await this.blobs.putFile(sourceFile, sha256, data.byteLength);
      return sha256;
    }
    return this.blobs.put(data);
  }

  /** Create-only: false when the version exists already (records are immutable). */
  async createVersion(record: StoredRecord): Promise<boolean> {
    this.requireWritable();
    return this.store.putIfAbsent(this.versionKey(record.name, record.version), await formatRecord(record));
  }

  /**
   * Change a model's state by compare-and-swap: `change` gets the current state and
   * returns the next one (or throws); on a conflict it runs again on the new state.
   */
  async updateState<T>(name: string, change: (state: ModelState) => Promise<{ state: ModelState; result: T }>): Promise<T> {
    this.requireWritable();
    for (let attempt = 0; ; attempt++) {
      this.states.delete(name); // always decide on a fresh read
      const { state, etag } = await this.readState(name);
      const next = await change(state);
      const written = await this.store.putIfMatch(this.stateKey(name), await formatState(next.state), etag ?? null);
      if (written !== undefined) {
        this.states.set(name, { state: next.state, etag: written });
        return next.result;
      }
      if (attempt > 200) throw new UsageError(`${name}'s state kept changing under 200 attempts to update it`, 'run the command again');
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(5 * 2 ** attempt, 200)));
    }
  }

  /** One create-only object per event; returns its key. */
  async audit(entry: AuditEntry): Promise<string> {
    this.requireWritable();
    for (;;) {
      const key = timeKey('audit', new Date(entry.at), randomBytes(6).toString('hex'), 'json');
      if (await this.store.putIfAbsent(key, `${JSON.stringify(entry)}\n`)) return key;
    }
  }

  async removeAudit(key: string): Promise<void> {
    await this.store.delete(key);
  }

  /** Audit events in time order. A register event counts only when its version record names it. */
  async readAudit(): Promise<AuditEntry[]> {
    if (this.format === 1) return readJsonLines<AuditEntry>(await this.store.get('audit.jsonl'));
    const keys = (await this.store.list('audit/')).map((o) => o.key);
    const entries = await mapLimit(keys, 32, async (key) => {
      const got = await this.store.get(key);
      try {
        return got ? [JSON.parse(got.body.toString('utf8')) as AuditEntry] : [];
      } catch {
        return [];
      }
    });
    return entries.flat();
  }

  async recordDeployment(deployment: DeploymentRecord): Promise<void> {
    this.requireWritable();
    const { stringify } = await import('yaml');
    const key = timeKey(`models/${validateName(deployment.model)}/deployments`, new Date(deployment.at), randomBytes(6).toString('hex'), 'yaml');
    await this.audit({ at: deployment.at, by: deployment.by, action: 'deploy', model: deployment.model, version: deployment.version, image: deployment.image, color: deployment.color, namespace: deployment.namespace, outcome: deployment.outcome });
    await this.store.putIfAbsent(key, stringify(deployment, { lineWidth: 0 }));
  }

  async deployments(name: string): Promise<DeploymentRecord[]> {
    if (this.format === 1) return readJsonLines<DeploymentRecord>(await this.store.get(`models/${validateName(name)}/deployments.jsonl`));
    const { parse } = await import('yaml');
    const keys = (await this.store.list(`models/${validateName(name)}/deployments/`)).map((o) => o.key);
    const entries = await mapLimit(keys, 32, async (key) => {
      const got = await this.store.get(key);
      try {
        return got ? [parse(got.body.toString('utf8')) as DeploymentRecord] : [];
      } catch {
        return [];
      }
    });
    return entries.flat();
  }

  /** Copy one version (record and verified blobs) into a fresh registry folder, as production: what a deploy image carries. */
  async exportVersion(name: string, version: string, destDir: string, now: Date): Promise<VersionRecord> {
    const record = await this.resolve(name, version);
    const { registry: dest } = await Registry.init(destDir, now);
    const hashes = [record.artifact.sha256, record.reference_data?.sha256].filter((h): h is string => Boolean(h));
    for (const hash of hashes) await dest.store.putFile(blobKey(hash), await this.blobFile(hash, `${name} ${record.version}`));
    const { status: _s, history: _h, ...stored } = record;
    await dest.createVersion(stored);
    await dest.updateState(name, async (state) => ({ state: { ...state, production: record.version }, result: undefined }));
    return { ...record, status: 'production' };
  }
}

async function writeGitignore(store: FolderStore): Promise<void> {
  const { writeFile } = await import('node:fs/promises');
  await writeFile(join(store.root, '.gitignore'), '# derived read cache, writer temp files and locks\n.cache/\n.tmp-*\n.lock-*\n', { flag: 'wx' }).catch(() => undefined);
}

function readJsonLines<T>(got: { body: Buffer } | undefined): T[] {
  return (got?.body.toString('utf8') ?? '')
    .split('\n')
    .filter(Boolean)
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as T];
      } catch {
        return [];
      }
    });
}

/** Map with at most `limit` calls in flight, keeping order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return out;
}
