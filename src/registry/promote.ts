// Stage changes: promote (with metric gates) and rollback. Each is a pure plan computed
// from the model's state and the records it names, applied as one compare-and-swap of
// the state (re-planned on a conflict), so two promotions at once leave exactly one
// production version.
import { CheckFailedError, NotFoundError, UsageError } from '../errors.js';
import { normalizeVersion, validateName } from './names.js';
import type { OnRegistryEvent, Registry } from './registry.js';
import { applyToState, type ModelState } from './records.js';
import type { Status, VersionRecord } from './types.js';

import { compare, type Operator } from '../thresholds.js';

export { compare };
/** Two-character operators first, so that 'a>=1' is not read as 'a>' '=1'. */
const OPERATORS: Operator[] = ['>=', '<=', '==', '!=', '>', '<'];

export interface Requirement {
  metric: string;
  op: Operator;
  value: number;
}

const METRIC_NAME = /^[A-Za-z_][\w.-]*$/;

export function parseRequirement(text: string): Requirement {
  for (const op of OPERATORS) {
    const at = text.indexOf(op);
    if (at <= 0) continue;
    const metric = text.slice(0, at).trim();
    const raw = text.slice(at + op.length).trim();
    const value = Number(raw);
    if (METRIC_NAME.test(metric) && raw !== '' && Number.isFinite(value)) return { metric, op, value };
  }
  throw new UsageError(`cannot read the requirement '${text}'`, "write METRIC OP NUMBER, e.g. --require 'accuracy>=0.9' (operators: >= <= > < == !=)");
}

/** Metrics where a smaller number is better; every other metric is better when larger. */
const LOWER_IS_BETTER = /(loss|error|err|mse|mae|rmse|latency|perplexity|logloss|brier)/i;

export function lowerIsBetter(metric: string): boolean {
  return LOWER_IS_BETTER.test(metric);
}

export interface GateResult {
  gate: string;
  passed: boolean;
  message: string;
}

export interface StatusChange {
  version: string;
  from: Status;
  to: Status;
}

export interface PromotionPlan {
  name: string;
  version: string;
  to: Status;
  /** The production version before the change, if any. */
  production?: string;
  changes: StatusChange[];
  gates: GateResult[];
  passed: boolean;
}

export interface PromotionRequest {
  name: string;
  version: string;
  to: Status;
  require?: Requirement[];
  noRegress?: string[];
}

function checkGates(target: VersionRecord, production: VersionRecord | undefined, request: PromotionRequest): GateResult[] {
  const gates: GateResult[] = [];
  for (const r of request.require ?? []) {
    const gate = `${r.metric}${r.op}${r.value}`;
    const actual = target.metrics[r.metric];
    if (actual === undefined) {
      gates.push({ gate, passed: false, message: `${r.metric} is not recorded for ${target.version} (required ${r.op} ${r.value})` });
    } else {
      const passed = compare(actual, r.op, r.value);
      gates.push({ gate, passed, message: `${r.metric} = ${actual} ${passed ? 'meets' : 'fails'} ${r.op} ${r.value}` });
    }
  }
  for (const metric of request.noRegress ?? []) {
    const gate = `no-regress ${metric}`;
    if (!production || production.version === target.version) {
      gates.push({ gate, passed: true, message: `${metric}: no other production version to compare with` });
      continue;
    }
    const actual = target.metrics[metric];
    const baseline = production.metrics[metric];
    if (actual === undefined || baseline === undefined) {
      const missing = actual === undefined ? target.version : production.version;
      gates.push({ gate, passed: false, message: `${metric} is not recorded for ${missing}, so a regression cannot be ruled out` });
      continue;
    }
    const worse = lowerIsBetter(metric) ? actual > baseline : actual < baseline;
    gates.push({
      gate,
      passed: !worse,
      message: `${metric} ${actual} (${target.version}) ${worse ? 'is worse than' : 'is not worse than'} ${baseline} (production ${production.version})`,
    });
  }
  return gates;
}

export function planPromotion(versions: VersionRecord[], request: PromotionRequest): PromotionPlan {
  const target = versions.find((v) => v.version === request.version);
  if (!target) {
    throw new NotFoundError(`${request.name} has no version ${request.version}`, `see the versions with \`mlops list ${request.name}\``, 'version_not_found');
  }
  const production = versions.find((v) => v.status === 'production');
  const changes: StatusChange[] = [];
  if (request.to === 'production' && production && production.version !== target.version) {
    changes.push({ version: production.version, from: 'production', to: 'archived' });
  }
  if (target.status !== request.to) changes.push({ version: target.version, from: target.status, to: request.to });
  const gates = checkGates(target, production, request);
  return { name: request.name, version: target.version, to: request.to, production: production?.version, changes, gates, passed: gates.every((g) => g.passed) };
}

export interface ApplyOptions {
  user: string;
  now: () => Date;
  onEvent?: OnRegistryEvent;
}

/** The records a plan needs, with their stages from `state`: the given versions and production. */
async function recordsFor(registry: Registry, name: string, state: ModelState, versions: Array<string | undefined>): Promise<VersionRecord[]> {
  const wanted = [...new Set([...versions, state.production].filter((v): v is string => v !== undefined))];
  const records = await Promise.all(wanted.map((v) => registry.recordIn(name, v, state)));
  return records.filter((r): r is VersionRecord => r !== undefined);
}

