// What a channel needs to send once: the environment, IO, the clock, and a scrubber it
// fills with the secrets it reads, so nothing it reports can leak them.
import type { Env } from '../../config.js';
import { postJsonWithRetry } from '../http.js';
import type { Scrubber } from '../secrets.js';
import type { AlertEvent, AlertmanagerChannel, FetchLike, WebhookChannel } from '../types.js';

export interface ChannelContext {
  env: Env;
  fetchImpl: FetchLike;
  sleep: (ms: number) => Promise<void>;
  retryBaseMs: number;
  /** Overrides the channel's own timeout (e.g. --timeout on the command line). */
  timeoutMs?: number;
  now: Date;
  scrubber: Scrubber;
  /** Events pass through the scrubber before the caller sees them. */
  emit: (event: AlertEvent) => void;
}

export interface ChannelOutcome {
  ok: boolean;
  tries: number;
  status?: number;
  /** Without the "<type> <name>:" prefix; send.ts adds it and scrubs. */
  message: string;
}

/** A configuration problem found while sending (an unset variable): the result says so, nothing is thrown out. */
export class ChannelSetupError extends Error {}

export function readSecretEnv(env: Env, variable: string, field: string): string {
  const value = env[variable];
  if (value === undefined || value === '') {
    throw new ChannelSetupError(`environment variable ${variable} (${field}) is not set`);
  }
  return value;
}

/** Static headers plus the ones whose values come from the environment (registered as secrets). */
export function resolveHeaders(
  headers: Record<string, string>,
  headersEnv: Record<string, string>,
  context: ChannelContext,
): Record<string, string> {
  const out = { ...headers };
  for (const [name, variable] of Object.entries(headersEnv)) {
    const value = readSecretEnv(context.env, variable, `headers_env.${name}`);
    context.scrubber.add(value);
    // "Bearer xyz": the token alone may be echoed back by a server.
    for (const part of value.split(/\s+/)) context.scrubber.add(part);
    out[name] = value;
  }
  return out;
}

/** One JSON POST under the channel's timeout and retry policy, each attempt and retry reported as an event. */
export function postForChannel(
  channel: WebhookChannel | AlertmanagerChannel,
  context: ChannelContext,
  request: { url: string; shownUrl: string; body: unknown; headers: Record<string, string> },
): Promise<ChannelOutcome> {
  return postJsonWithRetry({
    ...request,
    timeoutMs: context.timeoutMs ?? channel.timeoutMs,
    maxTries: channel.maxTries,
    retryBaseMs: context.retryBaseMs,
    fetchImpl: context.fetchImpl,
    sleep: context.sleep,
    onAttempt: (attempt) => context.emit({ type: 'alert.attempt', channel: channel.name, channelType: channel.type, attempt, target: request.shownUrl }),
    onRetry: (attempt, delayMs, reason) => context.emit({ type: 'alert.retry', channel: channel.name, channelType: channel.type, attempt, delayMs, reason }),
  });
}
