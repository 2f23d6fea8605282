// A model's live experiment (A/B variants and an optional sampled shadow), kept in the
// model's state object under `experiment:` so that every replica following the registry
// reads the same one. Each change is one compare-and-swap of the state plus one audit event.
import { ConflictError, NotFoundError, UsageError } from '../errors.js';
import { normalizeVersion, validateName, VERSION_PATTERN } from './names.js';
import type { ModelState } from './records.js';
import type { Registry } from './registry.js';

export interface ExperimentVariant {
  /** The variant's name in logs and metrics: the version it serves. */
  name: string;
  /** What the user named: a version, a stage, or @alias. */
  ref: string;
  version: string;
  weight: number;
}

export interface ExperimentShadow {
  ref: string;
  version: string;
  /** Share of requests copied to the shadow, sampled by request id. */
  fraction: number;
}

export interface LiveExperiment {
  /** The experiment name: the sticky hash key (SHA-256 of "<name>:<user id>"). */
  name: string;
  variants: ExperimentVariant[];
  shadow?: ExperimentShadow;
  /** The request field that names the user (body field or X-User-Id); recorded for readers. */
  sticky?: string;
  started_at: string;
  started_by: string;
  updated_at: string;
}

export interface VariantSpec {
  ref: string;
  weight: number;
}

export interface ExperimentChange {
  variants?: VariantSpec[];
  /** A ref to shadow, or null to remove the shadow. */
  shadow?: string | null;
  shadowFraction?: number;
  sticky?: string;
  /** start only: the experiment's name (default: the model's); a new name reshuffles users and keeps its log rows apart. */
  experimentName?: string;
}

export interface ExperimentMeta {
  now: () => Date;
  user: string;
}

/** A request body field name: letters, digits, _ . - (no __proto__). */
const STICKY_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;

function checkSticky(field: string | undefined): void {
  if (field !== undefined && (!STICKY_PATTERN.test(field) || field === '__proto__'))
    throw bad(`--sticky '${field.slice(0, 100)}' is not a field name`, 'name the body field that carries the user id, e.g. --sticky user_id');
}

const bad = (message: string, hint: string) => new UsageError(message, hint, 'invalid_experiment');

/** `v1.0.0=90` → { ref, weight }. */
export function parseVariantFlag(text: string): VariantSpec {
  const at = text.lastIndexOf('=');
  if (at <= 0) throw bad(`--variant ${text}: expected VERSION=WEIGHT`, 'e.g. --variant v1.0.0=90 --variant v1.1.0=10');
  const raw = text.slice(at + 1).trim();
  const weight = raw === '' ? NaN : Number(raw);
  if (!Number.isFinite(weight) || weight < 0 || weight > 1_000_000) throw bad(`--variant ${text}: the weight must be a number from 0 to 1000000`, 'e.g. --variant v1.1.0=10');
  return { ref: text.slice(0, at).trim(), weight };
}

/** The experiment in a state, validated (a hand-edited state is input too). */
export function experimentOf(state: ModelState): LiveExperiment | undefined {
  const value = state.extra?.experiment;
  if (value === undefined || value === null) return undefined;
  const where = `${state.name}'s state`;
  const fail = (what: string) =>
    new UsageError(`${where}: experiment ${what}`, 'the state was edited by hand; run `mlops experiment stop NAME` and start it again', 'invalid_record');
  if (typeof value !== 'object' || Array.isArray(value)) throw fail('is not a mapping');
  const e = value as Record<string, unknown>;
  if (typeof e.name !== 'string' || e.name === '') throw fail('has no name');
  if (!Array.isArray(e.variants) || e.variants.length === 0) throw fail('has no variants');
  const variants = e.variants.map((v: Record<string, unknown>) => {
    if (!v || typeof v.version !== 'string' || !VERSION_PATTERN.test(v.version)) throw fail(`variant version '${String(v?.version)}' is not a version`);
    if (typeof v.weight !== 'number' || !(v.weight >= 0)) throw fail(`variant ${v.version} has no weight`);
    return { name: typeof v.name === 'string' ? v.name : v.version, ref: typeof v.ref === 'string' ? v.ref : v.version, version: v.version, weight: v.weight };
  });
  if (!variants.some((v) => v.weight > 0)) throw fail('has no variant with a weight above 0');
  let shadow: ExperimentShadow | undefined;
  if (e.shadow !== undefined && e.shadow !== null) {
    const s = e.shadow as Record<string, unknown>;
    if (typeof s.version !== 'string' || !VERSION_PATTERN.test(s.version)) throw fail('shadow has no version');
    if (typeof s.fraction !== 'number' || !(s.fraction > 0 && s.fraction <= 1)) throw fail('shadow fraction is not in (0, 1]');
    shadow = { ref: typeof s.ref === 'string' ? s.ref : s.version, version: s.version, fraction: s.fraction };
  }
  return {
    name: e.name,
    variants,
    ...(shadow ? { shadow } : {}),
    ...(typeof e.sticky === 'string' && STICKY_PATTERN.test(e.sticky) && e.sticky !== '__proto__' ? { sticky: e.sticky } : {}),
    started_at: String(e.started_at ?? ''),
    started_by: String(e.started_by ?? ''),
    updated_at: String(e.updated_at ?? ''),
  };
}

