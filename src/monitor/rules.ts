// Threshold rules: the rules.yaml format, its validation (one-line UsageErrors naming the
// rule and field), and the default rules for the metrics `mlops serve` exposes.
import { stringify } from 'yaml';
import { configProblemsError, loadYamlSource, type ConfigProblem, type YamlSource } from '../config.js';
import { UsageError } from '../errors.js';
import { SEVERITIES, type Severity } from '../alerts/types.js';
import { isPlainObject } from '../plain-object.js';
import { OPERATORS, type Operator } from '../thresholds.js';

/** Word forms, because an unquoted `>` in YAML starts a block scalar. */
const OPERATOR_WORDS: Record<string, Operator> = { gt: '>', lt: '<', ge: '>=', le: '<=', eq: '==', ne: '!=' };

export interface MonitorRule {
  /** Alert name: letters, digits and _ (it becomes alertname in Prometheus and Alertmanager). */
  name: string;
  /** PromQL instant query; built from metric + labels when the rule gives those instead. */
  query: string;
  op: Operator;
  threshold: number;
  severity: Severity;
  /** Alert channel names from mlops.yaml; empty: the caller's default channels. */
  channels: string[];
  /** Prometheus `for:` duration; used in the generated rules file (a one-shot check cannot wait). */
  for?: string;
  summary?: string;
  description?: string;
}

const RULE_FIELDS = ['name', 'query', 'metric', 'labels', 'op', 'threshold', 'severity', 'channels', 'for', 'summary', 'description'];
const RULE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const METRIC_NAME = /^[A-Za-z_:][A-Za-z0-9_:]*$/;
const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PROMETHEUS_DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;

/** A PromQL string literal: backslash and double quote escaped. */
function promString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** `metric{a="x",b="y"}` from a metric name and exact label matches. */
export function selectorQuery(metric: string, labels: Record<string, string> = {}): string {
  const matchers = Object.entries(labels).map(([name, value]) => `${name}=${promString(value)}`);
  return matchers.length ? `${metric}{${matchers.join(',')}}` : metric;
}

/** One rule's problem at one field; parseRules reads on without that field to find the others. */
class RuleProblem extends Error {
  constructor(
    readonly field: string,
    readonly problem: ConfigProblem,
  ) {
    super(problem.message);
  }
}

function parseRule(raw: unknown, index: number): MonitorRule {
  const where = (field?: string, name?: string) => `rules[${index}]${name ? ` (${name})` : ''}${field ? `.${field}` : ''}`;
  const problem = (field: string | undefined, message: string, hint: string, name?: string): never => {
    throw new RuleProblem(field?.split('.')[0] ?? '', { keys: ['rules', index, ...(field ? field.split('.') : [])], message: `${where(field, name)} ${message}`, hint });
  };
  if (!isPlainObject(raw)) problem(undefined, 'must be a mapping with name, query, op and threshold', 'see README "Threshold rules"');
  const rawRule = raw as Record<string, unknown>;
  const name = rawRule.name;
  if (typeof name !== 'string' || !RULE_NAME.test(name)) {
    problem('name', `must be letters, digits and _ starting with a letter, got ${JSON.stringify(name)}`, 'it becomes the alertname, e.g. HighErrorRate');
  }
  const fail = (field: string, message: string, hint = 'see README "Threshold rules"'): never => problem(field, message, hint, name as string);
  return parseRuleFields(rawRule, name as string, fail);
}

const RULE_PLACEHOLDERS: Record<string, unknown> = { query: 'up', op: '>', threshold: 0 };

/** Every problem of one rule: unknown fields, then each field that fails, read again without it. */
function ruleProblems(raw: unknown, index: number): { rule?: MonitorRule; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  if (!isPlainObject(raw)) {
    try {
      parseRule(raw, index);
    } catch (error) {
      if (error instanceof RuleProblem) return { problems: [error.problem] };
      throw error;
    }
  }
  const mapping = raw as Record<string, unknown>;
  const label = typeof mapping.name === 'string' && RULE_NAME.test(mapping.name) ? ` (${mapping.name})` : '';
  const seen = new Set<string>();
  for (const key of Object.keys(mapping).filter((key) => !RULE_FIELDS.includes(key))) {
    seen.add(key);
    problems.push({ keys: ['rules', index, key], message: `rules[${index}]${label}.${key} is not a rule field`, hint: `known fields: ${RULE_FIELDS.join(', ')}` });
  }
  const current = Object.fromEntries(Object.entries(mapping).filter(([key]) => !seen.has(key)));
  for (let round = 0; round <= Object.keys(mapping).length + 1; round++) {
    try {
      const rule = parseRule(current, index);
      return { rule: problems.length ? undefined : rule, problems };
    } catch (error) {
      if (!(error instanceof RuleProblem)) throw error;
      if (seen.has(error.field)) break;
      seen.add(error.field);
      problems.push(error.problem);
      // The name labels every other message; without it, stop at one.
      if (error.field === 'name') break;
      // A required field is replaced by a harmless value so the fields after it are judged too.
      if (error.field in RULE_PLACEHOLDERS && !('metric' in current && error.field === 'query')) current[error.field] = RULE_PLACEHOLDERS[error.field];
      else delete current[error.field];
    }
  }
  return { problems };
}

