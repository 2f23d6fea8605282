// The serving core of one process: loaded models, A/B and shadow routing, every HTTP route
// (own JSON API, KServe V1, Open Inference Protocol V2, health, metrics, feedback), the
// prediction log and the hot reload of production versions.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ExitCode, MlopsError, NotFoundError, messageOf } from '../errors.js';
import { isAliasRef } from '../registry/names.js';
import type { VersionRecord } from '../registry/types.js';
import type { OnServeEvent } from './events.js';
import { ClientGone, HttpError, checkContentType, parseJson, readBody, sendJson, sendText } from './http.js';
import { requestedOutputs, rowsFromBody, rowsFromInstances, tensorsFromV2, type Rows } from './inputs.js';
import type { ServeMetrics, VariantMetrics } from './metrics.js';
import { LoadedModel, answerRow, answerRows, outputsRow, type BatchResult, type ModelSource, type Outputs } from './model.js';
import type { ServePlan } from './options.js';
import type { FeedbackRow, LogSink, PredictionRow } from './prediction-log.js';
import { bucketBounds, chooseVariant } from './routing.js';
import { V2_DATATYPE, createTypedArray, fillTyped, flatJson, type TensorLike } from './tensors.js';

/** One way a model's traffic can go: a loaded version under a variant name. */
interface Route {
  model: LoadedModel;
  variant: string;
  experiment?: string;
  metrics: VariantMetrics;
}

interface Experiment {
  name: string;
  bounds: number[];
  arms: Route[];
}

interface Served {
  name: string;
  /** Follows the registry's production version (no NAME@VERSION, no experiment), or an alias (NAME@ALIAS). */
  follows: boolean;
  /** What it follows: 'production', or the alias name. */
  followRef?: string;
  /** The default route; undefined when an experiment owns all the traffic. */
  current?: Route;
  experiment?: Experiment;
  shadows: LoadedModel[];
}

interface Recent {
  model: string;
  version: string;
  variant: string;
  experiment?: string;
  predictions: unknown[];
  metrics: VariantMetrics;
  answered: boolean;
}

/** One loaded version and the traffic it takes (GET /readyz, the CLI's start-up lines). */
export interface ServedVersion {
  model: string;
  version: string;
  variant: string;
  experiment?: string;
  shadow?: boolean;
}

/** Answer of a feedback lookup, shared with the cluster primary (plain JSON). */
export interface FeedbackAnswer {
  status: number;
  body: Record<string, unknown>;
}

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

