// The serving core of one process, and its HTTP dispatcher: it owns the models, the
// inference pipeline and the feedback memory, hands each request to the protocol module
// that claims its path (src/serve/protocols/), and turns what they throw into answers.
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { messageOf } from '../errors.js';
import type { LogSink } from '../prediction-log/index.js';
import type { OnServeEvent } from './events.js';
import { FeedbackMemory, type FeedbackAnswer } from './feedback.js';
import { ClientGone, HttpError, checkContentType, parseJson, readBody, sendJson } from './http.js';
import { countRequest } from './http-server.js';
import type { ServeMetrics } from './metrics.js';
import type { ModelSource } from './model.js';
import { ModelSet, type ServedVersion } from './models.js';
import type { ServePlan } from './options.js';
import { Predictor } from './predictor.js';
import { healthProtocol } from './protocols/health.js';
import { kserveV1Protocol } from './protocols/kserve-v1.js';
import { oipV2Protocol } from './protocols/oip-v2.js';
import { ownProtocol } from './protocols/own.js';
import type { Exchange, ProtocolFactory, ProtocolModule, RequestContext, ServeCore } from './protocols/protocol.js';

export type { FeedbackAnswer, ServedVersion };

/** The protocol modules, asked in this order which one claims a path. */
const PROTOCOLS: readonly ProtocolFactory[] = [healthProtocol, ownProtocol, kserveV1Protocol, oipV2Protocol];

export interface AppDeps {
  plan: ServePlan;
  source: ModelSource;
  metrics: ServeMetrics;
  log?: LogSink;
  onEvent: OnServeEvent;
  now: () => Date;
  random: () => number;
  /** Cluster workers: the whole server's /metrics (the primary sums the workers). */
  clusterMetrics?: () => Promise<string>;
  /** Cluster workers: ask the other workers for a request id this one did not serve. */
  remoteFeedback?: (body: Record<string, unknown>) => Promise<FeedbackAnswer>;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export class ServeApp implements ServeCore {
  readonly plan: ServePlan;
  readonly metrics: ServeMetrics;
  readonly models: ModelSet;
  readonly feedback: FeedbackMemory;
  readonly predictor: Predictor;
  readonly clusterMetrics?: () => Promise<string>;
  readonly remoteFeedback?: (body: Record<string, unknown>) => Promise<FeedbackAnswer>;
  private readonly protocols: ProtocolModule[];
  private ready = false;
  private draining = false;
  private active = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly deps: AppDeps) {
    this.plan = deps.plan;
    this.metrics = deps.metrics;
    if (deps.clusterMetrics) this.clusterMetrics = deps.clusterMetrics;
    if (deps.remoteFeedback) this.remoteFeedback = deps.remoteFeedback;
    this.models = new ModelSet({ plan: deps.plan, source: deps.source, metrics: deps.metrics, onEvent: deps.onEvent, random: deps.random });
    this.feedback = new FeedbackMemory({ capacity: deps.plan.feedbackCapacity, ...(deps.log ? { log: deps.log } : {}), now: deps.now });
    this.predictor = new Predictor({ plan: deps.plan, metrics: deps.metrics, feedback: this.feedback, ...(deps.log ? { log: deps.log } : {}), onEvent: deps.onEvent, now: deps.now, random: deps.random });
    this.protocols = PROTOCOLS.map((create) => create(this));
  }

