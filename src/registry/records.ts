// The one owner of the registry's stored formats (format 2): version records (immutable),
// a model's state (the one mutable object per model), audit events and deployments.
// Everything read is validated before any field becomes part of a key or path.
import { UsageError } from '../errors.js';
import { NAME_PATTERN, VERSION_PATTERN, MAX_VERSION_LENGTH } from './names.js';
import type { HistoryEntry, Status, VersionRecord } from './types.js';

export const SHA256_PATTERN = /^[0-9a-f]{64}$/;

/** The fields a version record stores; status and history are derived from the model's state. */
export type StoredRecord = Omit<VersionRecord, 'status' | 'history'> & { audit_event?: string };

/** One stage change, as kept in the model's state (rollback reads them). */
export interface StageChange {
  at: string;
  by: string;
  event: 'promoted' | 'rolled_back';
  version: string;
  from: Status;
  to: Status;
  note?: string;
}

/**
 * models/<name>/state.yaml: which version is production, which are archived (every
 * other version is staging), and the stage changes rollback needs. Written only by
 * compare-and-swap. `aliases` is reserved for named aliases (champion, challenger).
 */
export interface ModelState {
  format: 2;
  name: string;
  production?: string;
  archived: string[];
  aliases: Record<string, string>;
  changes: StageChange[];
  /** Fields this module does not own (e.g. `experiment`), kept as read so that writers never drop them. */
  extra?: Record<string, unknown>;
}

/** The fields parseState reads itself (the lifecycle branch's included); any other top-level field is kept in `extra` and written back as read. */
const STATE_FIELDS = ['format', 'name', 'production', 'archived', 'aliases', 'changes', 'meta', 'description', 'deletions'];

export const emptyState = (name: string): ModelState => ({ format: 2, name, archived: [], aliases: {}, changes: [] });

const loadYaml = () => import('yaml');

function invalid(where: string, what: string): UsageError {
  return new UsageError(`${where}: ${what}`, 'a record was edited by hand; restore it from a copy of the registry (records are written by mlops commands only)', 'invalid_record');
}

function checkVersion(where: string, field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length > MAX_VERSION_LENGTH || !VERSION_PATTERN.test(value)) throw invalid(where, `${field} '${String(value)}' is not a version`);
  return value;
}

function checkSha(where: string, field: string, value: unknown): string {
  if (typeof value !== 'string' || !SHA256_PATTERN.test(value)) throw invalid(where, `${field} '${String(value)}' is not a sha256`);
  return value;
}

/** File names are for people, but they are checked too: no folders, no '..', no control characters. */
function checkFileName(where: string, field: string, value: unknown): string {
  if (typeof value !== 'string' || value === '' || value.length > 255 || /[/\\\0-\x1f]/.test(value) || value === '.' || value === '..') throw invalid(where, `${field} '${String(value)}' is not a file name`);
  return value;
}

