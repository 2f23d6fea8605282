// The HTTP listener shared by the in-process server and the cluster workers: listening
// with one-line errors, the timeouts a load balancer wants, and the closing of a drain.
import { createServer, type Server } from 'node:http';
import { UsageError } from '../errors.js';
import { RotatingLogWriter, type LogSink } from '../prediction-log/index.js';
import type { ServeApp } from './app.js';
import type { OnServeEvent } from './events.js';
import type { ServePlan } from './options.js';

/** How long in-flight requests get after the listener closes before their sockets are cut. */
const IN_FLIGHT_GRACE_MS = 30_000;

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
