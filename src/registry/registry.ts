// The registry folder: plain files a person can read, diff and back up.
//
//   mlops-registry.yaml                        format version
//   audit.jsonl                                append-only log of register / promote / rollback / deploy
//   blobs/sha256/<hex>                         content-addressed artifacts and reference data
//   models/<name>/versions/<version>.yaml      one record per version (status changes in place, atomically)
//   models/<name>/deployments.jsonl            deployments of this model
//   models/<name>/.lock/                       held by a writer (mkdir lock; see lock.ts)
//   .cache/                                    derived read cache, safe to delete (git-ignored)
//
// Writers take the model's lock; every file is written atomically; the version YAML is
// written last, so a register killed midway leaves at most an unreferenced blob.
import { createHash } from 'node:crypto';
import { appendFile, copyFile, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { NotFoundError, UsageError } from '../errors.js';
import { commitFile, isNotFound, readTextIfExists, TEMP_PREFIX, tempPathFor, writeFileAtomic } from './fs.js';
import { withLock } from './lock.js';
import { compareVersions, validateName } from './names.js';
import type { AuditEntry, DeploymentRecord, VersionRecord } from './types.js';

export const FORMAT_FILE = 'mlops-registry.yaml';
export const FORMAT_VERSION = 1;

export type RegistryEvent = { type: 'warn' | 'info'; message: string };
export type OnRegistryEvent = (event: RegistryEvent) => void;

interface CacheEntry {
  ino: number;
  size: number;
  mtimeMs: number;
  record: VersionRecord;
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export class Registry {
  private constructor(readonly dir: string) {}

  /** Create the registry folder if needed; idempotent. */
  static async init(dir: string, now: Date): Promise<{ registry: Registry; created: boolean }> {
    const formatPath = join(dir, FORMAT_FILE);
    const existing = await readTextIfExists(formatPath);
    if (existing !== undefined) return { registry: await Registry.open(dir), created: false };
    await mkdir(join(dir, 'models'), { recursive: true });
    await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
    await writeFileAtomic(join(dir, '.gitignore'), '# derived read cache and writer locks\n.cache/\n**/.lock/\n.tmp-*\n');
    const text = `# An mlops model registry. Plain files: safe to keep in git or on a shared filesystem.\nformat: ${FORMAT_VERSION}\ncreated_at: ${now.toISOString()}\n`;
    try {
      // 'wx': when two inits race, exactly one writes the format file.
      await writeFileAtomicExclusive(formatPath, text);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    return { registry: new Registry(dir), created: true };
  }

  static async open(dir: string): Promise<Registry> {
    const text = await readTextIfExists(join(dir, FORMAT_FILE));
    if (text === undefined) {
      throw new NotFoundError(`no registry at ${dir}`, 'run `mlops init` there, or pass --registry DIR (or set MLOPS_REGISTRY)', 'registry_not_found');
    }
    // The format file is ours and simple: no YAML parser needed on the hot start-up path.
    const format = Number(/^format:\s*(\d+)\s*$/m.exec(text)?.[1]);
    if (format !== FORMAT_VERSION) {
      throw new UsageError(`${join(dir, FORMAT_FILE)} has registry format ${String(format)}; this mlops reads format ${FORMAT_VERSION}`, 'upgrade mlops or use a registry made by this version');
    }
    return new Registry(dir);
  }

  modelDir(name: string): string {
    return join(this.dir, 'models', validateName(name));
  }

  versionsDir(name: string): string {
    return join(this.modelDir(name), 'versions');
  }

  versionPath(name: string, version: string): string {
    return join(this.versionsDir(name), `${version}.yaml`);
  }

  blobPath(sha256: string): string {
    return join(this.dir, 'blobs', 'sha256', sha256);
  }

  artifactPath(record: VersionRecord): string {
    return this.blobPath(record.artifact.sha256);
  }

  referencePath(record: VersionRecord): string | undefined {
    return record.reference_data ? this.blobPath(record.reference_data.sha256) : undefined;
  }

  async lock<T>(name: string, fn: () => Promise<T>, onEvent?: OnRegistryEvent): Promise<T> {
    await mkdir(this.modelDir(name), { recursive: true });
    return withLock(join(this.modelDir(name), '.lock'), fn, { onEvent });
  }

  async listModels(): Promise<string[]> {
    try {
      const entries = await readdir(join(this.dir, 'models'), { withFileTypes: true });
      return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
  }

  /**
   * All versions of a model, oldest first. Parsing YAML costs ~0.75 ms a file (1,000
   * versions: 0.75 s), so parsed records are cached in .cache/, keyed by inode, size and
   * mtime: an atomic rewrite always makes a new inode, so a stale entry cannot match.
   */
  async listVersions(name: string): Promise<VersionRecord[]> {
    const dir = this.versionsDir(name);
    let files: string[];
    try {
      files = (await readdir(dir)).filter((f) => f.endsWith('.yaml') && !f.startsWith(TEMP_PREFIX));
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
    const cachePath = join(this.dir, '.cache', `${name}.versions.json`);
    let cache: Record<string, CacheEntry> = {};
    try {
      cache = JSON.parse(await readFile(cachePath, 'utf8')) as Record<string, CacheEntry>;
    } catch {
      cache = {};
    }
    let changed = false;
    const fresh: Record<string, CacheEntry> = {};
    const records = await Promise.all(
      files.map(async (file) => {
        const path = join(dir, file);
        let info;
        try {
          info = await stat(path);
        } catch (error) {
          if (isNotFound(error)) return undefined;
          throw error;
        }
        const hit = cache[file];
        if (hit && hit.ino === info.ino && hit.size === info.size && hit.mtimeMs === info.mtimeMs) {
          fresh[file] = hit;
          return hit.record;
        }
        const record = await parseRecord(await readFile(path, 'utf8'), path);
        fresh[file] = { ino: info.ino, size: info.size, mtimeMs: info.mtimeMs, record };
        changed = true;
        return record;
      }),
    );
    if (changed || Object.keys(cache).length !== Object.keys(fresh).length) {
      // Best effort: a cache that cannot be written only costs speed.
      await writeFileAtomic(cachePath, JSON.stringify(fresh)).catch(() => undefined);
    }
    return records.filter((r): r is VersionRecord => r !== undefined).sort((a, b) => compareVersions(a.version, b.version));
  }

  async tryGet(name: string, version: string): Promise<VersionRecord | undefined> {
    const path = this.versionPath(name, version);
    const text = await readTextIfExists(path);
    return text === undefined ? undefined : await parseRecord(text, path);
  }

  /** A version by number or stage (production, staging = newest staging, latest = newest). */
  async resolve(name: string, ref = 'production'): Promise<VersionRecord> {
    if (ref !== 'production' && ref !== 'staging' && ref !== 'latest') {
      const record = await this.tryGet(name, ref);
      if (record) return record;
      await this.requireModel(name);
      throw new NotFoundError(`${name} has no version ${ref}`, `see the versions with \`mlops list ${name}\``, 'version_not_found');
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

  async requireModel(name: string): Promise<VersionRecord[]> {
    const versions = await this.listVersions(name);
    if (versions.length === 0) {
      const models = await this.listModels();
      throw new NotFoundError(
        `no model named ${name} in ${this.dir}`,
        models.length ? `known models: ${models.join(', ')}` : 'register one with `mlops register NAME MODEL.onnx`',
        'model_not_found',
      );
    }
    return versions;
  }

  /** Store bytes under their sha256 once; concurrent writers of the same bytes are harmless. */
  async putBlob(data: Uint8Array): Promise<string> {
    const hash = sha256Hex(data);
    const path = this.blobPath(hash);
    try {
      const info = await stat(path);
      if (info.size === data.byteLength) return hash;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    await writeFileAtomic(path, data);
    return hash;
  }

  async writeVersion(record: VersionRecord): Promise<void> {
    await writeFileAtomic(this.versionPath(record.name, record.version), await formatRecord(record));
  }

  async audit(entry: AuditEntry): Promise<void> {
    // One write of one line with O_APPEND: concurrent appenders do not interleave.
    await appendFile(join(this.dir, 'audit.jsonl'), `${JSON.stringify(entry)}\n`);
  }

  async readAudit(): Promise<AuditEntry[]> {
    const text = (await readTextIfExists(join(this.dir, 'audit.jsonl'))) ?? '';
    return text
      .split('\n')
      .filter(Boolean)
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as AuditEntry];
        } catch {
          return [];
        }
      });
  }

  async recordDeployment(deployment: DeploymentRecord): Promise<void> {
    await mkdir(this.modelDir(deployment.model), { recursive: true });
    await appendFile(join(this.modelDir(deployment.model), 'deployments.jsonl'), `${JSON.stringify(deployment)}\n`);
    await this.audit({ at: deployment.at, by: deployment.by, action: 'deploy', model: deployment.model, version: deployment.version, image: deployment.image, color: deployment.color, namespace: deployment.namespace, outcome: deployment.outcome });
  }

  async deployments(name: string): Promise<DeploymentRecord[]> {
    const text = (await readTextIfExists(join(this.modelDir(name), 'deployments.jsonl'))) ?? '';
    return text
      .split('\n')
      .filter(Boolean)
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as DeploymentRecord];
        } catch {
          return [];
        }
      });
  }

  /** Copy one version (record and blobs) into a fresh registry, as production: what a deploy image carries. */
  async exportVersion(name: string, version: string, destDir: string, now: Date): Promise<VersionRecord> {
    const record = await this.resolve(name, version);
    const { registry: dest } = await Registry.init(destDir, now);
    const hashes = [record.artifact.sha256, record.reference_data?.sha256].filter((h): h is string => Boolean(h));
    for (const hash of hashes) {
      const target = dest.blobPath(hash);
      await mkdir(join(destDir, 'blobs', 'sha256'), { recursive: true });
      const temp = tempPathFor(target);
      await copyFile(this.blobPath(hash), temp);
      await commitFile(temp, target);
    }
    const exported: VersionRecord = { ...record, status: 'production' };
    await dest.writeVersion(exported);
    return exported;
  }
}

