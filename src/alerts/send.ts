// Sends one alert to a set of channels at once. Never throws for a failed delivery: each
// channel's result says what happened, and the caller decides what that means for the exit code.
import type { Env } from '../config.js';
import { messageOf } from '../errors.js';
import { sendToAlertmanager } from './channels/alertmanager.js';
import { ChannelSetupError, type ChannelContext, type ChannelOutcome } from './channels/context.js';
import { sendEmail } from './channels/email.js';
import { sendWebhook } from './channels/webhook.js';
import { Scrubber } from './secrets.js';
import type { Alert, AlertChannel, AlertEvent, ChannelResult, FetchLike } from './types.js';

export interface SendOptions {
  env: Env;
  onEvent?: (event: AlertEvent) => void;
  fetchImpl?: FetchLike;
  /** Overrides every channel's per-attempt timeout. */
  timeoutMs?: number;
  /** First retry delay; doubles each time (default 500 ms: 0.5 s, 1 s, 2 s ...). */
  retryBaseMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => Date;
}

const DEFAULT_RETRY_BASE_MS = 500;

function scrubEvent(event: AlertEvent, scrubber: Scrubber): AlertEvent {
  switch (event.type) {
    case 'alert.attempt':
      return { ...event, target: scrubber.scrub(event.target) };
    case 'alert.retry':
      return { ...event, reason: scrubber.scrub(event.reason) };
    default:
      return { ...event, message: scrubber.scrub(event.message) };
  }
}

async function sendOne(channel: AlertChannel, alert: Alert, options: SendOptions, now: Date): Promise<ChannelResult> {
  const scrubber = new Scrubber();
  const emit = (event: AlertEvent) => options.onEvent?.(scrubEvent(event, scrubber));
  const context: ChannelContext = {
    env: options.env,
    fetchImpl: options.fetchImpl ?? fetch,
    sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    retryBaseMs: options.retryBaseMs ?? DEFAULT_RETRY_BASE_MS,
    timeoutMs: options.timeoutMs,
    now,
    scrubber,
    emit,
  };
  let outcome: ChannelOutcome;
  try {
    if (channel.type === 'webhook') outcome = await sendWebhook(channel, alert, context);
    else if (channel.type === 'email') outcome = await sendEmail(channel, alert, context);
    else outcome = await sendToAlertmanager(channel, alert, context);
  } catch (error) {
    // A setup problem is the user's to fix; anything else is a bug, but still one channel's failure.
    const reason = error instanceof ChannelSetupError ? error.message : `unexpected error: ${messageOf(error)}`;
    outcome = { ok: false, tries: 0, message: reason };
  }
  const result: ChannelResult = {
    channel: channel.name,
    type: channel.type,
    ok: outcome.ok,
    tries: outcome.tries,
    message: scrubber.scrub(`${channel.type} ${channel.name}: ${outcome.message}`),
  };
  if (outcome.status !== undefined) result.status = outcome.status;
  emit({ type: outcome.ok ? 'alert.sent' : 'alert.failed', channel: channel.name, channelType: channel.type, tries: outcome.tries, message: result.message });
  return result;
}

/** One result per channel, in the order given. */
export async function sendAlert(channels: readonly AlertChannel[], alert: Alert, options: SendOptions): Promise<ChannelResult[]> {
  const now = options.now?.() ?? new Date();
  return Promise.all(channels.map((channel) => sendOne(channel, alert, options, now)));
}

/** The alert `mlops alert test CHANNEL` sends: clearly a test, harmless to receive. */
export function testAlert(channel: AlertChannel): Alert {
  return {
    name: 'MlopsTestAlert',
    severity: 'info',
    summary: `test alert from mlops to channel ${channel.name}`,
    description: 'Sent by `mlops alert test` to check this channel works. No action needed.',
    labels: { test: 'true' },
  };
}

export async function sendTestAlert(channel: AlertChannel, options: SendOptions): Promise<ChannelResult> {
  const [result] = await sendAlert([channel], testAlert(channel), options);
  return result!;
}
