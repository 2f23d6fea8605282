// `mlops serve --grpc-port`: the gRPC service beside the HTTP server of one process (the
// only process with --workers 1, each worker otherwise; node:cluster shares the port),
// over the same ServeCore, with its calls in mlops_requests_total.
import { UsageError, messageOf } from '../../errors.js';
import type { OnServeEvent } from '../events.js';
import type { ServeMetrics } from '../metrics.js';
import type { ServePlan } from '../options.js';
import type { ServeCore } from '../protocols/protocol.js';
import { serveGrpcBackend } from './backend.js';
import { httpStatus, startGrpcServer, type GrpcServerHandle } from './server.js';

export async function startServeGrpc(core: ServeCore, plan: ServePlan, metrics: ServeMetrics, onEvent: OnServeEvent): Promise<GrpcServerHandle | undefined> {
  if (plan.grpcPort === undefined) return undefined;
  try {
    return await startGrpcServer({
      host: plan.host,
      port: plan.grpcPort,
      backend: serveGrpcBackend(core),
      serverName: 'mlops',
      serverVersion: plan.serverVersion,
      maxMessageBytes: plan.maxBodyBytes,
      onCall: (method, code, seconds) => metrics.request(`grpc ${method}`, 'POST', httpStatus(code), seconds),
      onInternalError: (method, error) => onEvent({ type: 'internal_error', level: 'error', message: `gRPC ${method}: ${messageOf(error).split('\n')[0]}` }),
    });
  } catch (error) {
    const message = messageOf(error);
    if (/EADDRINUSE|address already in use/i.test(message)) {
      throw new UsageError(`--grpc-port ${plan.grpcPort} is in use on ${plan.host}`, 'pick another port, or stop what listens there');
    }
    if (/EACCES|permission denied/i.test(message)) throw new UsageError(`--grpc-port ${plan.grpcPort}: permission denied on ${plan.host}`, 'use a port above 1024, or run with the right to bind it');
    throw new UsageError(`cannot serve gRPC on ${plan.host}:${plan.grpcPort}: ${message.split('\n')[0]}`, 'check --host and --grpc-port');
  }
}
