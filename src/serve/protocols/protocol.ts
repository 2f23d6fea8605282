// The contract between the dispatcher (src/serve/app.ts) and a protocol module. A protocol
// module owns a set of paths; the dispatcher hands it every request whose path it claims,
// with the shared services (models, inference, feedback, replies) of the ServeCore.
//
// To add a protocol (e.g. a binary-tensor route): write protocols/NAME.ts exporting a
// `ProtocolFactory`, and add it to PROTOCOLS in app.ts. The module sets `context.route`
// (a low-cardinality label for the metrics) before answering, answers through
// core.reply / core.notAllowed, and throws HttpError for client errors (4xx) — the
// dispatcher turns those into a one-line JSON error and anything else into a 500.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FeedbackAnswer, FeedbackMemory } from '../feedback.js';
import type { ServeMetrics, VariantMetrics } from '../metrics.js';
import type { ModelSet } from '../models.js';
import type { ServePlan } from '../options.js';
import type { Predictor } from '../predictor.js';

/** Per-request bookkeeping the dispatcher reads when the request ends (metrics labels). */
export interface RequestContext {
  route: string;
  status: number;
  model?: VariantMetrics;
}

/** One HTTP request in flight, as a protocol module sees it. */
export interface Exchange {
  request: IncomingMessage;
  response: ServerResponse;
  /** The path without the query string, not yet percent-decoded. */
  path: string;
  method: string;
  context: RequestContext;
}

/** What the server offers every protocol module. */
export interface ServeCore {
  readonly plan: ServePlan;
  readonly metrics: ServeMetrics;
  readonly models: ModelSet;
  readonly predictor: Predictor;
  readonly feedback: FeedbackMemory;
  /** Models loaded and not draining. */
  readonly isReady: boolean;
  readonly isDraining: boolean;
  now(): Date;
  reply(exchange: Exchange, status: number, body: unknown, headers?: Record<string, string>): void;
  notAllowed(exchange: Exchange, allow: string): void;
  /** The body as a JSON object (content type and size checked). */
  readJsonObject(request: IncomingMessage): Promise<Record<string, unknown>>;
  /** Throws 503 while models are loading. */
  requireReady(): void;
  /** The sticky A/B key: body user_id, V2 parameters.user_id, or X-User-Id. */
  userId(request: IncomingMessage, body: Record<string, unknown> | undefined, field?: string): string | undefined;
  /** A new server-made id: the key feedback joins on. */
  requestId(request: IncomingMessage): string;
  /** The client's own X-Request-Id, kept beside the server's (never the join key). */
  clientRequestId(request: IncomingMessage): string | undefined;
  /** Throws 401 unless the request carries the bearer token (when --auth-token-env is set). */
  authorize(exchange: Exchange): void;
  /** Cluster workers: the whole server's /metrics (the primary sums the workers). */
  readonly clusterMetrics?: () => Promise<string>;
  /** Cluster workers: ask the other workers for a request id this one did not serve. */
  readonly remoteFeedback?: (body: Record<string, unknown>) => Promise<FeedbackAnswer>;
}

export interface ProtocolModule {
  /** True when this module answers the path (checked in order; the first claim wins). */
  claims(path: string): boolean;
  handle(exchange: Exchange): Promise<void>;
}

export type ProtocolFactory = (core: ServeCore) => ProtocolModule;
