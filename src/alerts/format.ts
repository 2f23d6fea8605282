// How an alert reads to a person: one title line (Slack `text`, mail subject) and a
// plain-text body. Channels add their own structure around these.
import type { Alert } from './types.js';

export function modelRef(alert: Alert): string | undefined {
  if (!alert.model) return undefined;
  return alert.version ? `${alert.model} v${alert.version}` : alert.model;
}

/** "[CRITICAL] HighErrorRate: error rate 7% (iris v3)" */
export function alertTitle(alert: Alert): string {
  const ref = modelRef(alert);
  return `[${alert.severity.toUpperCase()}] ${alert.name}: ${alert.summary}${ref && !alert.summary.includes(alert.model!) ? ` (${ref})` : ''}`;
}

export function alertBody(alert: Alert, sentAt: string): string {
  const lines = [alertTitle(alert), ''];
  if (alert.description) lines.push(alert.description, '');
  if (alert.model) lines.push(`model: ${alert.model}`);
  if (alert.version) lines.push(`version: ${alert.version}`);
  lines.push(`severity: ${alert.severity}`);
  for (const [key, value] of Object.entries(alert.labels ?? {})) lines.push(`${key}: ${value}`);
  if (alert.generatorURL) lines.push(`source: ${alert.generatorURL}`);
  if (alert.details && Object.keys(alert.details).length) lines.push('', 'details:', JSON.stringify(alert.details, null, 2));
  lines.push('', `sent by mlops at ${sentAt}`);
  return lines.join('\n');
}
