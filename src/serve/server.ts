// `mlops serve` as an API: startServer(options) listens at once (readiness false while
// models load and warm), and returns a handle the CLI awaits and drains on a signal.
import { Registry } from '../registry/registry.js';
import { ServeApp } from './app.js';
import type { OnServeEvent } from './events.js';
import { closeHttpServer, connectUrl, createHttpServer, createLogSink, listen } from './http-server.js';
import { startServeGrpc } from './grpc/serve.js';
import { ServeMetrics } from './metrics.js';
import type { ModelSource } from './model.js';
import type { ServedVersion } from './models.js';
import { buildPlan, type ServeOptions, type ServePlan } from './options.js';

export type { ServedVersion };
export type { ServerHandle } from './handle.js';
import type { ServerHandle } from './handle.js';

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

async function startInProcess(plan: ServePlan, source: ModelSource, onEvent: OnServeEvent): Promise<ServerHandle> {
  const metrics = new ServeMetrics();
  const app = new ServeApp({ plan, source, metrics, log: createLogSink(plan, onEvent), onEvent, now: () => new Date(), random: Math.random });
  const server = createHttpServer(app.handle);
  const port = await listen(server, plan.port, plan.host);
  const url = connectUrl(plan.host, port);
  let grpc: Awaited<ReturnType<typeof startServeGrpc>>;
  try {
    grpc = await startServeGrpc(app, plan, metrics, onEvent);
  } catch (error) {
    await closeHttpServer(server, app, 0);
    throw error;
  }

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
      await Promise.all([closeHttpServer(server, app, plan.drainTimeoutMs), grpc?.close(plan.drainTimeoutMs)]);
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
    ...(grpc ? { grpcPort: grpc.port } : {}),
    workers: 1,
    ready,
    models: () => app.describe(),
    drain: () => stop(plan.drainDelayMs),
    close: () => stop(0),
    closed,
  };
}
