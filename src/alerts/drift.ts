// Turns a drift-check verdict into an alert for `mlops drift-check --alert`.
import type { Alert, Severity } from './types.js';

export interface DriftedFeature {
  name: string;
  test: string;
  statistic: number;
  pValue?: number;
}

export interface DriftSummary {
  model?: string;
  version?: string;
  drifted: boolean;
  driftedFeatures: DriftedFeature[];
  nFeatures: number;
  /** Where the full report lives, linked from the alert. */
  reportPath?: string;
}

/** Features shown by name in the summary line; the rest are counted. */
const SHOWN_FEATURES = 5;
/** Features carried in details: enough to act on, small enough for a chat message. */
const DETAILED_FEATURES = 10;

function formatNumber(value: number): string {
  if (value === 0) return '0';
  return Math.abs(value) < 1e-3 ? value.toExponential(2) : Number(value.toPrecision(3)).toString();
}

/** Most convincing first: smallest p-value, then largest statistic. */
export function topDriftedFeatures(features: readonly DriftedFeature[]): DriftedFeature[] {
  return [...features].sort((a, b) => {
    const pa = a.pValue ?? Number.POSITIVE_INFINITY;
    const pb = b.pValue ?? Number.POSITIVE_INFINITY;
    return pa !== pb ? pa - pb : b.statistic - a.statistic;
  });
}

export function driftAlert(summary: DriftSummary, options: { severity?: Severity } = {}): Alert {
  const subject = summary.model ? `${summary.model}${summary.version ? ` ${summary.version}` : ''}` : 'the input data';
  const top = topDriftedFeatures(summary.driftedFeatures);
  const count = top.length;
  const names = top.slice(0, SHOWN_FEATURES).map((feature) => feature.name);
  const more = count > SHOWN_FEATURES ? ` and ${count - SHOWN_FEATURES} more` : '';
  const text = summary.drifted
    ? `data drift in ${subject}: ${count} of ${summary.nFeatures} features drifted${count ? ` (${names.join(', ')}${more})` : ''}`
    : `no data drift in ${subject}: ${summary.nFeatures} features checked`;
  const lines = top
    .slice(0, DETAILED_FEATURES)
    .map((feature) => `${feature.name}: ${feature.test} statistic ${formatNumber(feature.statistic)}${feature.pValue !== undefined ? `, p-value ${formatNumber(feature.pValue)}` : ''}`);
  const alert: Alert = {
    name: 'MlopsDataDrift',
    severity: options.severity ?? (summary.drifted ? 'warning' : 'info'),
    summary: text,
    details: {
      drifted: summary.drifted,
      nFeatures: summary.nFeatures,
      nDrifted: count,
      driftedFeatures: top.slice(0, DETAILED_FEATURES),
    },
  };
  if (lines.length) alert.description = `Top drifted features:\n${lines.join('\n')}`;
  if (summary.reportPath) alert.description = `${alert.description ? `${alert.description}\n` : ''}Report: ${summary.reportPath}`;
  if (summary.model) alert.model = summary.model;
  if (summary.version) alert.version = summary.version;
  return alert;
}