export function withExperiment(state: ModelState, experiment: LiveExperiment | undefined): ModelState {
  const extra = { ...(state.extra ?? {}) };
  if (experiment) extra.experiment = experiment;
  else delete extra.experiment;
  return { ...state, extra };
}

/** A version, a stage (production, staging, latest) or @alias, to a version number. */
async function resolveRef(registry: Registry, name: string, ref: string, state: ModelState): Promise<string> {
  if (ref.startsWith('@')) {
    const version = state.aliases[ref.slice(1)];
    if (!version)
      throw new NotFoundError(
        `${name} has no alias ${ref}`,
        Object.keys(state.aliases).length
          ? `aliases: ${Object.keys(state.aliases)
              .map((a) => `@${a}`)
              .join(', ')}`
          : 'name a version instead, e.g. v1.1.0',
        'alias_not_found',
      );
    return version;
  }
  if (ref === 'production' && state.production) return state.production;
  return (await registry.resolve(name, ref === 'production' || ref === 'staging' || ref === 'latest' ? ref : normalizeVersion(ref))).version;
}

function checkFraction(fraction: number | undefined): number {
  const f = fraction ?? 0.1;
  if (!(f > 0 && f <= 1)) throw bad(`--shadow-fraction ${fraction} must be above 0 and at most 1`, 'e.g. --shadow-fraction 0.1');
  return f;
}

async function variantsFrom(registry: Registry, name: string, specs: VariantSpec[], state: ModelState, previous?: ExperimentVariant[]): Promise<ExperimentVariant[]> {
  if (specs.length < 2) throw bad(`an experiment needs at least two variants (got ${specs.length})`, 'e.g. --variant v1.0.0=90 --variant v1.1.0=10');
  const variants: ExperimentVariant[] = [];
  for (const spec of specs) {
    const version = await resolveRef(registry, name, spec.ref, state);
    if (variants.some((v) => v.version === version)) throw bad(`${spec.ref}${spec.ref === version ? '' : ` (${version})`} is named twice`, 'name each version once');
    variants.push({ name: version, ref: spec.ref, version, weight: spec.weight });
  }
  if (!variants.some((v) => v.weight > 0)) throw bad('every weight is 0', 'give at least one variant a weight above 0');
  if (!previous) return variants;
  // Keep the previous order so that bucket ranges move as little as possible (sticky users stay).
  const rank = (v: ExperimentVariant) => {
    const i = previous.findIndex((p) => p.version === v.version);
    return i < 0 ? previous.length + variants.indexOf(v) : i;
  };
  return [...variants].sort((a, b) => rank(a) - rank(b));
}

export interface ExperimentResult {
  model: string;
  action: 'start' | 'set' | 'stop';
  experiment?: LiveExperiment;
  previous?: LiveExperiment;
  audit: string;
}