  get isReady(): boolean {
    return this.ready && !this.draining;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  now(): Date {
    return this.deps.now();
  }

  // ---------------------------------------------------------------- lifecycle

  /** Load and warm every model the plan names; readiness turns true only after this. */
  async load(): Promise<void> {
    await this.models.load();
    this.ready = true;
  }

  describe(): ServedVersion[] {
    return this.models.describe();
  }

  /** Join a label or outcome (cluster IPC: another worker's /feedback). */
  applyFeedback(body: Record<string, unknown>): FeedbackAnswer {
    return this.feedback.apply(body);
  }

  /** Readiness false from now on (the server still answers until it stops listening). */
  beginDrain(): void {
    this.draining = true;
    this.models.stop();
  }

  /** Resolves when no request is in flight. */
  async idle(): Promise<void> {
    if (this.active > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** After the HTTP server closed: flush the log and release every session. */
  async dispose(): Promise<void> {
    this.models.stop();
    await this.deps.log?.close();
    await this.models.dispose();
  }

  // ---------------------------------------------------------------- HTTP

  /** The request listener: never throws, always answers (unless the client left). */
  handle = (request: IncomingMessage, response: ServerResponse): void => {
    const start = performance.now();
    this.active++;
    const socket = request.socket;
    countRequest(socket, 1);
    const url = request.url ?? '/';
    const query = url.indexOf('?');
    const path = query < 0 ? url : url.slice(0, query);
    const method = request.method ?? 'GET';
    const exchange: Exchange = { request, response, path, method, context: { route: 'unknown', status: 0 } };
    if (this.draining) response.setHeader('connection', 'close');
    response.on('error', () => undefined);
    let settled = false;
    const done = () => {
      if (settled) return;
      settled = true;
      this.active--;
      countRequest(socket, -1);
      const { context } = exchange;
      if (context.status) this.deps.metrics.request(context.route, method, context.status, (performance.now() - start) / 1000);
      if (this.active === 0 && this.idleWaiters.length) for (const resolve of this.idleWaiters.splice(0)) resolve();
    };
    this.dispatch(exchange)
      .catch((error: unknown) => this.fail(exchange, error))
      .finally(done);
  };

  private async dispatch(exchange: Exchange): Promise<void> {
    for (const protocol of this.protocols) if (protocol.claims(exchange.path)) return protocol.handle(exchange);
    exchange.context.route = 'unknown';
    this.reply(exchange, 404, { error: `no route ${exchange.method} ${exchange.path.slice(0, 200)}; routes: POST /predict, POST /feedback, /v1/models, /v2/models/NAME/infer, /healthz, /readyz, /metrics` });
  }

  private fail(exchange: Exchange, error: unknown): void {
    const { request, response, context } = exchange;
    if (error instanceof ClientGone) return;
    if (error instanceof HttpError) {
      // 503 while loading is not an error of the request: mlops_requests_total shows it.
      if (error.status !== 503) {
        if (context.model) context.model.error(error.type);
        else this.deps.metrics.requestError(error.type);
      }
      if (error.closeConnection) {
        response.setHeader('connection', 'close');
        response.once('finish', () => request.socket?.destroy());
      }
      this.reply(exchange, error.status, { error: error.message });
      return;
    }
    // A bug, not the client's fault: answer 500, tell the operator, keep serving.
    context.model?.error('internal');
    const where = error instanceof Error ? error.stack?.split('\n').find((line) => line.trim().startsWith('at '))?.trim() : undefined;
    this.deps.onEvent({ type: 'internal_error', level: 'error', message: `${request.method} ${context.route}: ${messageOf(error).split('\n')[0]}${where ? ` (${where})` : ''}` });
    this.reply(exchange, 500, { error: `internal error: ${messageOf(error).split('\n')[0]}` });
  }

  // ---------------------------------------------------------------- ServeCore, for the protocol modules

  reply(exchange: Exchange, status: number, body: unknown, headers?: Record<string, string>): void {
    exchange.context.status = status;
    // Draining: no keep-alive, so that clients reconnect to a replica that stays.
    if (this.draining && !exchange.response.headersSent) exchange.response.setHeader('connection', 'close');
    sendJson(exchange.response, status, body, headers);
  }

  notAllowed(exchange: Exchange, allow: string): void {
    this.reply(exchange, 405, { error: `use ${allow} for ${exchange.context.route}` }, { allow });
  }

  async readJsonObject(request: IncomingMessage): Promise<Record<string, unknown>> {
    checkContentType(request);
    const body = parseJson(await readBody(request, this.deps.plan.maxBodyBytes));
    if (!isObject(body)) throw new HttpError(400, 'the body must be a JSON object', 'malformed_json');
    return body;
  }

  requireReady(): void {
    if (!this.ready) throw new HttpError(503, 'not ready: models are loading; retry shortly', 'internal');
  }

  /** The sticky key: body `field` (default user_id; a live experiment's --sticky), then parameters.field, then X-User-Id. */
  userId(request: IncomingMessage, body: Record<string, unknown> | undefined, field = 'user_id'): string | undefined {
    const fromBody = body?.[field] ?? (isObject(body?.parameters) ? body.parameters[field] : undefined);
    if (typeof fromBody === 'string' || typeof fromBody === 'number') return String(fromBody);
    if (fromBody !== undefined && fromBody !== null) throw new HttpError(400, `${JSON.stringify(field)} must be a string or a number`, 'validation');
    const header = request.headers['x-user-id'];
    return typeof header === 'string' && header !== '' ? header : undefined;
  }

  requestId(_request: IncomingMessage): string {
    // Server-made, always: a client-chosen id could collide with (and replace) another's
    // prediction held for feedback. The client's X-Request-Id is kept as client_request_id.
    return randomUUID();
  }

  clientRequestId(request: IncomingMessage): string | undefined {
    const header = request.headers['x-request-id'];
    return typeof header === 'string' && header.length > 0 ? header.slice(0, 128) : undefined;
  }

  authorize(exchange: Exchange): void {
    const token = this.deps.plan.authToken;
    if (token === undefined) return;
    const header = exchange.request.headers.authorization;
    const given = typeof header === 'string' && header.startsWith('Bearer ') ? Buffer.from(header.slice('Bearer '.length)) : undefined;
    const expected = Buffer.from(token);
    if (!given || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new HttpError(401, `${exchange.context.route} needs Authorization: Bearer <token> (the server was started with --auth-token-env)`, 'unauthorized');
    }
  }
}

export type { RequestContext };
