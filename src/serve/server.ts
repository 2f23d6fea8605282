// `mlops serve` as an API: startServer(options) listens at once (readiness false while
// models load and warm), and returns a handle the CLI awaits and drains on a signal.
import { createServer, type Server } from 'node:http';
import { UsageError } from '../errors.js';
import { Registry } from '../registry/registry.js';
import { ServeApp, type ServedVersion } from './app.js';
import type { OnServeEvent } from './events.js';
import { ServeMetrics } from './metrics.js';
import type { ModelSource } from './model.js';
import { buildPlan, type ServeOptions, type ServePlan } from './options.js';
import { RotatingLogWriter, type LogSink } from './prediction-log.js';

export type { ServedVersion };

export interface ServerHandle {
  /** Where a client on this machine reaches the server (0.0.0.0 -> 127.0.0.1). */
  url: string;
  host: string;
  port: number;
  workers: number;
  /** Resolves when every model is loaded and warmed (readiness true); rejects with the MlopsError that stopped loading (the server is then closed). */
  ready: Promise<void>;
  /** What is served (after `ready`). */
  models(): ServedVersion[];
  /**
   * Graceful stop (SIGTERM): readiness false, keep answering for drainDelayMs, stop
   * accepting, let in-flight requests finish, flush the log, release the sessions.
   * Idempotent; resolves when all is done.
   */
  drain(): Promise<void>;
  /** drain() without the delay. */
  close(): Promise<void>;
  /** Resolves when the server has stopped (after a drain, or a failed start). */
  closed: Promise<void>;
}

/** How long in-flight requests get after the listener closes before their sockets are cut. */
const IN_FLIGHT_GRACE_MS = 30_000;

export async function startServer(options: ServeOptions): Promise<ServerHandle> {
  const plan = await buildPlan(options);
  const onEvent: OnServeEvent = options.onEvent ?? (() => undefined);
  const registry = await Registry.open(plan.registryDir);
  await preflight(plan, registry);
  if (plan.workers > 1) {
    const { startCluster } = await import('./cluster.js');
    return startCluster(plan, onEvent);
  }
  return startInProcess(plan, registry, onEvent);
}

/**
 * Resolve every version the plan names before listening, so that a typo is a NotFoundError
 * (exit 3) at once instead of a server that never gets ready.
 */
export async function preflight(plan: ServePlan, source: ModelSource): Promise<void> {
  for (const model of plan.models) if (model.ref) await source.resolve(model.name, model.ref);
  for (const model of plan.models) if (!model.ref && !plan.experiments.some((e) => e.model === model.name)) await source.resolve(model.name, 'production');
  for (const experiment of plan.experiments) for (const variant of experiment.variants) await source.resolve(experiment.model, variant.ref);
  for (const shadow of plan.shadows) await source.resolve(shadow.model, shadow.ref);
}

export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.removeListener('listening', onListening);
      reject(
        error.code === 'EADDRINUSE'
          ? new UsageError(`port ${port} on ${host} is already in use`, 'stop the other server or pass --port with a free port (0 picks one)', 'port_in_use')
          : error.code === 'EACCES'
            ? new UsageError(`not allowed to listen on ${host}:${port}`, 'use a port above 1023, or run with the needed privileges', 'port_denied')
            : error,
      );
    };
    const onListening = () => {
      server.removeListener('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

export function connectUrl(host: string, port: number): string {
  const reachable = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

/** An http.Server with the timeouts a server behind a load balancer wants. */
export function createHttpServer(app: ServeApp): Server {
  const server = createServer({ keepAliveTimeout: 65_000, headersTimeout: 66_000, requestTimeout: 120_000 }, app.handle);
  // Garbage that is not HTTP at all: answer 400 and drop the socket, never throw.
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  return server;
}

/** Stop an http.Server: no new connections, idle ones closed, busy ones cut after a grace period. */
export async function closeHttpServer(server: Server, app: ServeApp): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  await app.idle();
  const timer = setTimeout(() => server.closeAllConnections(), IN_FLIGHT_GRACE_MS);
  // Connections that finished their last response close themselves (connection: close).
  const idleSweep = setInterval(() => server.closeIdleConnections(), 50);
  await closed;
  clearTimeout(timer);
  clearInterval(idleSweep);
}

export function createLogSink(plan: ServePlan, onEvent: OnServeEvent): LogSink | undefined {
  if (!plan.log) return undefined;
  return new RotatingLogWriter(plan.log.path, plan.log.maxBytes, plan.log.keep, (message) => onEvent({ type: 'log_error', level: 'error', message }));
}

async function startInProcess(plan: ServePlan, source: ModelSource, onEvent: OnServeEvent): Promise<ServerHandle> {
  const metrics = new ServeMetrics();
  const app = new ServeApp({ plan, source, metrics, log: createLogSink(plan, onEvent), onEvent, now: () => new Date(), random: Math.random });
  const server = createHttpServer(app);
  const port = await listen(server, plan.port, plan.host);
  const url = connectUrl(plan.host, port);

  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });
  let stopping: Promise<void> | undefined;
  const stop = (delayMs: number, failedStart = false): Promise<void> => {
    stopping ??= (async () => {
      if (!failedStart) onEvent({ type: 'draining', level: 'info', message: `draining: readiness is false${delayMs ? `, still answering for ${delayMs} ms` : ''}, in-flight requests finish` });
      app.beginDrain();
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      await closeHttpServer(server, app);
      await app.dispose();
      if (!failedStart) onEvent({ type: 'drained', level: 'info', message: 'drained: every request answered, log flushed' });
      resolveClosed();
    })();
    return stopping;
  };

  const ready = app.load().then(
    () => onEvent({ type: 'ready', level: 'info', message: `ready: ${app.describe().map((m) => `${m.model} ${m.version}${m.variant !== 'default' ? ` (${m.variant})` : ''}`).join(', ')}`, url }),
    async (error: unknown) => {
      await stop(0, true);
      throw error;
    },
  );
  // The caller may never await `ready` (it learns of failure through `closed`): no unhandled rejection.
  ready.catch(() => undefined);

  return {
    url,
    host: plan.host,
    port,
    workers: 1,
    ready,
    models: () => app.describe(),
    drain: () => stop(plan.drainDelayMs),
    close: () => stop(0),
    closed,
  };
}
