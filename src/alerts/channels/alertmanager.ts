// Alertmanager channel: POST /api/v2/alerts, so Alertmanager's own routing, grouping,
// inhibition and silences decide who hears about it.
import { displayUrl } from '../secrets.js';
import type { Alert, AlertmanagerChannel } from '../types.js';
import { postForChannel, resolveHeaders, type ChannelContext, type ChannelOutcome } from './context.js';

/** Alertmanager rejects label names outside [a-zA-Z_][a-zA-Z0-9_]*. */
function labelName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[A-Za-z_]/.test(cleaned) ? cleaned : `_${cleaned}`;
}

export function alertmanagerPayload(channel: AlertmanagerChannel, alert: Alert, now: Date): Record<string, unknown>[] {
  const labels: Record<string, string> = {};
  const put = (name: string, value: string | undefined) => {
    // An empty label value means "no label" to Alertmanager; leave it out.
    if (value !== undefined && value !== '') labels[labelName(name)] = value;
  };
  for (const [name, value] of Object.entries(channel.labels)) put(name, value);
  for (const [name, value] of Object.entries(alert.labels ?? {})) put(name, value);
  put('model', alert.model);
  put('version', alert.version);
  put('severity', alert.severity);
  put('alertname', alert.name);
  const annotations: Record<string, string> = { summary: alert.summary };
  if (alert.description) annotations.description = alert.description;
  if (alert.details && Object.keys(alert.details).length) annotations.details = JSON.stringify(alert.details);
  const startsAt = alert.startsAt ?? now.toISOString();
  const endsAt = alert.endsAt ?? (channel.endsAfterMs ? new Date(Date.parse(startsAt) + channel.endsAfterMs).toISOString() : undefined);
  const item: Record<string, unknown> = { labels, annotations, startsAt };
  if (endsAt) item.endsAt = endsAt;
  if (alert.generatorURL) item.generatorURL = alert.generatorURL;
  return [item];
}

export function alertsEndpoint(base: string): string {
  const trimmed = base.replace(/\/+$/, '');
  return trimmed.endsWith('/api/v2/alerts') ? trimmed : `${trimmed}/api/v2/alerts`;
}

export async function sendToAlertmanager(channel: AlertmanagerChannel, alert: Alert, context: ChannelContext): Promise<ChannelOutcome> {
  const url = alertsEndpoint(channel.url);
  const shownUrl = displayUrl(url, false);
  return postForChannel(channel, context, {
    url,
    shownUrl,
    body: alertmanagerPayload(channel, alert, context.now),
    headers: resolveHeaders(channel.headers, channel.headersEnv, context),
  });
}