async function parseYaml(text: string, where: string): Promise<Record<string, unknown>> {
  const { parse } = await loadYaml();
  let value: unknown;
  try {
    value = parse(text);
  } catch (error) {
    throw invalid(where, `not valid YAML (${(error as Error).message.split('\n')[0]})`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw invalid(where, 'not a mapping');
  return value as Record<string, unknown>;
}

/** A record as read (format 1 records also carry status and history; format 2 ones do not). */
export function validateRecord(value: Record<string, unknown>, where: string, expected?: { name: string; version: string }): StoredRecord & { status?: Status; history?: HistoryEntry[] } {
  if (typeof value.name !== 'string' || !NAME_PATTERN.test(value.name)) throw invalid(where, `name '${String(value.name)}' is not a model name`);
  const version = checkVersion(where, 'version', value.version);
  if (expected && (value.name !== expected.name || version !== expected.version)) throw invalid(where, `it says ${value.name} ${version} but is stored as ${expected.name} ${expected.version}`);
  const artifact = value.artifact as Record<string, unknown> | undefined;
  if (!artifact || typeof artifact !== 'object') throw invalid(where, 'no artifact');
  checkSha(where, 'artifact.sha256', artifact.sha256);
  checkFileName(where, 'artifact.file', artifact.file);
  const reference = value.reference_data as Record<string, unknown> | undefined;
  if (reference !== undefined) {
    if (!reference || typeof reference !== 'object') throw invalid(where, 'reference_data is not a mapping');
    checkSha(where, 'reference_data.sha256', reference.sha256);
    checkFileName(where, 'reference_data.file', reference.file);
  }
  if (value.audit_event !== undefined && (typeof value.audit_event !== 'string' || !/^audit\/[0-9TZ]+-[0-9a-f]+\.json$/.test(value.audit_event))) throw invalid(where, 'audit_event is not an audit key');
  const record = value as unknown as StoredRecord & { status?: Status; history?: HistoryEntry[] };
  record.metrics ??= {};
  record.tags ??= {};
  record.description ??= '';
  return record;
}

export async function parseRecord(text: string, where: string, expected?: { name: string; version: string }) {
  return validateRecord(await parseYaml(text, where), where, expected);
}

export async function formatRecord(record: StoredRecord): Promise<string> {
  const { stringify } = await loadYaml();
  const { status: _status, history: _history, ...stored } = record as StoredRecord & { status?: unknown; history?: unknown };
  return `# mlops model version record (immutable; its stage lives in ../state.yaml).\n${stringify(stored, { lineWidth: 0 })}`;
}

export async function parseState(text: string, where: string, name: string): Promise<ModelState> {
  const value = await parseYaml(text, where);
  if (value.name !== name) throw invalid(where, `it names model '${String(value.name)}', not ${name}`);
  const state = emptyState(name);
  if (value.production !== undefined && value.production !== null) state.production = checkVersion(where, 'production', value.production);
  if (value.archived !== undefined) {
    if (!Array.isArray(value.archived)) throw invalid(where, 'archived is not a list');
    state.archived = value.archived.map((v) => checkVersion(where, 'archived', v));
  }
  if (value.aliases !== undefined) {
    if (!value.aliases || typeof value.aliases !== 'object') throw invalid(where, 'aliases is not a mapping');
    for (const [alias, v] of Object.entries(value.aliases)) state.aliases[alias] = checkVersion(where, `aliases.${alias}`, v);
  }
  const extra = Object.fromEntries(Object.entries(value).filter(([key]) => !STATE_FIELDS.includes(key)));
  if (Object.keys(extra).length) state.extra = extra;
  if (value.changes !== undefined) {
    if (!Array.isArray(value.changes)) throw invalid(where, 'changes is not a list');
    state.changes = (value.changes as Record<string, unknown>[]).map((c) => {
      checkVersion(where, 'changes.version', c?.version);
      return c as unknown as StageChange;
    });
  }
  return state;
}

export async function formatState(state: ModelState): Promise<string> {
  const { stringify } = await loadYaml();
  const body: Record<string, unknown> = { format: 2, name: state.name };
  if (state.production) body.production = state.production;
  body.archived = state.archived;
  body.aliases = state.aliases;
  body.changes = state.changes;
  for (const [key, value] of Object.entries(state.extra ?? {})) if (!(key in body) && value !== undefined) body[key] = value;
  return `# mlops model state: stage assignments, changed only by compare-and-swap (mlops promote / rollback).\n${stringify(body, { lineWidth: 0 })}`;
}

export function statusIn(state: ModelState, version: string): Status {
  if (state.production === version) return 'production';
  return state.archived.includes(version) ? 'archived' : 'staging';
}

/** A stored record with its stage and history derived from the model's state. */
export function withState(record: StoredRecord, state: ModelState): VersionRecord {
  const history: HistoryEntry[] = [{ at: record.created_at, by: record.registered_by, event: 'registered', status: 'staging' }];
  for (const c of state.changes) if (c.version === record.version) history.push({ at: c.at, by: c.by, event: c.event, status: c.to, from: c.from, ...(c.note ? { note: c.note } : {}) });
  const { audit_event: _audit, ...rest } = record;
  return { ...rest, status: statusIn(state, record.version), history } as VersionRecord;
}

/** Apply stage changes to a state (pure): the new state to write by compare-and-swap. */
export function applyToState(state: ModelState, changes: Array<{ version: string; from: Status; to: Status }>, meta: { at: string; by: string; event: StageChange['event']; note?: string }): ModelState {
  const next: ModelState = { ...state, archived: [...state.archived], changes: [...state.changes] };
  for (const change of changes) {
    if (next.production === change.version) delete next.production;
    next.archived = next.archived.filter((v) => v !== change.version);
    if (change.to === 'production') next.production = change.version;
    if (change.to === 'archived') next.archived.push(change.version);
    next.changes.push({ at: meta.at, by: meta.by, event: meta.event, version: change.version, from: change.from, to: change.to, ...(meta.note ? { note: meta.note } : {}) });
  }
  return next;
}

/** A format-1 model's state, derived from the status and history its records carry. */
export function stateFromLegacy(name: string, records: Array<StoredRecord & { status?: Status; history?: HistoryEntry[] }>): ModelState {
  const state = emptyState(name);
  for (const r of records) {
    if (r.status === 'production') state.production = r.version;
    if (r.status === 'archived') state.archived.push(r.version);
    for (const h of r.history ?? []) {
      if (h.event === 'registered') continue;
      state.changes.push({ at: h.at, by: h.by, event: h.event, version: r.version, from: h.from ?? 'staging', to: h.status, ...(h.note ? { note: h.note } : {}) });
    }
  }
  state.changes.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  return state;
}

/** audit/<UTC time to the ms>-<random>.json: lists in time order, never collides. */
export function timeKey(folder: string, at: Date, random: string, ext: string): string {
  return `${folder}/${at.toISOString().replace(/[-:.]/g, '')}-${random}.${ext}`;
}
