// The HTTP listener shared by the in-process server and the cluster workers: listening
// with one-line errors, the timeouts a load balancer wants, and the closing of a drain.
import { createServer, type RequestListener, type Server } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import { UsageError } from '../errors.js';
import { RotatingLogWriter, type LogSink } from '../prediction-log/index.js';
import type { OnServeEvent } from './events.js';
import type { ServePlan } from './options.js';

/** net.Server's close: stops accepting and leaves the open connections alone. */
const netClose = NetServer.prototype.close;

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

/** The address as bound (0.0.0.0 stays 0.0.0.0: what is printed is what listens). */
export function connectUrl(host: string, port: number): string {
  const bound = host === '' ? '0.0.0.0' : host;
  return `http://${bound.includes(':') ? `[${bound}]` : bound}:${port}`;
}

interface SocketState {
  bytesRead: number;
  /** Consecutive drain sweeps that found it with no request and no new byte. */
  idleSweeps: number;
}

interface Tracker {
  sockets: Map<Socket, SocketState>;
  connections: number;
}

const trackers = new WeakMap<Server, Tracker>();
/** Drain sweeps: a connection idle through two of them (>= 50 ms, two event-loop polls) has no request on its way. */
const SWEEP_MS = 50;

/** An http.Server with the timeouts a server behind a load balancer wants, and its connections tracked for the drain. */
export function createHttpServer(handle: RequestListener): Server {
  const server = createServer({ keepAliveTimeout: 65_000, headersTimeout: 66_000, requestTimeout: 120_000 }, handle);
  // Garbage that is not HTTP at all: answer 400 and drop the socket, never throw.
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  const tracker: Tracker = { sockets: new Map(), connections: 0 };
  trackers.set(server, tracker);
  server.on('connection', (socket: Socket) => {
    tracker.connections++;
    tracker.sockets.set(socket, { bytesRead: 0, idleSweeps: 0 });
    socket.once('close', () => tracker.sockets.delete(socket));
  });
  return server;
}

/** Requests in flight on a socket, counted by the app (a 'request' listener per request cost ~10% of single-row throughput). */
const BUSY = Symbol('mlops.busy');
type CountedSocket = Socket & { [BUSY]?: number };

export function countRequest(socket: Socket, delta: 1 | -1): void {
  (socket as CountedSocket)[BUSY] = ((socket as CountedSocket)[BUSY] ?? 0) + delta;
}

const busyOn = (socket: Socket) => (socket as CountedSocket)[BUSY] ?? 0;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The drain of one listener: every request already received (or already on its way) is
 * answered, with `connection: close`; then the server is closed. In order:
 * 1. keep accepting until a sweep passes with no new connection: connections a client
 *    opened before the signal sit in the kernel's backlog (or the cluster primary's
 *    queue) and closing the listener would reset them;
 * 2. stop accepting, without http's close(), which would also cut idle keep-alive
 *    connections at once, racing a request a client has just sent on one;
 * 3. close a connection once it has been idle (no request, no new byte) through two
 *    sweeps; after `timeoutMs` (--drain-timeout) cut whatever is left.
 */
export async function closeHttpServer(server: Server, app: { idle(): Promise<void> }, timeoutMs: number): Promise<void> {
  const tracker = trackers.get(server)!;
  const deadline = Date.now() + timeoutMs;
  // One full event-loop turn (timers, then the poll that accepts), then quiet sweeps.
  await sleep(0);
  await new Promise<void>((resolve) => setImmediate(resolve));
  while (Date.now() < deadline) {
    const before = tracker.connections;
    await sleep(SWEEP_MS);
    if (tracker.connections === before) break;
  }
  const closed = new Promise<void>((resolve) => netClose.call(server, () => resolve()));
  await new Promise<void>((resolve) => {
    const sweep = () => {
      for (const [socket, state] of tracker.sockets) {
        if (busyOn(socket) > 0 || socket.bytesRead !== state.bytesRead) {
          state.bytesRead = socket.bytesRead;
          state.idleSweeps = 0;
        } else if (++state.idleSweeps >= 2) {
          socket.destroy();
        }
      }
      if (tracker.sockets.size === 0 || Date.now() >= deadline) {
        for (const socket of tracker.sockets.keys()) socket.destroy();
        clearInterval(timer);
        resolve();
      }
    };
    const timer = setInterval(sweep, SWEEP_MS);
  });
  await closed;
  // Handlers whose client was cut at the deadline may still be finishing: not past the deadline.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([app.idle(), new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))))]);
  clearTimeout(timer);
}

export function createLogSink(plan: ServePlan, onEvent: OnServeEvent): LogSink | undefined {
  if (!plan.log) return undefined;
  return new RotatingLogWriter(plan.log.path, plan.log.maxBytes, plan.log.keep, (message) => onEvent({ type: 'log_error', level: 'error', message }));
}
