// What startServer returns, in one process or as a cluster: the CLI awaits and drains it.
import type { ServedVersion } from './models.js';

export interface ServerHandle {
  /** The bound address, e.g. http://127.0.0.1:8000 (http://0.0.0.0:8000 with --host 0.0.0.0). */
  url: string;
  host: string;
  port: number;
  /** The bound gRPC port with --grpc-port. */
  grpcPort?: number;
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
