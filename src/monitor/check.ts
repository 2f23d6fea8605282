// `mlops monitor check`: asks Prometheus each rule's query once, compares every series
// with the threshold, and alerts on the rules that fire. Failed or empty queries are
// reported as such, never passed as "ok".
import type { Env } from '../config.js';
import { selectChannels } from '../alerts/config.js';
import { sendAlert } from '../alerts/send.js';
import type { Alert, AlertChannel, AlertEvent, ChannelResult, FetchLike, Severity } from '../alerts/types.js';
import { PrometheusClient, type QueryAnswer, type Sample } from './prometheus.js';
import { compare, type Operator } from '../thresholds.js';
import type { MonitorRule } from './rules.js';

export type RuleStatus = 'ok' | 'firing' | 'error' | 'no_data';

export interface RuleValue {
  labels: Record<string, string>;
  value: number;
  /** As Prometheus wrote it; JSON output should prefer this (NaN and Inf have no JSON form). */
  text: string;
  crossed: boolean;
}

export interface RuleResult {
  name: string;
  query: string;
  op: Operator;
  threshold: number;
  severity: Severity;
  status: RuleStatus;
  values: RuleValue[];
  message: string;
  /** Deliveries of this rule's alert (firing rules with channels only). */
  alerts?: ChannelResult[];
}

export interface CheckResult {
  prometheus: string;
  prometheusVersion: string;
  rules: RuleResult[];
  fired: number;
  errors: number;
  noData: number;
  /** Channel deliveries that failed, over all firing rules. */
  alertFailures: number;
}

export type MonitorEvent =
  | AlertEvent
  | { type: 'monitor.connected'; prometheus: string; version: string }
  | { type: 'monitor.rule'; name: string; status: RuleStatus; message: string };

export interface CheckOptions {
  prometheusUrl: string;
  rules: readonly MonitorRule[];
  /** Every channel from mlops.yaml; rules pick theirs by name. */
  channels: readonly AlertChannel[];
  /** For rules that name no channels (e.g. from --alert). */
  defaultChannels?: readonly string[];
  env: Env;
  onEvent?: (event: MonitorEvent) => void;
  fetchImpl?: FetchLike;
  /** Per Prometheus request. */
  timeoutMs?: number;
  /** Passed to sendAlert. */
  alertTimeoutMs?: number;
  retryBaseMs?: number;
  now?: () => Date;
  /** Only evaluate and report; send nothing (--dry-run). */
  dryRun?: boolean;
}

function formatValue(sample: { value: number; text: string }): string {
  if (!Number.isFinite(sample.value)) return sample.text;
  return Math.abs(sample.value) >= 1e-3 || sample.value === 0 ? Number(sample.value.toPrecision(4)).toString() : sample.value.toExponential(3);
}

function formatLabels(labels: Record<string, string>): string {
  const entries = Object.entries(labels).filter(([name]) => name !== '__name__');
  return entries.length ? `{${entries.map(([name, value]) => `${name}="${value}"`).join(',')}}` : '';
}

/** The crossing series that is furthest past the threshold, in the operator's direction. */
function worst(values: readonly RuleValue[], op: Operator): RuleValue | undefined {
  const crossed = values.filter((value) => value.crossed);
  if (op === '>' || op === '>=') return crossed.reduce<RuleValue | undefined>((best, value) => (!best || value.value > best.value ? value : best), undefined);
  if (op === '<' || op === '<=') return crossed.reduce<RuleValue | undefined>((best, value) => (!best || value.value < best.value ? value : best), undefined);
  return crossed[0];
}

