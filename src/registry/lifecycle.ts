// After registration: aliases (champion, challenger), edited tags and descriptions, and
// deleting versions or whole models. Every change is one compare-and-swap of the
// model's state (models/<name>/state.yaml) plus one audit event; version records stay
// immutable (edited metadata lives in the state and is merged when a version is read).
import { ConflictError, NotFoundError, UsageError } from '../errors.js';
import { normalizeVersion, validateAlias, validateName } from './names.js';
import type { ModelState, VersionMeta } from './records.js';
import type { Registry } from './registry.js';

export interface EditOptions {
  user: string;
  now: () => Date;
}

export interface AliasChange {
  name: string;
  alias: string;
  version?: string;
  /** The version the alias pointed at before, if any. */
  previous?: string;
  audit: string;
}

/** The version a user typed, checked to exist (one HEAD-like read of its record). */
async function existingVersion(registry: Registry, name: string, version: string): Promise<string> {
  const normalized = normalizeVersion(version);
  if (!(await registry.tryGet(name, normalized))) {
    await registry.requireModel(name, { names: true });
    throw new NotFoundError(`${name} has no version ${normalized}`, `see the versions with \`mlops list ${name}\``, 'version_not_found');
  }
  return normalized;
}

/** Point ALIAS at VERSION: one compare-and-swap of the state, then one audit event. */
export async function setAlias(registry: Registry, name: string, alias: string, version: string, options: EditOptions & { expect?: string | null }): Promise<AliasChange> {
  validateName(name);
  validateAlias(alias);
  registry.requireWritable();
  const target = await existingVersion(registry, name, version);
  const at = options.now().toISOString();
  const previous = await registry.updateState(name, async (state) => {
    const before = state.aliases[alias];
    // --if-unset / --expect: refuse when someone else moved it first (a race has one winner).
    if (options.expect !== undefined && (before ?? null) !== options.expect) {
      throw new ConflictError(
        `${name}'s alias ${alias} ${before ? `points at ${before}` : 'is not set'}, not ${options.expect ?? 'unset'} as expected`,
        `someone moved it; look with mlops show ${name}@${alias}, then run again`,
        'alias_moved',
      );
    }
    return { state: { ...state, aliases: { ...state.aliases, [alias]: target } }, result: before };
  });
  const audit = await registry.audit({ at, by: options.user, action: 'alias', model: name, version: target, alias, ...(previous ? { from: previous } : {}) });
  return { name, alias, version: target, ...(previous ? { previous } : {}), audit };
}

export async function removeAlias(registry: Registry, name: string, alias: string, options: EditOptions): Promise<AliasChange> {
  validateName(name);
  validateAlias(alias);
  registry.requireWritable();
  await registry.requireModel(name, { names: true });
  const at = options.now().toISOString();
  const previous = await registry.updateState(name, async (state) => {
    const before = state.aliases[alias];
    if (!before) throw new NotFoundError(`${name} has no alias '${alias}'`, `its aliases: ${Object.keys(state.aliases).join(', ') || 'none'}`, 'alias_not_found');
    const aliases = { ...state.aliases };
    delete aliases[alias];
    return { state: { ...state, aliases }, result: before };
  });
  const audit = await registry.audit({ at, by: options.user, action: 'alias', model: name, version: previous, alias, removed: true });
  return { name, alias, previous, audit };
}

const TAG_KEY = /^[A-Za-z_][\w.-]{0,127}$/;

export interface TagEdit {
  set: Record<string, string>;
  remove: string[];
}

export function parseTagEdit(pairs: readonly string[], remove: readonly string[]): TagEdit {
  const set: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const key = eq > 0 ? pair.slice(0, eq) : '';
    if (!TAG_KEY.test(key)) throw new UsageError(`cannot read the tag '${pair}'`, 'write KEY=VALUE (a key starts with a letter or _; e.g. team=risk), and --rm KEY to remove one');
    set[key] = pair.slice(eq + 1);
  }
  for (const key of remove) if (!TAG_KEY.test(key)) throw new UsageError(`'${key}' is not a tag key`, 'pass the key alone: --rm team');
  if (Object.keys(set).length === 0 && remove.length === 0) throw new UsageError('nothing to change', 'give KEY=VALUE pairs and/or --rm KEY');
  return { set, remove: [...remove] };
}

function editMeta(state: ModelState, version: string, change: (meta: VersionMeta) => VersionMeta, at: string, by: string): ModelState {
  const meta = { ...(state.meta ?? {}) };
  meta[version] = { ...change({ ...(meta[version] ?? { edited_at: at, edited_by: by }) }), edited_at: at, edited_by: by };
  return { ...state, meta };
}

/** Edit a version's tags: the result is the full tag set after the edit. */
export async function tagVersion(registry: Registry, name: string, version: string, edit: TagEdit, options: EditOptions): Promise<{ name: string; version: string; tags: Record<string, string>; audit: string }> {
  validateName(name);
  registry.requireWritable();
  const target = await existingVersion(registry, name, version);
  const at = options.now().toISOString();
  const tags = await registry.updateState(name, async (state) => {
    const record = await registry.recordIn(name, target, state);
    if (!record) throw new NotFoundError(`${name} ${target} was deleted meanwhile`, `see the versions with \`mlops list ${name}\``, 'version_not_found');
    const tags = { ...record.tags, ...edit.set };
    for (const key of edit.remove) delete tags[key];
    return { state: editMeta(state, target, (m) => ({ ...m, tags }), at, options.user), result: tags };
  });
  const audit = await registry.audit({ at, by: options.user, action: 'tag', model: name, version: target, set: edit.set, removed: edit.remove });
  return { name, version: target, tags, audit };
}