async function writeFileAtomicExclusive(path: string, text: string): Promise<void> {
  const temp = tempPathFor(path);
  await writeFileAtomic(temp, text);
  const { link, rm } = await import('node:fs/promises');
  try {
    await link(temp, path); // fails with EEXIST instead of replacing
  } finally {
    await rm(temp, { force: true });
  }
}

/** The yaml module loads on first use: a warm `mlops list` never parses YAML. */
const loadYaml = () => import('yaml');

export async function formatRecord(record: VersionRecord): Promise<string> {
  const { stringify } = await loadYaml();
  return `# mlops model version record. Edit with mlops commands, not by hand.\n${stringify(record, { lineWidth: 0 })}`;
}

async function parseRecord(text: string, path: string): Promise<VersionRecord> {
  const { parse } = await loadYaml();
  let value: unknown;
  try {
    value = parse(text);
  } catch (error) {
    throw new UsageError(`${path} is not valid YAML: ${(error as Error).message.split('\n')[0]}`, 'restore it from version control or the audit log');
  }
  const record = value as Partial<VersionRecord> | null;
  if (!record || typeof record !== 'object' || typeof record.name !== 'string' || typeof record.version !== 'string' || !record.artifact) {
    throw new UsageError(`${path} is not a version record`, 'restore it from version control; records are written by `mlops register`');
  }
  record.metrics ??= {};
  record.tags ??= {};
  record.history ??= [];
  return record as VersionRecord;
}

