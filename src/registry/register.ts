// `mlops register`: validate the ONNX file by loading it, store the artifact and the
// reference data content-addressed, then write the version record (the commit point).
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { ConflictError, NotFoundError, UsageError } from '../errors.js';
import { inspectModel } from '../model/onnx.js';
import { featureWidth } from '../model/signature.js';
import { nextPatch, normalizeVersion, validateName } from './names.js';
import { prepareReference, DEFAULT_REFERENCE_ROWS } from './reference.js';
import type { OnRegistryEvent, Registry } from './registry.js';
import type { StoredRecord } from './records.js';
import type { SourceInfo, VersionRecord } from './types.js';

export interface RegisterInput {
  name: string;
  modelPath: string;
  version?: string;
  metrics?: Record<string, number>;
  tags?: Record<string, string>;
  description?: string;
  referenceDataPath?: string;
  referenceMaxRows?: number;
  user: string;
  source: SourceInfo;
  now: () => Date;
  onEvent?: OnRegistryEvent;
}

export async function registerVersion(registry: Registry, input: RegisterInput): Promise<VersionRecord> {
  const name = validateName(input.name);
  const requested = input.version === undefined ? undefined : normalizeVersion(input.version);

  let bytes: Buffer;
  try {
    bytes = await readFile(input.modelPath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new NotFoundError(`model file ${input.modelPath} does not exist`, 'check the path to the .onnx file');
    if (code === 'EISDIR') throw new UsageError(`${input.modelPath} is a folder`, 'pass the .onnx file itself');
    throw error;
  }
  if (bytes.byteLength === 0) throw new UsageError(`${input.modelPath} is empty`, 'pass the .onnx file your training run exported', 'invalid_model');
  input.onEvent?.({ type: 'info', message: `loading ${basename(input.modelPath)} with onnxruntime` });
  const signature = await inspectModel(bytes, input.modelPath);

  const reference = input.referenceDataPath
    ? await prepareReference(input.referenceDataPath, { expectedWidth: featureWidth(signature), maxRows: input.referenceMaxRows ?? DEFAULT_REFERENCE_ROWS })
    : undefined;
  if (reference && reference.sourceRows > reference.rows) {
    input.onEvent?.({ type: 'info', message: `reference data: kept a uniform sample of ${reference.rows} of ${reference.sourceRows} rows` });
  }

  registry.requireWritable();
  // Blobs first: if we die after this, the registry holds an unreferenced blob and no version.
  const artifactHash = await registry.putBlob(bytes, input.modelPath);
  const referenceHash = reference ? await registry.putBlob(reference.gzip) : undefined;

  // Then, per attempt: the audit event, then the record (create-only, the commit point).
  // Killed in between, an audit event names a version whose record does not exist or names
  // another event: no version is ever visible without its audit event.
  for (let attempt = 0; ; attempt++) {
    const existing = await registry.versionNames(name);
    const version = requested ?? nextPatch(existing);
    if (existing.includes(version)) throw versionExists(name, version, existing);
    const at = input.now().toISOString();
    const auditKey = await registry.audit({ at, by: input.user, action: 'register', model: name, version, sha256: artifactHash });
    const record: StoredRecord = {
      name,
      version,
      created_at: at,
      artifact: { file: basename(input.modelPath), size: bytes.byteLength, sha256: artifactHash },
      signature,
      metrics: input.metrics ?? {},
      tags: input.tags ?? {},
      description: input.description ?? '',
      registered_by: input.user,
      source: input.source,
      ...(reference && referenceHash
        ? {
            reference_data: {
              rows: reference.rows,
              source_rows: reference.sourceRows,
              sha256: referenceHash,
              size: reference.gzip.byteLength,
              file: basename(input.referenceDataPath!),
              columns: reference.columns,
            },
          }
        : {}),
      audit_event: auditKey,
    };
    if (await registry.createVersion(record)) {
      const { audit_event: _audit, ...visible } = record;
      return { ...visible, status: 'staging', history: [{ at, by: input.user, event: 'registered', status: 'staging' }] };
    }
    // Another register took this version number: withdraw our event and take the next one.
    await registry.removeAudit(auditKey).catch(() => undefined);
    if (requested) throw versionExists(name, version, await registry.versionNames(name));
    if (attempt >= 500) throw new ConflictError(`could not find a free version of ${name} after 500 attempts`, 'run the command again, or pass --version');
    await new Promise((r) => setTimeout(r, Math.random() * Math.min(5 * 2 ** attempt, 100)));
  }
}

function versionExists(name: string, version: string, existing: string[]): ConflictError {
  return new ConflictError(
    `${name} ${version} is already registered; versions are immutable`,
    `register under a new version (next free: ${nextPatch(existing)}), or leave out --version`,
    'version_exists',
  );
}

