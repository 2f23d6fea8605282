// Entry point of a `mlops serve --workers N` cluster worker (forked by cluster.ts). Like
// cli/main.ts it is a process's main, so it is the one serve module that touches
// `process`: its IPC channel and signals. It never calls process.exit: after a drain it
// disconnects and the event loop ends by itself.
import cluster from 'node:cluster';
import { Registry } from '../registry/registry.js';
import { ServeApp } from './app.js';
import type { FeedbackAnswer } from './feedback.js';
import { isMessage, serializeError, type ToPrimary, type ToWorker } from './cluster-protocol.js';
import type { ServeEvent } from './events.js';
import { startServeGrpc } from './grpc/serve.js';
import { ServeMetrics } from './metrics.js';
import type { ServePlan } from './options.js';
import type { LogSink } from '../prediction-log/index.js';
import { closeHttpServer, createHttpServer, listen } from './http-server.js';

const LOG_FLUSH_MS = 50;
const LOG_FLUSH_BYTES = 256 * 1024;
const RPC_TIMEOUT_MS = 5_000;

function send(message: ToPrimary): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected || !process.send) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

/** Log lines go to the primary, which owns the file (one writer: clean rotation). */
class IpcLogSink implements LogSink {
  private pending: string[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;

  write(lines: string): void {
    this.pending.push(lines);
    this.bytes += lines.length;
    if (this.bytes >= LOG_FLUSH_BYTES) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), LOG_FLUSH_MS).unref();
  }

  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return Promise.resolve();
    const lines = this.pending.join('');
    this.pending = [];
    this.bytes = 0;
    return send({ type: 'mlops:log', lines });
  }

  close(): Promise<void> {
    return this.flush();
  }
}

const rpcWaiters = new Map<number, (value: unknown) => void>();
let rpcId = 0;

function rpc<T>(message: (id: number) => ToPrimary, fallback: T): Promise<T> {
  const id = ++rpcId;
  return new Promise<T>((resolve) => {
    const timer = setTimeout(() => {
      rpcWaiters.delete(id);
      resolve(fallback);
    }, RPC_TIMEOUT_MS);
    rpcWaiters.set(id, (value) => {
      clearTimeout(timer);
      resolve(value as T);
    });
    void send(message(id));
  });
}

let app: ServeApp | undefined;
let metrics: ServeMetrics | undefined;
let draining: Promise<void> | undefined;
let stopServer: ((delayMs: number) => Promise<void>) | undefined;

async function start(plan: ServePlan): Promise<void> {
  const onEvent = (event: ServeEvent) => void send({ type: 'mlops:event', event });
  const registry = await Registry.open(plan.registryDir);
  metrics = new ServeMetrics();
  app = new ServeApp({
    plan,
    source: registry,
    metrics,
    log: plan.log ? new IpcLogSink() : undefined,
    onEvent,
    now: () => new Date(),
    random: Math.random,
    clusterMetrics: () => rpc((id) => ({ type: 'mlops:metrics-request', id }), '# metrics unavailable: the primary did not answer\n'),
    remoteFeedback: (body) => rpc<FeedbackAnswer>((id) => ({ type: 'mlops:feedback-request', id, body }), { status: 503, body: { error: 'feedback lookup timed out; retry' } }),
  });
  const server = createHttpServer(app.handle);
  const current = app;
  let grpc: Awaited<ReturnType<typeof startServeGrpc>> | undefined = undefined; // set once listening; the drain closure reads it
  stopServer = async (delayMs) => {
    current.beginDrain();
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    await Promise.all([closeHttpServer(server, current, plan.drainTimeoutMs), grpc?.close(plan.drainTimeoutMs)]);
    await current.dispose();
  };
  // Load and warm before listening: the primary hands connections only to workers that
  // listen, so a request never reaches a worker that is still loading (honest readiness).
  await app.load();
  const port = await listen(server, plan.port, plan.host);
  grpc = await startServeGrpc(app, plan, metrics, onEvent);
  await send({ type: 'mlops:listening', port, ...(grpc ? { grpcPort: grpc.port } : {}) });
  await send({ type: 'mlops:ready', models: app.describe() });
}

function drain(delayMs: number): Promise<void> {
  draining ??= (async () => {
    try {
      await stopServer?.(delayMs);
    } finally {
      await send({ type: 'mlops:drained' });
      if (cluster.worker?.isConnected()) cluster.worker.disconnect();
    }
  })();
  return draining;
}

process.on('message', (raw: unknown) => {
  if (!isMessage(raw)) return;
  const message = raw as ToWorker;
  switch (message.type) {
    case 'mlops:start':
      start(message.plan).catch(async (error: unknown) => {
        await send({ type: 'mlops:fatal', error: serializeError(error) });
        await drain(0);
      });
      break;
    case 'mlops:drain':
      void drain(message.delayMs);
      break;
    case 'mlops:metrics-collect':
      void (metrics ? metrics.json() : Promise.resolve([])).then((json) => send({ type: 'mlops:metrics-json', id: message.id, metrics: json }));
      break;
    case 'mlops:feedback-apply': {
      const answer: FeedbackAnswer = app ? app.applyFeedback(message.body) : { status: 404, body: { error: 'not ready' } };
      void send({ type: 'mlops:feedback-result', id: message.id, answer });
      break;
    }
    case 'mlops:metrics-text':
      rpcWaiters.get(message.id)?.(message.text);
      rpcWaiters.delete(message.id);
      break;
    case 'mlops:feedback-answer':
      rpcWaiters.get(message.id)?.(message.answer);
      rpcWaiters.delete(message.id);
      break;
  }
});

// Ctrl-C reaches the whole process group: the primary decides when workers stop.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);
// The primary is gone (killed): finish what is in flight and leave.
process.on('disconnect', () => void drain(0));
// IPC messages sent before a listener exists are lost, and an ES module attaches its
// listeners only after its imports load: so the primary waits for this before sending the plan.
void send({ type: 'mlops:hello' });
