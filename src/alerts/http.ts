// One JSON POST with a per-attempt timeout and exponential backoff, shared by the webhook
// and Alertmanager channels. Retries 5xx, 429 and network errors; other 4xx are final.
import { STATUS_CODES } from 'node:http';
import type { FetchLike } from './types.js';

export interface PostOptions {
  url: string;
  /** What messages show instead of url (a secret URL is shown by origin only). */
  shownUrl: string;
  body: unknown;
  headers: Record<string, string>;
  timeoutMs: number;
  maxTries: number;
  /** First backoff; doubles after each failed attempt. */
  retryBaseMs: number;
  fetchImpl: FetchLike;
  sleep: (ms: number) => Promise<void>;
  onAttempt?: (attempt: number) => void;
  onRetry?: (attempt: number, delayMs: number, reason: string) => void;
}

export interface PostOutcome {
  ok: boolean;
  tries: number;
  status?: number;
  /** One line without the channel prefix, e.g. "POST https://x answered 500 after 3 tries". */
  message: string;
}

/** The useful part of a fetch failure: undici hides the errno in `cause`. */
function networkReason(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'timeout';
    const cause = (error as { cause?: unknown }).cause;
    if (cause instanceof Error) {
      const code = (cause as NodeJS.ErrnoException).code;
      return code && !cause.message.includes(code) ? `${code} ${cause.message}` : cause.message;
    }
    return error.message;
  }
  return String(error);
}

function oneLine(text: string, max = 200): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max)}...` : line;
}

function plural(tries: number): string {
  return tries === 1 ? '1 try' : `${tries} tries`;
}

export async function postJsonWithRetry(options: PostOptions): Promise<PostOutcome> {
  const target = `POST ${options.shownUrl}`;
  let lastProblem = '';
  let lastDetail = '';
  let lastStatus: number | undefined;
  for (let attempt = 1; attempt <= options.maxTries; attempt++) {
    options.onAttempt?.(attempt);
    try {
      const response = await options.fetchImpl(options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...options.headers },
        body: JSON.stringify(options.body),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      lastStatus = response.status;
      // Read the body whole so the connection is released before any retry.
      const text = await response.text().catch(() => '');
      if (response.ok) return { ok: true, tries: attempt, status: response.status, message: `${target} answered ${response.status} (${plural(attempt)})` };
      const retryable = response.status >= 500 || response.status === 429;
      // "answered 500 Internal Server Error; body: ..." -- never a bare body after a colon,
      // which read like a verdict ("answered 500 after 2 tries: ok").
      // The standard reason phrase, not the peer's (a 500 may call itself "OK").
      const reason = STATUS_CODES[response.status];
      const statusText = reason ? ` ${reason}` : '';
      lastProblem = `answered ${response.status}${statusText}`;
      lastDetail = text.trim() ? `; response body: ${oneLine(text)}` : '';
      if (!retryable) {
        return { ok: false, tries: attempt, status: response.status, message: `${target} ${lastProblem} (client error, not retried)${lastDetail}` };
      }
    } catch (error) {
      const reason = networkReason(error);
      lastProblem = reason === 'timeout' ? `timed out (${options.timeoutMs} ms per try)` : `failed: ${oneLine(reason)}`;
      lastDetail = '';
      lastStatus = undefined;
    }
    if (attempt < options.maxTries) {
      const delayMs = options.retryBaseMs * 2 ** (attempt - 1);
      options.onRetry?.(attempt, delayMs, lastProblem);
      await options.sleep(delayMs);
    }
  }
  return { ok: false, tries: options.maxTries, status: lastStatus, message: `${target} ${lastProblem} after ${plural(options.maxTries)}${lastDetail}` };
}
