// --workers N > 1: a node:cluster primary that runs no inference. It forks the workers
// (src/serve/worker.ts), sums their metrics for /metrics, relays feedback for request ids
// another worker served, owns the prediction log file, and drains them on request.
import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { UsageError } from '../errors.js';
import { fromWorker, type OnServeEvent } from './events.js';
import type { FeedbackAnswer } from './feedback.js';
import { deserializeError, isMessage, type ToPrimary, type ToWorker } from './cluster-protocol.js';
import { aggregateWorkerMetrics } from './metrics.js';
import type { ServePlan } from './options.js';
import { createServer } from 'node:http';
import { connectUrl, createLogSink, listen } from './http-server.js';
import type { ServedVersion } from './models.js';
import type { ServerHandle } from './handle.js';

const METRICS_TIMEOUT_MS = 3_000;
const FEEDBACK_TIMEOUT_MS = 3_000;
/** A worker that said it drained but has not exited by then is killed. */
const EXIT_GRACE_MS = 10_000;

interface MetricsRequest {
  pending: Set<number>;
  arrays: MetricObjectWithValues<MetricValue<string>>[][];
  finish: () => void;
}

export async function startCluster(plan: ServePlan, onEvent: OnServeEvent): Promise<ServerHandle> {
  if (!cluster.isPrimary) throw new UsageError('serve --workers cannot start inside a cluster worker', 'run mlops serve from a shell');
  const exec = fileURLToPath(new URL('./worker.js', import.meta.url));
  if (exec.endsWith('.ts') || !/\.js$/.test(exec)) {
    throw new UsageError('--workers > 1 needs the compiled mlops (dist/serve/worker.js)', 'run `npm run build`, or use --workers 1');
  }
  // serialization 'advanced' carries typed arrays and undefined faithfully; args: none, the plan comes over IPC.
  cluster.setupPrimary({ exec, args: [], serialization: 'advanced' });
  const log = createLogSink(plan, onEvent);

  const workers = new Map<number, Worker>();
  const readyWorkers = new Set<number>();
  let draining = false;
  let models: ServedVersion[] = [];
  let nextId = 1;
  const metricsRequests = new Map<number, MetricsRequest>();
  const feedbackRequests = new Map<number, { pending: Set<number>; done: (answer: FeedbackAnswer) => void; fallback: FeedbackAnswer }>();

  let resolveListening!: (ports: { port: number; grpcPort?: number }) => void;
  let rejectStart!: (error: Error) => void;
  const listening = new Promise<{ port: number; grpcPort?: number }>((resolve, reject) => {
    resolveListening = resolve;
    rejectStart = reject;
  });
  let resolveReady!: () => void;
  let rejectReady!: (error: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  ready.catch(() => undefined);
  let started = false;
  let failed: Error | undefined;

  const send = (worker: Worker, message: ToWorker) => {
    if (worker.isConnected()) worker.send(message, () => undefined);
  };

  const collectMetrics = (origin: Worker, id: number) => {
    const key = nextId++;
    const pending = new Set([...workers.values()].filter((w) => w.isConnected()).map((w) => w.id));
    const request: MetricsRequest = {
      pending,
      arrays: [],
      finish: () => {
        if (!metricsRequests.delete(key)) return;
        void aggregateWorkerMetrics(request.arrays).then(
          (text) => send(origin, { type: 'mlops:metrics-text', id, text }),
          (error: unknown) => send(origin, { type: 'mlops:metrics-text', id, text: `# aggregation failed: ${String(error)}\n` }),
        );
      },
    };
    metricsRequests.set(key, request);
    setTimeout(request.finish, METRICS_TIMEOUT_MS).unref();
    for (const workerId of pending) send(workers.get(workerId)!, { type: 'mlops:metrics-collect', id: key });
    if (pending.size === 0) request.finish();
  };

  const relayFeedback = (origin: Worker, id: number, body: Record<string, unknown>) => {
    const others = [...workers.values()].filter((w) => w.id !== origin.id && w.isConnected());
    const fallback: FeedbackAnswer = { status: 404, body: { error: `unknown request_id ${JSON.stringify(String(body.request_id).slice(0, 100))}: no worker served it recently` } };
    const reply = (answer: FeedbackAnswer) => send(origin, { type: 'mlops:feedback-answer', id, answer });
    if (others.length === 0) return reply(fallback);
    const key = nextId++;
    feedbackRequests.set(key, { pending: new Set(others.map((w) => w.id)), done: reply, fallback });
    setTimeout(() => {
      const request = feedbackRequests.get(key);
      if (request) {
        feedbackRequests.delete(key);
        request.done(request.fallback);
      }
    }, FEEDBACK_TIMEOUT_MS).unref();
    for (const worker of others) send(worker, { type: 'mlops:feedback-apply', id: key, body });
  };

  const onMessage = (worker: Worker, message: unknown) => {
    if (!isMessage(message)) return;
    const msg = message as ToPrimary;
    switch (msg.type) {
      case 'mlops:hello':
        send(worker, { type: 'mlops:start', plan });
        break;
      case 'mlops:listening':
        resolveListening({ port: msg.port, ...(msg.grpcPort !== undefined ? { grpcPort: msg.grpcPort } : {}) });
        break;
      case 'mlops:ready':
        models = msg.models;
        readyWorkers.add(worker.id);
        if (!started && readyWorkers.size >= plan.workers) {
          started = true;
          resolveReady();
        }
        break;
      case 'mlops:fatal': {
        const error = deserializeError(msg.error);
        if (!started) {
          failed ??= error;
          rejectStart(error);
          void stop(0).then(() => rejectReady(error));
        } else {
          onEvent({ type: 'internal_error', level: 'error', message: `worker ${worker.id}: ${error.message}` });
        }
        break;
      }
      case 'mlops:event':
        onEvent(fromWorker(msg.event, worker.id));
        break;
      case 'mlops:log':
        log?.write(msg.lines);
        break;
      case 'mlops:metrics-request':
        collectMetrics(worker, msg.id);
        break;
      case 'mlops:metrics-json': {
        const request = metricsRequests.get(msg.id);
        if (!request) break;
        request.arrays.push(msg.metrics);
        request.pending.delete(worker.id);
        if (request.pending.size === 0) request.finish();
        break;
      }
      case 'mlops:feedback-request':
        relayFeedback(worker, msg.id, msg.body);
        break;
      case 'mlops:feedback-result': {
        const request = feedbackRequests.get(msg.id);
        if (!request) break;
        request.pending.delete(worker.id);
        if (msg.answer.status !== 404) {
          feedbackRequests.delete(msg.id);
          request.done(msg.answer);
        } else if (request.pending.size === 0) {
          feedbackRequests.delete(msg.id);
          request.done(request.fallback);
        }
        break;
      }
      case 'mlops:drained':
        break;
    }
  };

  const fork = () => {
    const worker = cluster.fork();
    workers.set(worker.id, worker);
    worker.on('message', (message: unknown) => onMessage(worker, message));
    // An IPC write to a worker that is exiting (EPIPE) is not news: its 'exit' says what happened.
    worker.on('error', () => undefined);
    worker.once('exit', (code, signal) => {
      workers.delete(worker.id);
      readyWorkers.delete(worker.id);
      if (draining || failed) return;
      onEvent({ type: 'worker_exit', level: 'warn', message: `worker ${worker.id} exited (${signal ?? `code ${code}`}); starting a new one`, worker: worker.id, code, signal });
      if (!started) {
        const error = new Error(`worker ${worker.id} exited during start-up (${signal ?? `code ${code}`})`);
        failed = error;
        rejectStart(error);
        void stop(0).then(() => rejectReady(error));
        return;
      }
      fork();
    });
  };

  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });
  let stopping: Promise<void> | undefined;
  const stop = (delayMs: number): Promise<void> => {
    stopping ??= (async () => {
      draining = true;
      if (!failed) onEvent({ type: 'draining', level: 'info', message: `draining ${workers.size} workers: readiness is false${delayMs ? `, still answering for ${delayMs} ms` : ''}, in-flight requests finish` });
      const exits = [...workers.values()].map(
        (worker) =>
          new Promise<void>((resolve) => {
            if (worker.isDead()) return resolve();
            worker.once('exit', () => resolve());
            if (failed) worker.kill('SIGKILL');
            else send(worker, { type: 'mlops:drain', delayMs });
            setTimeout(() => worker.process.kill('SIGKILL'), delayMs + plan.drainTimeoutMs + EXIT_GRACE_MS).unref();
          }),
      );
      await Promise.all(exits);
      await log?.close();
      if (!failed) onEvent({ type: 'drained', level: 'info', message: 'drained: every worker finished its requests, log flushed' });
      resolveClosed();
    })();
    return stopping;
  };

  // Workers listen only once their models are loaded: find a taken port now, not after the load.
  for (const taken of [plan.port, plan.grpcPort]) {
    if (taken === undefined || taken === 0) continue;
    const probe = createServer();
    try {
      await listen(probe, taken, plan.host);
    } catch (error) {
      if (taken === plan.grpcPort && error instanceof UsageError) throw new UsageError(`--grpc-port ${taken} is in use on ${plan.host}`, 'pick another port, or stop what listens there');
      throw error;
    }
    await new Promise((resolve) => probe.close(resolve));
  }
  for (let i = 0; i < plan.workers; i++) fork();
  const { port, grpcPort } = await listening;
  const url = connectUrl(plan.host, port);
  void ready.then(() => onEvent({ type: 'ready', level: 'info', message: `ready: ${plan.workers} workers serving ${models.map((m) => `${m.model} ${m.version}${m.variant !== 'default' ? ` (${m.variant})` : ''}`).join(', ')}`, url }));

  return {
    url,
    host: plan.host,
    port,
    ...(grpcPort !== undefined ? { grpcPort } : {}),
    workers: plan.workers,
    ready,
    models: () => models,
    drain: () => stop(plan.drainDelayMs),
    close: () => stop(0),
    closed,
  };
}