function parseRuleFields(raw: Record<string, unknown>, name: string, fail: (field: string, message: string, hint?: string) => never): MonitorRule {

  let query: string;
  if (raw.query !== undefined) {
    if (raw.metric !== undefined || raw.labels !== undefined) fail('query', 'and metric/labels are both set: use one way to say what to measure');
    if (typeof raw.query !== 'string' || raw.query.trim() === '') fail('query', `must be a PromQL expression, got ${JSON.stringify(raw.query)}`);
    query = (raw.query as string).trim();
  } else if (raw.metric !== undefined) {
    if (typeof raw.metric !== 'string' || !METRIC_NAME.test(raw.metric)) fail('metric', `must be a metric name like mlops_accuracy, got ${JSON.stringify(raw.metric)}`);
    const labels: Record<string, string> = {};
    if (raw.labels !== undefined && raw.labels !== null) {
      if (!isPlainObject(raw.labels)) fail('labels', 'must be a mapping of label: value');
      for (const [label, value] of Object.entries(raw.labels as Record<string, unknown>)) {
        if (!LABEL_NAME.test(label)) fail(`labels.${label}`, 'is not a valid label name');
        if (typeof value !== 'string' && typeof value !== 'number') fail(`labels.${label}`, `must be a string, got ${JSON.stringify(value)}`);
        labels[label] = String(value);
      }
    }
    query = selectorQuery(raw.metric as string, labels);
  } else {
    return fail('query', 'is required (a PromQL expression), or give metric and labels');
  }

  let op = raw.op;
  if (typeof op === 'string' && OPERATOR_WORDS[op] !== undefined) op = OPERATOR_WORDS[op];
  if (op === '') fail('op', 'is empty: an unquoted > in YAML starts a block', "write op: '>' (quoted) or op: gt");
  if (typeof op !== 'string' || !(OPERATORS as readonly string[]).includes(op)) {
    fail('op', `must be one of ${OPERATORS.join(' ')} or ${Object.keys(OPERATOR_WORDS).join(' ')}, got ${JSON.stringify(op)}`, "quote symbols in YAML: op: '>'");
  }
  const threshold = raw.threshold;
  if (typeof threshold !== 'number' || !Number.isFinite(threshold)) fail('threshold', `must be a number, got ${JSON.stringify(threshold)}`);
  const severity = raw.severity ?? 'warning';
  if (typeof severity !== 'string' || !(SEVERITIES as readonly string[]).includes(severity)) {
    fail('severity', `must be one of ${SEVERITIES.join(', ')}, got ${JSON.stringify(severity)}`);
  }
  let channels: string[] = [];
  if (raw.channels !== undefined && raw.channels !== null) {
    const list = typeof raw.channels === 'string' ? raw.channels.split(',').map((item) => item.trim()) : raw.channels;
    if (!Array.isArray(list) || list.some((item) => typeof item !== 'string' || item === '')) fail('channels', 'must be a list of channel names from mlops.yaml');
    channels = list as string[];
  }
  const rule: MonitorRule = { name, query, op: op as Operator, threshold: threshold as number, severity: severity as Severity, channels };
  if (raw.for !== undefined && raw.for !== null) {
    if (typeof raw.for !== 'string' || !PROMETHEUS_DURATION.test(raw.for)) fail('for', `must be a Prometheus duration like 5m, got ${JSON.stringify(raw.for)}`);
    rule.for = raw.for as string;
  }
  for (const field of ['summary', 'description'] as const) {
    const value = raw[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') fail(field, `must be a string, got ${JSON.stringify(value)}`);
    rule[field] = value as string;
  }
  return rule;
}

/**
 * Validates a parsed rules document (`rules: [...]`) whole: every problem of every rule
 * in one UsageError. `source` names the file; `lines` (from the YAML) adds each line.
 */
export function parseRules(document: unknown, source = 'rules', lines?: Pick<YamlSource, 'lineOf'>): MonitorRule[] {
  if (!isPlainObject(document) || !Array.isArray(document.rules)) {
    throw new UsageError(`${source} must hold a rules: list`, 'write rules: [{ name, query, op, threshold, severity, channels }]');
  }
  const problems: ConfigProblem[] = [];
  for (const key of Object.keys(document).filter((key) => key !== 'rules')) {
    problems.push({ keys: [key], message: `${key} is not a known top-level field`, hint: 'a rules file holds only rules:' });
  }
  if (document.rules.length === 0) problems.push({ keys: ['rules'], message: 'rules is empty', hint: 'add at least one rule, or leave the file out to use the default rules' });
  const rules: MonitorRule[] = [];
  const seen = new Set<string>();
  for (const [index, raw] of document.rules.entries()) {
    const result = ruleProblems(raw, index);
    problems.push(...result.problems);
    if (!result.rule) continue;
    if (seen.has(result.rule.name)) problems.push({ keys: ['rules', index, 'name'], message: `rule name ${result.rule.name} is used twice`, hint: 'give each rule its own name' });
    seen.add(result.rule.name);
    rules.push(result.rule);
  }
  if (problems.length) throw configProblemsError(problems, { path: source, lineOf: (keys) => lines?.lineOf(keys) }, 'see README "Threshold rules"');
  return rules;
}

/** A rules file (`--rules FILE`): missing is exit 3, every problem listed with its line. */
export async function loadRules(path: string): Promise<MonitorRule[]> {
  const source = (await loadYamlSource(path, { kind: 'rules file', flag: '--rules' }))!;
  return parseRules(source.value, path, source);
}

/**
 * Rules for the metrics `mlops serve` exposes (see the metrics contract). Each query is
 * written to return a value even when nothing bad has happened yet (`or` a zero), so a
 * healthy server reads "ok" rather than "no_data"; with no traffic the ratios are NaN (ok).
 */
export function defaultRules(): MonitorRule[] {
  return [
    {
      name: 'MlopsHighErrorRate',
      query:
        '(sum(rate(mlops_requests_total{status=~"5.."}[5m])) or vector(0)) / sum(rate(mlops_requests_total[5m]))',
      op: '>',
      threshold: 0.05,
      severity: 'critical',
      channels: [],
      for: '5m',
      summary: 'more than 5% of requests to mlops serve fail with a 5xx',
      description: 'Share of HTTP requests answered 5xx over the last 5 minutes. Check the serve logs and mlops_errors_total by type.',
    },
    {
      name: 'MlopsHighLatencyP99',
      query: 'histogram_quantile(0.99, sum by (le, model, version) (rate(mlops_prediction_latency_seconds_bucket[5m])))',
      op: '>',
      threshold: 0.5,
      severity: 'warning',
      channels: [],
      for: '10m',
      summary: 'p99 inference latency above 500 ms',
      description: '99th percentile of mlops_prediction_latency_seconds over the last 5 minutes, per model version.',
    },
    {
      name: 'MlopsHighOodRate',
      query:
        '(sum by (model, version) (rate(mlops_ood_inputs_total[15m])) or 0 * sum by (model, version) (rate(mlops_predictions_total[15m]))) / sum by (model, version) (rate(mlops_predictions_total[15m]))',
      op: '>',
      threshold: 0.1,
      severity: 'warning',
      channels: [],
      for: '15m',
      summary: 'more than 0.1 out-of-range input values per predicted row',
      description: 'Input values outside the reference data range, per predicted row, over 15 minutes: the inputs have moved; run mlops drift-check.',
    },
    {
      name: 'MlopsAccuracyDrop',
      query:
        'sum by (model, version) (increase(mlops_feedback_correct_total[1h])) / sum by (model, version) (increase(mlops_feedback_total[1h]))',
      op: '<',
      threshold: 0.8,
      severity: 'critical',
      channels: [],
      for: '30m',
      summary: 'accuracy on the last hour of feedback below 80%',
      // The summed counters, not the mlops_accuracy gauge: the gauge is one replica's view.
      description: 'Share of predictions matching the labels sent to POST /feedback over the last hour, summed over every replica (feedback a replica recorded unjoined is counted by `mlops ab report` over the log folder). Set the threshold from the accuracy measured at registration.',
    },
  ];
}

/** A rules file in the rules.yaml format (e.g. the defaults, as a starting point to edit). */
export function renderRulesYaml(rules: readonly MonitorRule[]): string {
  const document = {
    rules: rules.map((rule) => {
      const out: Record<string, unknown> = { name: rule.name, query: rule.query, op: rule.op, threshold: rule.threshold, severity: rule.severity };
      if (rule.channels.length) out.channels = rule.channels;
      if (rule.for) out.for = rule.for;
      if (rule.summary) out.summary = rule.summary;
      if (rule.description) out.description = rule.description;
      return out;
    }),
  };
  return stringify(document, { lineWidth: 0 });
}
