// Stage changes: promote (with metric gates) and rollback. Each is a pure plan computed
// from the versions, then applied under the model's lock after re-planning against the
// state found there, so two promotions at once leave exactly one production version.
import { CheckFailedError, NotFoundError, UsageError } from '../errors.js';
import { normalizeVersion, validateName } from './names.js';
import type { OnRegistryEvent, Registry } from './registry.js';
import type { HistoryEntry, Status, VersionRecord } from './types.js';

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

async function applyChanges(
  registry: Registry,
  name: string,
  versions: VersionRecord[],
  changes: StatusChange[],
  event: HistoryEntry['event'],
  options: ApplyOptions,
  note?: string,
): Promise<void> {
  const at = options.now().toISOString();
  // Leaving production is written before entering it: a crash in between leaves no
  // production version (visible, fixable by re-running) rather than two.
  const ordered = [...changes.filter((c) => c.from === 'production'), ...changes.filter((c) => c.from !== 'production')];
  for (const change of ordered) {
    const record = versions.find((v) => v.version === change.version)!;
    const entry: HistoryEntry = { at, by: options.user, event, status: change.to, from: change.from, ...(note ? { note } : {}) };
    await registry.writeVersion({ ...record, status: change.to, history: [...record.history, entry] });
  }
  for (const change of changes) {
    await registry.audit({ at, by: options.user, action: event === 'rolled_back' ? 'rollback' : 'promote', model: name, version: change.version, from: change.from, to: change.to });
  }
}

export async function preparePromotion(registry: Registry, request: PromotionRequest): Promise<PromotionPlan> {
  validateName(request.name);
  const versions = await registry.requireModel(request.name);
  return planPromotion(versions, { ...request, version: normalizeVersion(request.version) });
}

/** Re-plan under the lock (the state may have moved since the dry plan) and apply. */
export async function promote(registry: Registry, request: PromotionRequest, options: ApplyOptions): Promise<PromotionPlan> {
  const normalized = { ...request, version: normalizeVersion(request.version) };
  await registry.requireModel(validateName(request.name)); // before the lock, which would create the folder
  return registry.lock(
    request.name,
    async () => {
      const versions = await registry.requireModel(request.name);
      const plan = planPromotion(versions, normalized);
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
      await applyChanges(registry, request.name, versions, plan.changes, 'promoted', options);
      return plan;
    },
    options.onEvent,
  );
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

export async function rollback(registry: Registry, name: string, options: ApplyOptions & { dryRun?: boolean }): Promise<RollbackPlan> {
  validateName(name);
  const versions = await registry.requireModel(name);
  if (options.dryRun) return planRollback(name, versions);
  return registry.lock(
    name,
    async () => {
      const versions = await registry.requireModel(name);
      const plan = planRollback(name, versions);
      await applyChanges(registry, name, versions, plan.changes, 'rolled_back', options, `rolled back from ${plan.from} to ${plan.to}`);
      return plan;
    },
    options.onEvent,
  );
}