/** Describe a version (NAME@VERSION) or the model itself (NAME). */
export async function describe(registry: Registry, name: string, version: string | undefined, text: string, options: EditOptions): Promise<{ name: string; version?: string; description: string; audit: string }> {
  validateName(name);
  registry.requireWritable();
  if (text.length > 10_000) throw new UsageError(`the description is ${text.length} characters long`, 'keep it under 10,000 characters');
  const target = version === undefined ? undefined : await existingVersion(registry, name, version);
  if (!target) await registry.requireModel(name, { names: true });
  const at = options.now().toISOString();
  await registry.updateState(name, async (state) => ({
    state: target ? editMeta(state, target, (m) => ({ ...m, description: text }), at, options.user) : { ...state, description: text },
    result: undefined,
  }));
  const audit = await registry.audit({ at, by: options.user, action: 'describe', model: name, version: target ?? '', description: text });
  return { name, ...(target ? { version: target } : {}), description: text, audit };
}

export interface DeletePlan {
  name: string;
  version?: string;
  /** What the version held and loses: production, staging, alias:NAME. */
  detaches: string[];
  removed: string[];
  audit?: string;
}

/** Production, staging (every non-archived version) and the aliases a version holds. */
function holds(state: ModelState, version: string): string[] {
  const out: string[] = [];
  if (state.production === version) out.push('production');
  else if (!state.archived.includes(version)) out.push('staging');
  for (const [alias, v] of Object.entries(state.aliases)) if (v === version) out.push(`alias:${alias}`);
  return out;
}

/**
 * Delete one version: refused while it is production, staging or holds an alias unless
 * `force`. The state drops every reference first (one CAS), then the audit event, then
 * the record; its blobs stay until `mlops gc`.
 */
export async function deleteVersion(registry: Registry, name: string, version: string, options: EditOptions & { force?: boolean; dryRun?: boolean }): Promise<DeletePlan> {
  validateName(name);
  registry.requireWritable();
  const target = await existingVersion(registry, name, version);
  const at = options.now().toISOString();
  const plan = async (state: ModelState) => {
    const detaches = holds(state, target);
    if (detaches.length && !options.force) {
      throw new ConflictError(
        `${name} ${target} is ${detaches.join(', ')}; refusing to delete it`,
        `archive it first (mlops promote ${name} ${target} --to archived) and move its aliases, or pass --force to detach ${detaches.join(', ')}`,
        'version_in_use',
      );
    }
    return detaches;
  };
  if (options.dryRun) return { name, version: target, detaches: await plan((await registry.readState(name)).state), removed: [] };
  const detaches = await registry.updateState(name, async (state) => {
    const detaches = await plan(state);
    const aliases = Object.fromEntries(Object.entries(state.aliases).filter(([, v]) => v !== target));
    const meta = { ...(state.meta ?? {}) };
    delete meta[target];
    const next: ModelState = { ...state, aliases, meta, archived: state.archived.filter((v) => v !== target), deletions: (state.deletions ?? 0) + 1 };
    if (next.production === target) delete next.production;
    return { state: next, result: detaches };
  });
  const audit = await registry.audit({ at, by: options.user, action: 'delete', model: name, version: target, detached: detaches });
  await registry.deleteRecord(name, target);
  return { name, version: target, detaches, removed: [registry.versionKey(name, target)], audit };
}

/** Delete a whole model (records, state, deployments); needs `force`. Blobs stay until `mlops gc`. */
export async function deleteModel(registry: Registry, name: string, options: EditOptions & { force?: boolean; dryRun?: boolean }): Promise<DeletePlan> {
  validateName(name);
  registry.requireWritable();
  const versions = await registry.requireModel(name, { names: true });
  const { state } = await registry.readState(name);
  const detaches = [...(state.production ? [`production:${state.production}`] : []), ...Object.entries(state.aliases).map(([a, v]) => `alias:${a}:${v}`)];
  const keys = (await registry.store.list(`models/${name}/`)).map((o) => o.key);
  if (!options.force && !options.dryRun) {
    throw new UsageError(`deleting the whole model ${name} (${versions.length} version${versions.length === 1 ? '' : 's'}) needs --force`, `pass --force to delete it, or --dry-run to see what would go; one version: mlops delete ${name}@VERSION`, 'force_required');
  }
  if (options.dryRun) return { name, detaches, removed: keys };
  const at = options.now().toISOString();
  const audit = await registry.audit({ at, by: options.user, action: 'delete', model: name, version: '', versions: versions.length, detached: detaches });
  // Records first (the model disappears from list), the state last.
  const stateKey = registry.stateKey(name);
  for (const key of keys.filter((k) => k !== stateKey)) {
    if (key.includes('/versions/')) await registry.deleteRecord(name, key.slice(key.lastIndexOf('/') + 1, -5));
    else await registry.store.delete(key);
  }
  await registry.store.delete(stateKey);
  return { name, detaches, removed: keys, audit };
}