const MAX_PENDING_SHADOW_ROWS = 10_000;
const SHADOW_EVENT_INTERVAL_MS = 60_000;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export class ServeApp {
  private readonly served = new Map<string, Served>();
  private readonly loaded = new Map<string, LoadedModel>();
  private readonly recent = new Map<string, Recent>();
  /** Predicted rows held in `recent`: the capacity counts rows, so 100-row batches cannot hold 100x the memory. */
  private recentRows = 0;
  /** Insertion order of `recent`, oldest first from `recentHead`. */
  private recentOrder: Array<[string, Recent]> = [];
  private recentHead = 0;
  private ready = false;
  private draining = false;
  private active = 0;
  private idleWaiters: Array<() => void> = [];
  private watchTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly failedReloads = new Map<string, string>();
  private pendingShadowRows = 0;
  private readonly shadowEventAt = new Map<string, number>();
  private readonly reloadWarned = new Set<string>();

  constructor(private readonly deps: AppDeps) {}

  get isReady(): boolean {
    return this.ready && !this.draining;
  }

  // ---------------------------------------------------------------- loading

  /** Load and warm every model the plan names; readiness turns true only after this. */
  async load(): Promise<void> {
    const { plan, source } = this.deps;
    const experiments = new Map(plan.experiments.map((e) => [e.model, e]));
    const explicit = plan.models.length > 0;
    const names = explicit ? plan.models.map((m) => m.name) : await source.listModels();
    for (const name of experiments.keys()) if (!names.includes(name)) names.push(name);
    const refs = new Map(plan.models.map((m) => [m.name, m.ref]));

    for (const name of names) {
      if (this.stopped) throw new MlopsError('interrupted', 'stopped while loading models', ExitCode.interrupted);
      const served: Served = { name, follows: false, shadows: [] };
      const experiment = experiments.get(name);
      if (experiment) {
        const arms: Route[] = [];
        for (const variant of experiment.variants) {
          const model = await this.loadVersion(await source.resolve(name, variant.ref));
          arms.push(this.route(model, variant.name, experiment.name));
        }
        served.experiment = { name: experiment.name, bounds: bucketBounds(experiment.variants), arms };
      } else {
        const ref = refs.get(name);
        let record: VersionRecord;
        try {
          record = await source.resolve(name, ref ?? 'production');
        } catch (error) {
          // Serving "every model" skips the ones that have no production version yet.
          if (!explicit && error instanceof NotFoundError) {
            this.deps.onEvent({ type: 'warn', level: 'warn', message: `skipping ${name}: ${error.message}` });
            continue;
          }
          throw error;
        }
        served.follows = ref === undefined || isAliasRef(ref);
        served.followRef = ref ?? 'production';
        served.current = this.route(await this.loadVersion(record), 'default');
      }
      this.served.set(name, served);
    }
    for (const shadow of plan.shadows) {
      const served = this.served.get(shadow.model);
      if (!served) {
        throw new NotFoundError(`--shadow ${shadow.model}@${shadow.ref}: ${shadow.model} is not served`, `serve it too: mlops serve ${shadow.model} --shadow ${shadow.model}@${shadow.ref}`);
      }
      const model = await this.loadVersion(await source.resolve(shadow.model, shadow.ref));
      this.deps.metrics.shadowLoaded(model.name, model.version);
      served.shadows.push(model);
    }
    if (this.served.size === 0) {
      const models = await source.listModels();
      throw new NotFoundError(
        models.length ? `none of the registry's models (${models.join(', ')}) has a production version to serve` : `the registry ${plan.registryDir} has no models`,
        models.length ? 'promote one (mlops promote NAME VERSION --to production) or name versions: mlops serve NAME@VERSION' : 'register one first: mlops register NAME MODEL.onnx',
      );
    }
    this.ready = true;
    if (plan.watch) this.scheduleWatch();
  }

  private route(model: LoadedModel, variant: string, experiment?: string): Route {
    return { model, variant, ...(experiment ? { experiment } : {}), metrics: this.deps.metrics.variant(model.name, model.version, variant) };
  }

  private async loadVersion(record: VersionRecord): Promise<LoadedModel> {
    const key = `${record.name}@${record.version}`;
    const existing = this.loaded.get(key);
    if (existing) return existing;
    const start = performance.now();
    const model = await LoadedModel.load(this.deps.source, record, { batchWindowMs: this.deps.plan.batchWindowMs, batchMaxRows: this.deps.plan.batchMaxRows });
    const ms = Math.round(performance.now() - start);
    this.loaded.set(key, model);
    this.deps.metrics.modelLoaded(model.name, model.version);
    this.deps.onEvent({ type: 'loaded', level: 'info', message: `loaded ${record.name} ${record.version} (${ms} ms, warmed)`, model: record.name, version: record.version, ms });
    return model;
  }

  /** What is being served, for the CLI's start-up lines and GET /v1/models. */
  describe(): ServedVersion[] {
    const out: ServedVersion[] = [];
    for (const served of this.served.values()) {
      if (served.current) out.push({ model: served.name, version: served.current.model.version, variant: 'default' });
      for (const arm of served.experiment?.arms ?? []) out.push({ model: served.name, version: arm.model.version, variant: arm.variant, experiment: served.experiment!.name });
      for (const shadow of served.shadows) out.push({ model: served.name, version: shadow.version, variant: 'shadow', shadow: true });
    }
    return out;
  }

  // ---------------------------------------------------------------- hot reload

  private scheduleWatch(): void {
    if (this.stopped) return;
    this.watchTimer = setTimeout(() => {
      void this.checkForPromotions().finally(() => this.scheduleWatch());
    }, this.deps.plan.pollIntervalMs);
    this.watchTimer.unref();
  }

  /** One poll: load, warm and switch to any new production version; the old keeps serving on failure. */
  async checkForPromotions(): Promise<void> {
    for (const served of this.served.values()) {
      if (!served.follows || !served.current || this.stopped) continue;
      let record: VersionRecord;
      try {
        record = await this.deps.source.resolve(served.name, served.followRef ?? 'production');
        this.reloadWarned.delete(served.name);
      } catch (error) {
        if (!this.reloadWarned.has(served.name)) {
          this.reloadWarned.add(served.name);
          this.deps.onEvent({ type: 'reload_failed', level: 'warn', message: `cannot read ${served.followRef && served.followRef !== 'production' ? `${served.name}@${served.followRef}` : `${served.name}'s production version`} (${messageOf(error)}); still serving ${served.current.model.version}`, model: served.name });
        }
        continue;
      }
      const old = served.current.model;
      if (record.version === old.version || this.failedReloads.get(served.name) === `${record.version}:${record.artifact.sha256}`) continue;
      let next: LoadedModel;
      try {
        next = await this.loadVersion(record);
      } catch (error) {
        this.failedReloads.set(served.name, `${record.version}:${record.artifact.sha256}`);
        this.deps.onEvent({ type: 'reload_failed', level: 'warn', message: `could not load ${served.name} ${record.version} (${messageOf(error)}); still serving ${old.version}`, model: served.name, version: record.version });
        continue;
      }
      if (this.stopped) return;
      this.failedReloads.delete(served.name);
      // Requests already holding the old route finish on the old session.
      served.current = this.route(next, 'default');
      this.deps.onEvent({ type: 'reloaded', level: 'info', message: `${served.name}: now serving ${record.version} (was ${old.version})`, model: served.name, from: old.version, to: record.version });
      if (!this.inUse(old)) {
        this.loaded.delete(`${old.name}@${old.version}`);
        this.deps.metrics.modelUnloaded(old.name, old.version);
        void old.retire();
      }
    }
  }

  private inUse(model: LoadedModel): boolean {
    for (const served of this.served.values()) {
      if (served.current?.model === model || served.shadows.includes(model) || served.experiment?.arms.some((a) => a.model === model)) return true;
    }
    return false;
  }

  // ---------------------------------------------------------------- drain

  /** Readiness false from now on (the server still answers until it stops listening). */
  beginDrain(): void {
    this.draining = true;
    this.stopped = true;
    if (this.watchTimer) clearTimeout(this.watchTimer);
  }

  /** Resolves when no request is in flight. */
  async idle(): Promise<void> {
    if (this.active > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** After the HTTP server closed: flush the log and release every session. */
  async dispose(): Promise<void> {
    this.stopped = true;
    if (this.watchTimer) clearTimeout(this.watchTimer);
    await this.deps.log?.close();
    for (const model of this.loaded.values()) await model.retire();
    this.loaded.clear();
  }

  // ---------------------------------------------------------------- HTTP

  /** The request listener: never throws, always answers (unless the client left). */
  handle = (request: IncomingMessage, response: ServerResponse): void => {
    const start = performance.now();
    this.active++;
    const url = request.url ?? '/';
    const query = url.indexOf('?');
    const path = query < 0 ? url : url.slice(0, query);
    const method = request.method ?? 'GET';
    const context: RequestContext = { route: 'unknown', status: 0 };
    if (this.draining) response.setHeader('connection', 'close');
    response.on('error', () => undefined);
    let settled = false;
    const done = () => {
      if (settled) return;
      settled = true;
      this.active--;
      if (context.status) this.deps.metrics.request(context.route, method, context.status, (performance.now() - start) / 1000);
      if (this.active === 0 && this.idleWaiters.length) for (const resolve of this.idleWaiters.splice(0)) resolve();
    };
    this.dispatch(request, response, path, method, context)
      .catch((error: unknown) => this.fail(request, response, context, error))
      .finally(done);
  };

  private fail(request: IncomingMessage, response: ServerResponse, context: RequestContext, error: unknown): void {
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
      this.reply(response, context, error.status, { error: error.message });
      return;
    }
    // A bug, not the client's fault: answer 500, tell the operator, keep serving.
    context.model?.error('internal');
    this.deps.onEvent({ type: 'internal_error', level: 'error', message: `${request.method} ${context.route}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}` });
    this.reply(response, context, 500, { error: `internal error: ${messageOf(error)}` });
  }

  private reply(response: ServerResponse, context: RequestContext, status: number, body: unknown, headers?: Record<string, string>): void {
    context.status = status;
    // Draining: no keep-alive, so that clients reconnect to a replica that stays.
    if (this.draining && !response.headersSent) response.setHeader('connection', 'close');
    sendJson(response, status, body, headers);
  }

  private async dispatch(request: IncomingMessage, response: ServerResponse, path: string, method: string, context: RequestContext): Promise<void> {
    switch (path) {
      case '/predict':
        context.route = '/predict';
        if (method !== 'POST') return this.notAllowed(response, context, 'POST');
        return this.predict(request, response, context);
      case '/feedback':
        context.route = '/feedback';
        if (method !== 'POST') return this.notAllowed(response, context, 'POST');
        return this.feedback(request, response, context);
      case '/healthz':
      case '/v2/health/live':
        context.route = path;
        if (method !== 'GET' && method !== 'HEAD') return this.notAllowed(response, context, 'GET');
        return this.reply(response, context, 200, path === '/healthz' ? { status: 'ok' } : { live: true });
      case '/readyz':
      case '/v2/health/ready':
        context.route = path;
        if (method !== 'GET' && method !== 'HEAD') return this.notAllowed(response, context, 'GET');
        if (this.isReady) return this.reply(response, context, 200, { ready: true, models: this.describe() });
        return this.reply(response, context, 503, { ready: false, error: this.draining ? 'draining: the server is shutting down' : 'not ready: models are loading' });
      case '/metrics':
        context.route = '/metrics';
        if (method !== 'GET') return this.notAllowed(response, context, 'GET');
        return this.metricsRoute(response, context);
      case '/v2':
        context.route = '/v2';
        if (method !== 'GET') return this.notAllowed(response, context, 'GET');
        return this.reply(response, context, 200, { name: 'mlops', version: this.deps.plan.serverVersion, extensions: [] });
      case '/v1/models':
        context.route = '/v1/models';
        if (method !== 'GET') return this.notAllowed(response, context, 'GET');
        return this.reply(response, context, 200, { models: [...this.served.keys()] });
    }
    if (path.startsWith('/v2/models/')) return this.v2(request, response, path, method, context);
    if (path.startsWith('/v1/models/')) return this.v1(request, response, path, method, context);
    context.route = 'unknown';
    this.reply(response, context, 404, { error: `no route ${method} ${path.slice(0, 200)}; routes: POST /predict, POST /feedback, /v1/models, /v2/models/NAME/infer, /healthz, /readyz, /metrics` });
  }

  private notAllowed(response: ServerResponse, context: RequestContext, allow: string): void {
    this.reply(response, context, 405, { error: `use ${allow} for ${context.route}` }, { allow });
  }

  private async metricsRoute(response: ServerResponse, context: RequestContext): Promise<void> {
    const text = this.deps.clusterMetrics ? await this.deps.clusterMetrics() : await this.deps.metrics.text();
    context.status = 200;
    if (this.draining && !response.headersSent) response.setHeader('connection', 'close');
    sendText(response, 200, text, this.deps.metrics.contentType);
  }

  private async readJsonObject(request: IncomingMessage): Promise<Record<string, unknown>> {
    checkContentType(request);
    const body = parseJson(await readBody(request, this.deps.plan.maxBodyBytes));
    if (!isObject(body)) throw new HttpError(400, 'the body must be a JSON object', 'malformed_json');
    return body;
  }

  private requireReady(): void {
    if (!this.ready) throw new HttpError(503, 'not ready: models are loading; retry shortly', 'internal');
  }

  /** The served model a request names, or the only one. */
  private servedModel(name: unknown): Served {
    if (name === undefined) {
      if (this.served.size === 1) return this.served.values().next().value!;
      throw new HttpError(400, `say which model: add "model" (one of ${[...this.served.keys()].join(', ')})`, 'validation');
    }
    if (typeof name !== 'string') throw new HttpError(400, '"model" must be a string', 'validation');
    const served = this.served.get(name);
    if (!served) throw new HttpError(404, `model ${JSON.stringify(name.slice(0, 100))} is not served here; served: ${[...this.served.keys()].join(', ')}`, 'not_found');
    return served;
  }

  /** A/B choice, an explicit version, or the default route. */
  private pick(served: Served, version: unknown, userId: string | undefined): Route {
    if (version !== undefined) {
      if (typeof version !== 'string') throw new HttpError(400, '"version" must be a string such as v1.0.0', 'validation');
      const arm = served.experiment?.arms.find((a) => a.model.version === version);
      if (arm) return arm;
      if (served.current?.model.version === version) return served.current;
      const shadow = served.shadows.find((m) => m.version === version);
      if (shadow) return this.route(shadow, 'default');
      throw new HttpError(404, `${served.name} ${version} is not loaded here; loaded: ${this.versionsOf(served).join(', ')}`, 'not_found');
    }
    if (served.experiment) {
      const { name, bounds, arms } = served.experiment;
      return arms[chooseVariant(name, bounds, userId, this.deps.random)]!;
    }
    return served.current!;
  }

  private versionsOf(served: Served): string[] {
    const versions = new Set<string>();
    if (served.current) versions.add(served.current.model.version);
    for (const arm of served.experiment?.arms ?? []) versions.add(arm.model.version);
    for (const shadow of served.shadows) versions.add(shadow.version);
    return [...versions];
  }

  private userId(request: IncomingMessage, body: Record<string, unknown> | undefined): string | undefined {
    const fromBody = body?.user_id ?? (isObject(body?.parameters) ? body.parameters.user_id : undefined);
    if (typeof fromBody === 'string' || typeof fromBody === 'number') return String(fromBody);
    if (fromBody !== undefined && fromBody !== null) throw new HttpError(400, '"user_id" must be a string or a number', 'validation');
    const header = request.headers['x-user-id'];
    return typeof header === 'string' && header !== '' ? header : undefined;
  }

  private requestId(request: IncomingMessage): string {
    const header = request.headers['x-request-id'];
    return typeof header === 'string' && header.length > 0 && header.length <= 128 ? header : randomUUID();
  }

  // ---------------------------------------------------------------- POST /predict

  private async predict(request: IncomingMessage, response: ServerResponse, context: RequestContext): Promise<void> {
    const body = await this.readJsonObject(request);
    this.requireReady();
    const served = this.servedModel(body.model);
    const route = this.pick(served, body.version, this.userId(request, body));
    context.model = route.metrics;
    const rows = rowsFromBody(body, route.model);
    const requestId = this.requestId(request);
    const result = await this.infer(route, rows);
    const time = this.deps.now().toISOString();
    const plan = route.model.plan;
    let answer: Record<string, unknown>;
    let predictions: unknown[];
    if (body.features !== undefined) {
      const row = answerRow(plan, result.outputs, result.offset);
      predictions = [row.prediction];
      answer = { ...row, model: route.model.name, version: route.model.version, variant: route.variant, ...(route.experiment ? { experiment: route.experiment } : {}), request_id: requestId, timestamp: time };
    } else {
      const rowsAnswer = answerRows(plan, result.outputs, result.offset, rows.rows);
      predictions = rowsAnswer.predictions;
      answer = { predictions, ...(rowsAnswer.probabilities ? { probabilities: rowsAnswer.probabilities } : {}), model: route.model.name, version: route.model.version, variant: route.variant, ...(route.experiment ? { experiment: route.experiment } : {}), request_id: requestId, timestamp: time };
    }
    this.reply(response, context, 200, answer);
    this.afterPrediction(served, route, rows, result, requestId, time, predictions);
  }

  private async infer(route: Route, rows: Rows): Promise<BatchResult> {
    this.countOutOfDistribution(route, rows);
    let result: BatchResult;
    try {
      result = await route.model.predictRows(rows.data, rows.rows);
    } catch (error) {
      throw new HttpError(500, `inference failed in ${route.model.name} ${route.model.version}: ${messageOf(error).split('\n')[0]}`, 'inference');
    }
    route.metrics.predictions.inc(rows.rows);
    if (result.offset === 0) route.metrics.latency.observe(result.seconds);
    return result;
  }

  private countOutOfDistribution(route: Route, rows: Rows): void {
    const { oodMin, oodMax, featureNames } = route.model;
    if (!oodMin || !oodMax) return;
    for (const row of rows.raw) {
      for (let i = 0; i < oodMin.length; i++) {
        const value = row[i]!;
        if (value < oodMin[i]! || value > oodMax[i]!) route.metrics.ood(featureNames[i]!);
      }
    }
  }

  /** Log, remember for feedback, and copy to shadows: all after the answer is on its way. */
  private afterPrediction(served: Served, route: Route, rows: Rows, result: BatchResult, requestId: string, time: string, predictions: unknown[]): void {
    const log = this.deps.log;
    const sampled = log !== undefined && this.deps.plan.log !== undefined && (this.deps.plan.log.sample >= 1 || this.deps.random() < this.deps.plan.log.sample);
    if (sampled) log.write(logLines({ request_id: requestId, time, model: route.model.name, version: route.model.version, variant: route.variant, ...(route.experiment ? { experiment: route.experiment } : {}) }, rows, result));
    this.remember(requestId, { model: route.model.name, version: route.model.version, variant: route.variant, ...(route.experiment ? { experiment: route.experiment } : {}), predictions, metrics: route.metrics, answered: false });
    if (served.shadows.length) setImmediate(() => this.runShadows(served, rows, requestId, sampled));
  }

  private remember(requestId: string, entry: Recent): void {
    // Bounded by rows, not requests: with 100-row batches a request-count bound holds
    // 100x the predictions, and a larger old generation costs 100-row throughput (~15%:
    // 1.08M vs 1.26M rows/s with a 100,000 vs 1,000 request bound). Eviction follows
    // an insertion-order queue: taking the oldest through Map.entries() rescans every
    // deleted slot at the front of V8's table, which made batches 25% slower still.
    const capacity = this.deps.plan.feedbackCapacity;
    // A client may reuse an id (X-Request-Id, V2 "id"): the newest prediction wins.
    const previous = this.recent.get(requestId);
    if (previous) {
      this.recent.delete(requestId);
      this.recentRows -= previous.predictions.length;
    }
    while (this.recentHead < this.recentOrder.length && this.recentRows + entry.predictions.length > capacity) {
      const [oldestId, oldest] = this.recentOrder[this.recentHead]!;
      this.recentHead++;
      // Skip queue slots whose id was reused since: the map holds the newer entry.
      if (this.recent.get(oldestId) !== oldest) continue;
      this.recent.delete(oldestId);
      this.recentRows -= oldest.predictions.length;
    }
    if (this.recentHead > 1024 && this.recentHead * 2 > this.recentOrder.length) {
      this.recentOrder = this.recentOrder.slice(this.recentHead);
      this.recentHead = 0;
    }
    this.recent.set(requestId, entry);
    this.recentOrder.push([requestId, entry]);
    this.recentRows += entry.predictions.length;
  }


  // ---------------------------------------------------------------- shadows

  private runShadows(served: Served, rows: Rows, requestId: string, sampled: boolean): void {
    for (const shadow of served.shadows) {
      if (this.pendingShadowRows + rows.rows > MAX_PENDING_SHADOW_ROWS) {
        this.shadowFailed(shadow, 'dropped: the shadow is more than 10,000 rows behind');
        continue;
      }
      let data = rows.data;
      const width = shadow.width;
      if (width === undefined || width !== rows.raw[0]?.length) {
        this.shadowFailed(shadow, `it expects ${width ?? 'non-tabular'} features per row, the request had ${rows.raw[0]?.length}`);
        continue;
      }
      if (shadow.input.type !== rows.type) {
        data = createTypedArray(shadow.input.type, rows.rows * width);
        const problem = rows.raw.map((row, r) => fillTyped(shadow.input.type, data, r * width, row, (i) => `[${r}][${i}]`)).find(Boolean);
        if (problem) {
          this.shadowFailed(shadow, problem);
          continue;
        }
      }
      this.pendingShadowRows += rows.rows;
      shadow
        .predictRows(data, rows.rows)
        .then((result) => {
          this.deps.metrics.shadowPrediction(shadow.name, shadow.version, rows.rows);
          if (!sampled || !this.deps.log) return;
          const time = this.deps.now().toISOString();
          this.deps.log.write(logLines({ request_id: requestId, time, model: shadow.name, version: shadow.version, variant: 'shadow' }, rows, result, true));
        })
        .catch((error: unknown) => this.shadowFailed(shadow, messageOf(error).split('\n')[0]!))
        .finally(() => {
          this.pendingShadowRows -= rows.rows;
        });
    }
  }

  private shadowFailed(shadow: LoadedModel, reason: string): void {
    this.deps.metrics.shadowError(shadow.name, shadow.version);
    const key = `${shadow.name}@${shadow.version}`;
    const last = this.shadowEventAt.get(key);
    const now = Date.now();
    if (last === undefined || now - last > SHADOW_EVENT_INTERVAL_MS) {
      this.shadowEventAt.set(key, now);
      this.deps.onEvent({ type: 'shadow_error', level: 'warn', message: `shadow ${key} failed (clients are not affected): ${reason}`, model: shadow.name, version: shadow.version });
    }
  }

  // ---------------------------------------------------------------- POST /feedback

  private async feedback(request: IncomingMessage, response: ServerResponse, context: RequestContext): Promise<void> {
    const body = await this.readJsonObject(request);
    const answer = this.applyFeedback(body);
    if (answer.status === 404 && this.deps.remoteFeedback) {
      const remote = await this.deps.remoteFeedback(body);
      return this.reply(response, context, remote.status, remote.body);
    }
    this.reply(response, context, answer.status, answer.body);
  }

  /** Join a label or outcome to a remembered prediction; plain JSON in and out (cluster IPC). */
  applyFeedback(body: Record<string, unknown>): FeedbackAnswer {
    const requestId = body.request_id;
    if (typeof requestId !== 'string' || requestId === '') return { status: 400, body: { error: 'send {"request_id": "...", "label": ...} or {"request_id": "...", "outcome": NUMBER}' } };
    const hasLabel = body.label !== undefined && body.label !== null;
    const hasOutcome = body.outcome !== undefined && body.outcome !== null;
    if (hasLabel === hasOutcome) return { status: 400, body: { error: 'send exactly one of "label" (a class) or "outcome" (a number)' } };
    if (hasLabel && !['string', 'number', 'boolean'].includes(typeof body.label)) return { status: 400, body: { error: '"label" must be a string, a number or a boolean' } };
    if (hasOutcome && (typeof body.outcome !== 'number' || !Number.isFinite(body.outcome))) return { status: 400, body: { error: '"outcome" must be a finite number' } };
    const entry = this.recent.get(requestId);
    if (!entry) {
      return { status: 404, body: { error: `unknown request_id ${JSON.stringify(requestId.slice(0, 100))}: not served here, or older than the last ${this.deps.plan.feedbackCapacity} predicted rows kept for feedback` } };
    }
    const row = body.row ?? 0;
    if (typeof row !== 'number' || !Number.isInteger(row) || row < 0 || row >= entry.predictions.length) {
      return { status: 400, body: { error: `"row" must be an index below ${entry.predictions.length} (the rows of that request)` } };
    }
    if (entry.answered && entry.predictions.length === 1) return { status: 409, body: { error: `feedback for ${requestId} was already recorded` } };
    entry.answered = true;
    const prediction = entry.predictions[row];
    const line: FeedbackRow = {
      type: 'feedback',
      request_id: requestId,
      time: this.deps.now().toISOString(),
      model: entry.model,
      version: entry.version,
      variant: entry.variant,
      ...(entry.experiment ? { experiment: entry.experiment } : {}),
      ...(entry.predictions.length > 1 ? { row } : {}),
      prediction,
    };
    if (hasLabel) {
      line.label = body.label;
      line.correct = sameLabel(prediction, body.label);
      entry.metrics.recordLabel(line.correct);
    } else {
      line.outcome = body.outcome as number;
      entry.metrics.recordOutcome();
    }
    this.deps.log?.write(`${JSON.stringify(line)}\n`);
    return { status: 200, body: { request_id: requestId, model: entry.model, version: entry.version, variant: entry.variant, prediction, ...(hasLabel ? { label: body.label, correct: line.correct } : { outcome: body.outcome }) } };
  }

  // ---------------------------------------------------------------- KServe V1

  private async v1(request: IncomingMessage, response: ServerResponse, path: string, method: string, context: RequestContext): Promise<void> {
    const rest = decodeURIComponent(path.slice('/v1/models/'.length));
    if (rest.endsWith(':predict')) {
      context.route = '/v1/models/:name:predict';
      if (method !== 'POST') return this.notAllowed(response, context, 'POST');
      const body = await this.readJsonObject(request);
      this.requireReady();
      const served = this.servedModel(rest.slice(0, -':predict'.length));
      const route = this.pick(served, undefined, this.userId(request, body));
      context.model = route.metrics;
      const rows = rowsFromInstances(body.instances, route.model, '"instances"');
      const requestId = this.requestId(request);
      const result = await this.infer(route, rows);
      const { predictions } = answerRows(route.model.plan, result.outputs, result.offset, rows.rows);
      this.reply(response, context, 200, { predictions }, { 'x-request-id': requestId, 'x-model-version': route.model.version, 'x-variant': route.variant });
      this.afterPrediction(served, route, rows, result, requestId, this.deps.now().toISOString(), predictions);
      return;
    }
    context.route = '/v1/models/:name';
    if (method !== 'GET') return this.notAllowed(response, context, 'GET');
    const served = this.servedModel(rest);
    this.reply(response, context, 200, { name: served.name, ready: this.isReady, versions: this.versionsOf(served) });
  }

  // ---------------------------------------------------------------- Open Inference Protocol V2

  private async v2(request: IncomingMessage, response: ServerResponse, path: string, method: string, context: RequestContext): Promise<void> {
    const match = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/ready|\/infer)?$/.exec(path);
    if (!match) {
      context.route = 'unknown';
      return this.reply(response, context, 404, { error: `no route ${method} ${path.slice(0, 200)}; see /v2/models/NAME[/versions/V][/ready|/infer]` });
    }
    const name = decodeURIComponent(match[1]!);
    const version = match[2] === undefined ? undefined : decodeURIComponent(match[2]);
    const action = match[3];
    if (action === '/infer') {
      context.route = '/v2/models/:name/infer';
      if (method !== 'POST') return this.notAllowed(response, context, 'POST');
      return this.v2Infer(request, response, name, version, context);
    }
    context.route = action === '/ready' ? '/v2/models/:name/ready' : '/v2/models/:name';
    if (method !== 'GET') return this.notAllowed(response, context, 'GET');
    const served = this.servedModel(name);
    const model = version === undefined ? this.pick(served, undefined, undefined).model : this.pick(served, version, undefined).model;
    if (action === '/ready') return this.reply(response, context, this.isReady ? 200 : 503, { name: served.name, ready: this.isReady });
    const metadata = (spec: { name: string; type: string; shape: Array<number | string> }) => ({
      name: spec.name,
      datatype: V2_DATATYPE[spec.type] ?? spec.type,
      shape: spec.shape.map((d) => (typeof d === 'number' ? d : -1)),
    });
    this.reply(response, context, 200, {
      name: served.name,
      versions: this.versionsOf(served),
      platform: 'onnxruntime_onnx',
      inputs: model.signature.inputs.map(metadata),
      outputs: model.signature.outputs.filter((o) => o.type !== 'non-tensor').map(metadata),
    });
  }

  private async v2Infer(request: IncomingMessage, response: ServerResponse, name: string, version: string | undefined, context: RequestContext): Promise<void> {
    const body = await this.readJsonObject(request);
    this.requireReady();
    const served = this.servedModel(name);
    const route = this.pick(served, version, this.userId(request, body));
    context.model = route.metrics;
    const model = route.model;
    if (body.id !== undefined && typeof body.id !== 'string') throw new HttpError(400, '"id" must be a string', 'validation');
    if (body.parameters !== undefined && !isObject(body.parameters)) throw new HttpError(400, '"parameters" must be an object', 'validation');
    const tensors = tensorsFromV2(body, model);
    const fetch = requestedOutputs(body, model);
    const requestId = typeof body.id === 'string' && body.id !== '' ? body.id : this.requestId(request);
    let outputs: Outputs;
    let offset = 0;
    let rows = 1;
    let tabular: { rows: Rows; result: BatchResult } | undefined;
    if (model.width !== undefined) {
      const input = tensors.get(model.input.name)!;
      rows = input.shape[0]!;
      const raw = Array.from({ length: rows }, (_, r) => input.flat.slice(r * model.width!, (r + 1) * model.width!) as number[]);
      const rowsIn: Rows = { data: input.data, type: input.spec.type, rows, raw };
      const result = await this.infer(route, rowsIn);
      outputs = result.outputs;
      offset = result.offset;
      tabular = { rows: rowsIn, result };
    } else {
      const feeds = Object.fromEntries([...tensors.values()].map((t) => [t.spec.name, model.tensor(t.spec.type, t.data, t.shape)]));
      try {
        const result = await model.runFeeds(feeds);
        outputs = result.outputs;
        route.metrics.latency.observe(result.seconds);
      } catch (error) {
        throw new HttpError(500, `inference failed in ${model.name} ${model.version}: ${messageOf(error).split('\n')[0]}`, 'inference');
      }
      rows = tensors.get(model.input.name)!.shape[0] ?? 1;
      route.metrics.predictions.inc(rows);
    }
    const outputTensors = fetch.map((outputName) => {
      const tensor = sliceRows(outputs[outputName]!, offset, tabular ? rows : undefined);
      return { name: outputName, datatype: V2_DATATYPE[tensor.type] ?? tensor.type, shape: [...tensor.dims], data: flatJson(tensor) };
    });
    this.reply(response, context, 200, {
      model_name: model.name,
      model_version: model.version,
      id: requestId,
      parameters: { variant: route.variant, ...(route.experiment ? { experiment: route.experiment } : {}) },
      outputs: outputTensors,
    });
    if (tabular) {
      const { predictions } = answerRows(model.plan, tabular.result.outputs, tabular.result.offset, rows);
      this.afterPrediction(served, route, tabular.rows, tabular.result, requestId, this.deps.now().toISOString(), predictions);
    }
  }
}

interface RequestContext {
  route: string;
  status: number;
  model?: VariantMetrics;
}

/** Rows [offset, offset + rows) of a batch-first tensor (a coalesced run holds other requests too). */
function sliceRows(tensor: TensorLike, offset: number, rows: number | undefined): TensorLike {
  if (rows === undefined) return tensor;
  const batch = tensor.dims[0] ?? 0;
  if (offset === 0 && rows === batch) return tensor;
  const perRow = batch > 0 ? (tensor.data as ArrayLike<unknown>).length / batch : 0;
  const data = (tensor.data as { subarray?: (a: number, b: number) => unknown; slice: (a: number, b: number) => unknown });
  const sliced = data.subarray ? data.subarray(offset * perRow, (offset + rows) * perRow) : data.slice(offset * perRow, (offset + rows) * perRow);
  return { type: tensor.type, dims: [rows, ...tensor.dims.slice(1)], data: sliced };
}

/** Labels compare as the class they name: 1, "1" and true are the same positive class. */
/** The prediction-log lines of one inference: one JSON line per row (shadow rows marked). */
function logLines(
  base: Pick<PredictionRow, 'request_id' | 'time' | 'model' | 'version' | 'variant' | 'experiment'>,
  rows: Rows,
  result: BatchResult,
  shadow = false,
): string {
  const latency = Math.round(result.seconds * 1e6) / 1000;
  let lines = '';
  for (let i = 0; i < rows.rows; i++) {
    const entry: PredictionRow = {
      ...base,
      ...(rows.rows > 1 ? { row: i } : {}),
      features: rows.raw[i] as number[],
      outputs: outputsRow(result.outputs, result.offset + i),
      latency_ms: latency,
      ...(shadow ? { shadow: true as const } : {}),
    };
    lines += `${JSON.stringify(entry)}\n`;
  }
  return lines;
}

export function sameLabel(prediction: unknown, label: unknown): boolean {
  const normal = (value: unknown) => (value === true ? '1' : value === false ? '0' : String(value).trim());
  return normal(prediction) === normal(label);
}
