// Webhook channel: one JSON POST carrying a Slack-compatible `text` line and the alert's
// structured fields, so both chat tools and custom receivers can use it.
import { alertTitle } from '../format.js';
import { displayUrl } from '../secrets.js';
import type { Alert, WebhookChannel } from '../types.js';
import { postForChannel, readSecretEnv, resolveHeaders, type ChannelContext, type ChannelOutcome } from './context.js';

export function webhookPayload(alert: Alert, sentAt: string): Record<string, unknown> {
  return {
    text: alertTitle(alert),
    alertname: alert.name,
    severity: alert.severity,
    summary: alert.summary,
    description: alert.description,
    model: alert.model,
    version: alert.version,
    labels: alert.labels ?? {},
    details: alert.details ?? {},
    generatorURL: alert.generatorURL,
    startsAt: alert.startsAt ?? sentAt,
    endsAt: alert.endsAt,
    source: 'mlops',
  };
}

export async function sendWebhook(channel: WebhookChannel, alert: Alert, context: ChannelContext): Promise<ChannelOutcome> {
  let url = channel.url;
  if (channel.urlEnv) {
    url = readSecretEnv(context.env, channel.urlEnv, 'url_env');
    context.scrubber.add(url);
  }
  const headers = resolveHeaders(channel.headers, channel.headersEnv, context);
  const shownUrl = displayUrl(url!, channel.urlEnv !== undefined);
  return postForChannel(channel, context, { url: url!, shownUrl, body: webhookPayload(alert, context.now.toISOString()), headers });
}