/** Pure: one rule's verdict from one query answer. */
export function evaluateRule(rule: MonitorRule, answer: QueryAnswer): RuleResult {
  const base = { name: rule.name, query: rule.query, op: rule.op, threshold: rule.threshold, severity: rule.severity };
  if (!answer.ok) return { ...base, status: 'error', values: [], message: answer.error };
  if (answer.samples.length === 0) {
    return { ...base, status: 'no_data', values: [], message: 'the query returned no series: the metric is not scraped yet, or its labels match nothing' };
  }
  // NaN compares false with everything, so a 0/0 ratio (no traffic) never fires.
  const values: RuleValue[] = answer.samples.map((sample: Sample) => ({ ...sample, crossed: compare(sample.value, rule.op, rule.threshold) }));
  const crossed = values.filter((value) => value.crossed);
  const condition = `${rule.op} ${rule.threshold}`;
  if (crossed.length) {
    const shown = crossed.slice(0, 3).map((value) => `${formatValue(value)}${formatLabels(value.labels) ? ` ${formatLabels(value.labels)}` : ''}`);
    const more = crossed.length > 3 ? ` and ${crossed.length - 3} more` : '';
    const prefix = values.length === 1 ? '' : `${crossed.length} of ${values.length} series `;
    return { ...base, status: 'firing', values, message: `${prefix}${condition}: ${shown.join(', ')}${more}` };
  }
  const allNaN = values.every((value) => Number.isNaN(value.value));
  const message = allNaN
    ? `NaN (no traffic in the query window?), not ${condition}`
    : values.length === 1
      ? `${formatValue(values[0]!)}, not ${condition}`
      : `${values.length} series, none ${condition}`;
  return { ...base, status: 'ok', values, message };
}

/** The alert a firing rule sends: one per rule, carrying the worst series and all crossing ones. */
export function ruleAlert(rule: MonitorRule, result: RuleResult, prometheusUrl: string): Alert {
  const top = worst(result.values, rule.op);
  const crossed = result.values.filter((value) => value.crossed);
  const valueText = top ? formatValue(top) : '';
  const count = crossed.length > 1 ? `${crossed.length} series, worst ${valueText}` : `value ${valueText}`;
  const alert: Alert = {
    name: rule.name,
    severity: rule.severity,
    summary: `${rule.summary ?? `${rule.name}: ${rule.query} ${rule.op} ${rule.threshold}`} (${count})`,
    details: {
      query: rule.query,
      op: rule.op,
      threshold: rule.threshold,
      values: crossed.slice(0, 20).map((value) => ({ labels: value.labels, value: value.text })),
    },
    generatorURL: `${prometheusUrl}/graph?g0.expr=${encodeURIComponent(rule.query)}&g0.tab=1`,
  };
  if (rule.description) alert.description = rule.description;
  if (top?.labels.model) alert.model = top.labels.model;
  if (top?.labels.version) alert.version = top.labels.version;
  return alert;
}

export async function checkRules(options: CheckOptions): Promise<CheckResult> {
  // Resolve every rule's channels before asking Prometheus anything: a typo is a usage error, not a half-run check.
  const targets = new Map<string, AlertChannel[]>();
  for (const rule of options.rules) {
    const names = rule.channels.length ? rule.channels : (options.defaultChannels ?? []);
    if (names.length === 0) {
      targets.set(rule.name, []);
      continue;
    }
    targets.set(rule.name, selectChannels(options.channels, names, `rule ${rule.name}`));
  }
  const client = new PrometheusClient(options.prometheusUrl, { fetchImpl: options.fetchImpl, timeoutMs: options.timeoutMs });
  const version = await client.ping();
  options.onEvent?.({ type: 'monitor.connected', prometheus: client.url, version });

  const results: RuleResult[] = [];
  for (const rule of options.rules) {
    const result = evaluateRule(rule, await client.query(rule.query));
    options.onEvent?.({ type: 'monitor.rule', name: rule.name, status: result.status, message: result.message });
    const channels = targets.get(rule.name) ?? [];
    if (result.status === 'firing' && channels.length && !options.dryRun) {
      result.alerts = await sendAlert(channels, ruleAlert(rule, result, client.url), {
        env: options.env,
        onEvent: options.onEvent,
        fetchImpl: options.fetchImpl,
        timeoutMs: options.alertTimeoutMs,
        retryBaseMs: options.retryBaseMs,
        now: options.now,
      });
    }
    results.push(result);
  }
  return {
    prometheus: client.url,
    prometheusVersion: version,
    rules: results,
    fired: results.filter((result) => result.status === 'firing').length,
    errors: results.filter((result) => result.status === 'error').length,
    noData: results.filter((result) => result.status === 'no_data').length,
    alertFailures: results.reduce((sum, result) => sum + (result.alerts?.filter((alert) => !alert.ok).length ?? 0), 0),
  };
}