async function auditChanges(registry: Registry, name: string, changes: StatusChange[], action: 'promote' | 'rollback', at: string, options: ApplyOptions): Promise<void> {
  for (const change of changes) await registry.audit({ at, by: options.user, action, model: name, version: change.version, from: change.from, to: change.to });
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

/** A --require on a metric the version does not have is a typo or a missing metric: exit 2 with the version's metrics. */
export function checkRequiredMetrics(target: VersionRecord, require: Requirement[] | undefined): void {
  const known = Object.keys(target.metrics);
  for (const r of require ?? []) {
    if (r.metric in target.metrics) continue;
    const close = known.map((m) => ({ m, d: distance(r.metric.toLowerCase(), m.toLowerCase()) })).sort((x, y) => x.d - y.d)[0];
    const guess = close && close.d <= Math.max(2, Math.floor(r.metric.length / 3)) ? `did you mean ${close.m}? ` : '';
    throw new UsageError(
      `${target.name} ${target.version} has no metric '${r.metric}' to check --require '${r.metric}${r.op}${r.value}' against`,
      `${guess}${known.length ? `its metrics: ${known.join(', ')}` : 'it has no metrics'}; metrics are recorded at registration (--metric k=v, --metrics-file)`,
      'unknown_metric',
    );
  }
}

export async function preparePromotion(registry: Registry, request: PromotionRequest): Promise<PromotionPlan> {
  validateName(request.name);
  const version = normalizeVersion(request.version);
  await registry.requireModel(request.name, { names: true });
  const { state } = await registry.readState(request.name);
  const records = await recordsFor(registry, request.name, state, [version]);
  const target = records.find((r) => r.version === version);
  if (target) checkRequiredMetrics(target, request.require);
  return planPromotion(records, { ...request, version });
}

/** Re-plan on the state being replaced (it may have moved since the dry plan) and swap it in with one compare-and-swap. */
export async function promote(registry: Registry, request: PromotionRequest, options: ApplyOptions): Promise<PromotionPlan> {
  registry.requireWritable();
  const normalized = { ...request, version: normalizeVersion(request.version) };
  await registry.requireModel(validateName(request.name), { names: true });
  const at = options.now().toISOString();
  const plan = await registry.updateState(request.name, async (state) => {
    const records = await recordsFor(registry, request.name, state, [normalized.version]);
    const target = records.find((r) => r.version === normalized.version);
    if (target) checkRequiredMetrics(target, request.require);
    const plan = planPromotion(records, normalized);
    if (!plan.passed) {
      const failed = plan.gates.filter((g) => !g.passed).map((g) => g.message);
      const missing = failed.some((message) => / is not recorded /.test(message));
      throw new CheckFailedError(
        `promotion of ${plan.name} ${plan.version} refused: ${failed.join('; ')}`,
        missing ? 'metrics are recorded at registration (--metric k=v, --metrics-file); a version cannot be gated on one it lacks' : 'improve the model, or change the gate if it is wrong',
        'gate_failed',
        plan,
      );
    }
    return { state: applyToState(state, plan.changes, { at, by: options.user, event: 'promoted' }), result: plan };
  });
  await auditChanges(registry, request.name, plan.changes, 'promote', at, options);
  return plan;
}

export interface RollbackPlan {
  name: string;
  from: string;
  to: string;
  changes: StatusChange[];
}

function isRolledBackFrom(record: VersionRecord): boolean {
  const last = record.history[record.history.length - 1];
  return last?.event === 'rolled_back' && last.status === 'archived';
}

function lastProductionAt(record: VersionRecord): string | undefined {
  return record.history.filter((h) => h.status === 'production').map((h) => h.at).sort().pop();
}

/** Production goes back to the version that was production before it (skipping versions already rolled back from). */
export function planRollback(name: string, versions: VersionRecord[]): RollbackPlan {
  const current = versions.find((v) => v.status === 'production');
  if (!current) {
    throw new NotFoundError(`${name} has no production version to roll back`, `promote one: mlops promote ${name} VERSION --to production`, 'version_not_found');
  }
  const candidates = versions
    .filter((v) => v.version !== current.version)
    .filter((v) => !isRolledBackFrom(v))
    .map((v) => ({ v, at: lastProductionAt(v) }))
    .filter((c): c is { v: VersionRecord; at: string } => c.at !== undefined)
    .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.v.created_at < b.v.created_at ? -1 : 1));
  const previous = candidates.pop()?.v;
  if (!previous) {
    throw new NotFoundError(`${name} has no earlier production version to roll back to`, `promote a version instead: mlops promote ${name} VERSION --to production`, 'version_not_found');
  }
  return {
    name,
    from: current.version,
    to: previous.version,
    changes: [
      { version: current.version, from: 'production', to: 'archived' },
      { version: previous.version, from: previous.status, to: 'production' },
    ],
  };
}

/** Every version that was ever production, with its history: what a rollback chooses from. */
async function rollbackCandidates(registry: Registry, name: string, state: ModelState): Promise<VersionRecord[]> {
  return recordsFor(registry, name, state, state.changes.filter((c) => c.to === 'production').map((c) => c.version));
}

export async function rollback(registry: Registry, name: string, options: ApplyOptions & { dryRun?: boolean }): Promise<RollbackPlan> {
  validateName(name);
  await registry.requireModel(name, { names: true });
  if (options.dryRun) {
    const { state } = await registry.readState(name);
    return planRollback(name, await rollbackCandidates(registry, name, state));
  }
  registry.requireWritable();
  const at = options.now().toISOString();
  const plan = await registry.updateState(name, async (state) => {
    const plan = planRollback(name, await rollbackCandidates(registry, name, state));
    return { state: applyToState(state, plan.changes, { at, by: options.user, event: 'rolled_back', note: `rolled back from ${plan.from} to ${plan.to}` }), result: plan };
  });
  await auditChanges(registry, name, plan.changes, 'rollback', at, options);
  return plan;
}
