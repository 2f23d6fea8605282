// A small client for the Prometheus HTTP API (/api/v1): instant queries and a reachability
// check that tells "Prometheus is down" apart from "this query is wrong".
import { ToolFailedError, UsageError } from '../errors.js';
import type { FetchLike } from '../alerts/types.js';

export interface Sample {
  labels: Record<string, string>;
  value: number;
  /** The sample as Prometheus wrote it ("NaN", "+Inf", "0.25"): JSON has no NaN. */
  text: string;
}

export type QueryAnswer =
  | { ok: true; resultType: 'vector' | 'scalar'; samples: Sample[] }
  | { ok: false; error: string };

export interface PrometheusClientOptions {
  fetchImpl?: FetchLike;
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;

function reason(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'timed out';
    const cause = (error as { cause?: unknown }).cause;
    if (cause instanceof Error) return cause.message;
    return error.message;
  }
  return String(error);
}

/** Prometheus writes infinities as +Inf / -Inf, which Number() does not read. */
export function sampleValue(text: string): number {
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(text);
}

export function checkPrometheusUrl(url: string): string {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new UsageError(`--prometheus must be an http(s) URL, got ${JSON.stringify(url)}`, 'e.g. --prometheus http://localhost:9090');
  }
  return url.replace(/\/+$/, '');
}

export class PrometheusClient {
  readonly url: string;
  private readonly fetchImpl: FetchLike;
  private readonly timeoutMs: number;

  constructor(url: string, options: PrometheusClientOptions = {}) {
    this.url = checkPrometheusUrl(url);
    this.fetchImpl = options.fetchImpl ?? fetch;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** Throws ToolFailedError (exit 4) when nothing Prometheus-like answers at the URL; returns its version. */
  async ping(): Promise<string> {
    const endpoint = `${this.url}/api/v1/status/buildinfo`;
    const hint = `check --prometheus and that Prometheus runs: curl ${this.url}/-/ready`;
    let response: Response;
    try {
      response = await this.fetchImpl(endpoint, { signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (error) {
      throw new ToolFailedError('prometheus', `cannot reach Prometheus at ${this.url}: ${reason(error)}`, hint);
    }
    const text = await response.text().catch(() => '');
    let body: { status?: string; data?: { version?: string } } | undefined;
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      body = undefined;
    }
    if (!response.ok || body?.status !== 'success') {
      throw new ToolFailedError(
        'prometheus',
        `${this.url} does not answer like Prometheus: GET /api/v1/status/buildinfo answered ${response.status}`,
        'point --prometheus at the Prometheus server root (http://host:9090), not at a /graph page or a /metrics endpoint',
      );
    }
    return body.data?.version ?? 'unknown';
  }

  /**
   * One instant query. Never throws: a rejected query, a range-vector result or a lost
   * connection each come back as { ok: false, error } for the rule that asked.
   */
  async query(promql: string, time?: Date): Promise<QueryAnswer> {
    const form = new URLSearchParams({ query: promql });
    if (time) form.set('time', (time.getTime() / 1000).toString());
    let response: Response;
    try {
      // POST keeps long queries out of URL length limits; Prometheus accepts both.
      response = await this.fetchImpl(`${this.url}/api/v1/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      return { ok: false, error: `query failed: ${reason(error)}` };
    }
    const text = await response.text().catch(() => '');
    let body: { status?: string; error?: string; errorType?: string; data?: { resultType?: string; result?: unknown } };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      return { ok: false, error: `Prometheus answered ${response.status} with no JSON` };
    }
    if (body.status !== 'success') {
      return { ok: false, error: `Prometheus rejected the query (${body.errorType ?? response.status}): ${(body.error ?? 'no reason given').replace(/\s+/g, ' ')}` };
    }
    const resultType = body.data?.resultType;
    const result = body.data?.result;
    if (resultType === 'scalar') {
      const [, text] = result as [number, string];
      return { ok: true, resultType, samples: [{ labels: {}, value: sampleValue(text), text }] };
    }
    if (resultType === 'vector') {
      const samples = (result as { metric: Record<string, string>; value: [number, string] }[]).map((item) => ({
        labels: item.metric,
        value: sampleValue(item.value[1]),
        text: item.value[1],
      }));
      return { ok: true, resultType, samples };
    }
    return {
      ok: false,
      error: `the query returns a ${resultType ?? 'unknown'} result; a threshold needs an instant vector or scalar (wrap a range selector in rate() or last_over_time())`,
    };
  }
}