/** `mlops experiment start`: refuses when one runs already. */
export async function startExperiment(registry: Registry, name: string, change: ExperimentChange & { variants: VariantSpec[] }, meta: ExperimentMeta): Promise<ExperimentResult> {
  validateName(name);
  if (change.experimentName !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(change.experimentName))
    throw bad(`--name '${change.experimentName.slice(0, 100)}' is not an experiment name`, 'letters, digits, . _ - (up to 100), e.g. --name fraud-2026-12');
  checkSticky(change.sticky);
  await registry.requireModel(name, { names: true });
  const at = meta.now().toISOString();
  const experiment = await registry.updateState(name, async (state) => {
    const running = experimentOf(state);
    if (running)
      throw new ConflictError(
        `${name} has an experiment running already (${running.variants.map((v) => `${v.version}=${v.weight}`).join(', ')})`,
        `change it with \`mlops experiment set ${name} --variant ...\`, or stop it first`,
        'experiment_running',
      );
    const next: LiveExperiment = {
      name: change.experimentName ?? name,
      variants: await variantsFrom(registry, name, change.variants, state),
      ...(change.shadow ? { shadow: { ref: change.shadow, version: await resolveRef(registry, name, change.shadow, state), fraction: checkFraction(change.shadowFraction) } } : {}),
      ...(change.sticky ? { sticky: change.sticky } : {}),
      started_at: at,
      started_by: meta.user,
      updated_at: at,
    };
    return { state: withExperiment(state, next), result: next };
  });
  const audit = await registry.audit({
    at,
    by: meta.user,
    action: 'experiment',
    model: name,
    version: experiment.variants.map((v) => v.version).join(','),
    event: 'start',
    experiment,
  });
  return { model: name, action: 'start', experiment, audit };
}

/** `mlops experiment set`: re-weight, add/replace/remove the shadow. */
export async function setExperiment(registry: Registry, name: string, change: ExperimentChange, meta: ExperimentMeta): Promise<ExperimentResult> {
  validateName(name);
  if (!change.variants && change.shadow === undefined && change.shadowFraction === undefined && change.sticky === undefined) {
    throw bad('nothing to change', 'pass --variant VERSION=WEIGHT (all variants), --shadow VERSION [--shadow-fraction X] or --no-shadow');
  }
  checkSticky(change.sticky);
  await registry.requireModel(name, { names: true });
  const at = meta.now().toISOString();
  const { experiment, previous } = await registry.updateState(name, async (state) => {
    const running = experimentOf(state);
    if (!running)
      throw new NotFoundError(
        `${name} has no experiment running`,
        `start one: mlops experiment start ${name} --variant VERSION=WEIGHT --variant VERSION=WEIGHT`,
        'experiment_not_found',
      );
    const next: LiveExperiment = { ...running, updated_at: at };
    if (change.variants) next.variants = await variantsFrom(registry, name, change.variants, state, running.variants);
    if (change.shadow === null) delete next.shadow;
    else if (change.shadow !== undefined)
      next.shadow = {
        ref: change.shadow,
        version: await resolveRef(registry, name, change.shadow, state),
        fraction: checkFraction(change.shadowFraction ?? running.shadow?.fraction),
      };
    else if (change.shadowFraction !== undefined) {
      if (!running.shadow) throw bad('--shadow-fraction without a shadow', `add one: mlops experiment set ${name} --shadow VERSION --shadow-fraction ${change.shadowFraction}`);
      next.shadow = { ...running.shadow, fraction: checkFraction(change.shadowFraction) };
    }
    if (change.sticky) next.sticky = change.sticky;
    return { state: withExperiment(state, next), result: { experiment: next, previous: running } };
  });
  const audit = await registry.audit({
    at,
    by: meta.user,
    action: 'experiment',
    model: name,
    version: experiment.variants.map((v) => v.version).join(','),
    event: 'set',
    experiment,
    previous,
  });
  return { model: name, action: 'set', experiment, previous, audit };
}

/** `mlops experiment stop`: production takes all the traffic again. */
export async function stopExperiment(registry: Registry, name: string, meta: ExperimentMeta, note?: string): Promise<ExperimentResult> {
  validateName(name);
  await registry.requireModel(name, { names: true });
  const at = meta.now().toISOString();
  const previous = await registry.updateState(name, async (state) => {
    const running = experimentOf(state);
    if (!running) throw new NotFoundError(`${name} has no experiment running`, `see it with \`mlops experiment show ${name}\``, 'experiment_not_found');
    return { state: withExperiment(state, undefined), result: running };
  });
  const audit = await registry.audit({
    at,
    by: meta.user,
    action: 'experiment',
    model: name,
    version: previous.variants.map((v) => v.version).join(','),
    event: 'stop',
    previous,
    ...(note ? { note } : {}),
  });
  return { model: name, action: 'stop', previous, audit };
}

export async function showExperiment(registry: Registry, name: string): Promise<{ model: string; production?: string; experiment?: LiveExperiment }> {
  validateName(name);
  await registry.requireModel(name, { names: true });
  const { state } = await registry.readState(name);
  const experiment = experimentOf(state);
  return { model: name, ...(state.production ? { production: state.production } : {}), ...(experiment ? { experiment } : {}) };
}
