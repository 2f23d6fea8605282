// Webhook channel: one JSON POST carrying a Slack-compatible `text` line and the alert's
// structured fields, so both chat tools and custom receivers can use it.
import { alertTitle } from '../format.js';
import { postJsonWithRetry } from '../http.js';
import { displayUrl } from '../secrets.js';
import type { Alert, WebhookChannel } from '../types.js';
import { readSecretEnv, resolveHeaders, type ChannelContext, type ChannelOutcome } from './context.js';

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
  return postJsonWithRetry({
    url: url!,
    shownUrl,
    body: webhookPayload(alert, context.now.toISOString()),
    headers,
    timeoutMs: context.timeoutMs ?? channel.timeoutMs,
    maxTries: channel.maxTries,
    retryBaseMs: context.retryBaseMs,
    fetchImpl: context.fetchImpl,
    sleep: context.sleep,
    onAttempt: (attempt) => context.emit({ type: 'alert.attempt', channel: channel.name, channelType: 'webhook', attempt, target: shownUrl }),
    onRetry: (attempt, delayMs, reason) => context.emit({ type: 'alert.retry', channel: channel.name, channelType: 'webhook', attempt, delayMs, reason }),
  });
}
