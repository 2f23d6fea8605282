// The Open Inference Protocol over gRPC (inference.GRPCInferenceService from KServe's
// published grpc_predict_v2.proto, which tritonclient.grpc and KServe's InferenceGRPCClient
// speak): ServerLive, ServerReady, ModelReady, ServerMetadata, ModelMetadata, ModelInfer,
// answered from an injected backend. Client errors are gRPC status codes, never crashes.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { messageOf } from '../../errors.js';
import type { TensorLike } from '../tensors.js';
import type { DecodedTensor } from '../v2-tensors.js';
import { decodeGrpcInputs, encodeGrpcOutputs, parameterMessages, plainParameters, requestedOutputNames, type ModelInferRequestMessage } from './codec.js';

/** Where the proto sits: next to this module in src/ and in dist/ (the build copies it). */
export const PROTO_PATH = fileURLToPath(new URL('./grpc_predict_v2.proto', import.meta.url));

export interface TensorMetadata {
  name: string;
  datatype: string;
  /** -1 for a variable dimension. */
  shape: number[];
}

export interface ModelInfo {
  name: string;
  /** Loaded versions; the first answers when a request names no version. */
  versions: Array<{ version: string; inputs: TensorMetadata[]; outputs: TensorMetadata[] }>;
  ready: boolean;
}

export interface InferCall {
  model: string;
  version: string | undefined;
  /** The request's `id` when the client gave one (echoed in the answer). */
  clientId: string | undefined;
  inputs: DecodedTensor[];
  /** Names of the outputs asked for; empty: every output. */
  outputs: string[];
  parameters: Record<string, unknown>;
  /** Sticky A/B key: the `user_id` parameter or the x-user-id metadata. */
  userId: string | undefined;
}

export interface InferAnswer {
  model: string;
  version: string;
  id: string;
  parameters?: Record<string, unknown>;
  outputs: Array<{ name: string; tensor: TensorLike }>;
}

/** What the server asks of serve. Errors with a `status` (HttpError) map to gRPC codes. */
export interface GrpcBackend {
  isReady(): boolean;
  models(): ModelInfo[];
  infer(call: InferCall): Promise<InferAnswer>;
}

export interface GrpcServerOptions {
  host: string;
  /** 0: any free port. */
  port: number;
  backend: GrpcBackend;
  serverName: string;
  serverVersion: string;
  /** Largest request message (the HTTP --max-body); bigger ones get RESOURCE_EXHAUSTED. */
  maxMessageBytes: number;
  /** Each finished call: for mlops_requests_total and friends. */
  onCall?: (method: string, code: grpc.status, seconds: number) => void;
  /** A failure that is not the client's fault (a bug): tell the operator. */
  onInternalError?: (method: string, error: unknown) => void;
}

export interface GrpcServerHandle {
  port: number;
  /** Stop taking calls; in-flight calls finish, or are cancelled after `graceMs`. */
  close(graceMs?: number): Promise<void>;
}

let serviceDefinition: grpc.ServiceDefinition | undefined;

function service(): grpc.ServiceDefinition {
  if (!serviceDefinition) {
    const definition = protoLoader.loadSync(PROTO_PATH, { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
    const root = grpc.loadPackageDefinition(definition) as unknown as { inference: { GRPCInferenceService: grpc.ServiceClientConstructor } };
    serviceDefinition = root.inference.GRPCInferenceService.service;
  }
  return serviceDefinition;
}

/** HTTP status of a serve error -> gRPC code. */
export function grpcCode(status: number): grpc.status {
  if (status === 404) return grpc.status.NOT_FOUND;
  if (status === 503) return grpc.status.UNAVAILABLE;
  if (status === 413) return grpc.status.RESOURCE_EXHAUSTED;
  if (status === 409) return grpc.status.ALREADY_EXISTS;
  if (status >= 400 && status < 500) return grpc.status.INVALID_ARGUMENT;
  return grpc.status.INTERNAL;
}

/** gRPC code -> the HTTP status with the same meaning (mlops_requests_total's status label). */
export function httpStatus(code: grpc.status): number {
  const statuses: Partial<Record<grpc.status, number>> = {
    [grpc.status.OK]: 200,
    [grpc.status.INVALID_ARGUMENT]: 400,
    [grpc.status.NOT_FOUND]: 404,
    [grpc.status.ALREADY_EXISTS]: 409,
    [grpc.status.RESOURCE_EXHAUSTED]: 413,
    [grpc.status.UNIMPLEMENTED]: 501,
    [grpc.status.UNAVAILABLE]: 503,
    [grpc.status.CANCELLED]: 499,
    [grpc.status.DEADLINE_EXCEEDED]: 504,
  };
  return statuses[code] ?? 500;
}

class CallError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

export async function startGrpcServer(options: GrpcServerOptions): Promise<GrpcServerHandle> {
  const { backend } = options;
  // Channelz (grpc-js's introspection service, which mlops does not expose) otherwise
  // keeps per-call counters and timestamps on every call.
  const server = new grpc.Server({ 'grpc.max_receive_message_length': options.maxMessageBytes, 'grpc.max_send_message_length': -1, 'grpc.enable_channelz': 0 });

  const findModel = (name: unknown, version: unknown) => {
    if (typeof name !== 'string' || name === '') throw new CallError(grpc.status.INVALID_ARGUMENT, 'name the model ("name")');
    const model = backend.models().find((m) => m.name === name);
    const served = () => backend.models().map((m) => m.name).join(', ');
    if (!model) throw new CallError(grpc.status.NOT_FOUND, `model ${JSON.stringify(name.slice(0, 100))} is not served here; served: ${served()}`);
    const entry = version ? model.versions.find((v) => v.version === version) : model.versions[0];
    if (!entry) throw new CallError(grpc.status.NOT_FOUND, `${name} ${String(version).slice(0, 100)} is not loaded here; loaded: ${model.versions.map((v) => v.version).join(', ')}`);
    return { model, entry };
  };

  // Every handler goes through here: answers, maps errors to codes, reports the call.
  const unary = <Req, Res>(method: string, answer: (request: Req, call: grpc.ServerUnaryCall<Req, Res>) => Res | Promise<Res>): grpc.handleUnaryCall<Req, Res> => {
    return (call, callback) => {
      const start = performance.now();
      const finish = (code: grpc.status) => options.onCall?.(method, code, (performance.now() - start) / 1000);
      Promise.resolve()
        .then(() => answer(call.request, call))
        .then(
          (response) => {
            callback(null, response);
            finish(grpc.status.OK);
          },
          (error: unknown) => {
            let code: grpc.status;
            let details: string;
            if (error instanceof CallError) [code, details] = [error.code, error.message];
            else if (typeof (error as { status?: unknown }).status === 'number') [code, details] = [grpcCode((error as { status: number }).status), messageOf(error)];
            else {
              options.onInternalError?.(method, error);
              [code, details] = [grpc.status.INTERNAL, `internal error: ${messageOf(error)}`];
            }
            callback({ code, details });
            finish(code);
          },
        );
    };
  };

  server.addService(service(), {
    ServerLive: unary('ServerLive', () => ({ live: true })),
    ServerReady: unary('ServerReady', () => ({ ready: backend.isReady() })),
    ModelReady: unary('ModelReady', (request: { name: string; version: string }) => {
      const { model } = findModel(request.name, request.version);
      return { ready: backend.isReady() && model.ready };
    }),
    ServerMetadata: unary('ServerMetadata', () => ({ name: options.serverName, version: options.serverVersion, extensions: [] })),
    ModelMetadata: unary('ModelMetadata', (request: { name: string; version: string }) => {
      const { model, entry } = findModel(request.name, request.version);
      return { name: model.name, versions: model.versions.map((v) => v.version), platform: 'onnxruntime_onnx', inputs: entry.inputs, outputs: entry.outputs };
    }),
    ModelInfer: unary('ModelInfer', async (request: ModelInferRequestMessage, call) => {
      if (!backend.isReady()) throw new CallError(grpc.status.UNAVAILABLE, 'not ready: models are loading; retry shortly');
      if (!request.model_name) throw new CallError(grpc.status.INVALID_ARGUMENT, 'name the model ("model_name")');
      const inputs = decodeGrpcInputs(request);
      const parameters = plainParameters(request.parameters);
      const fromParameters = parameters.user_id;
      const fromMetadata = call.metadata.get('x-user-id')[0];
      const userId = typeof fromParameters === 'string' || typeof fromParameters === 'number' ? String(fromParameters) : typeof fromMetadata === 'string' && fromMetadata !== '' ? fromMetadata : undefined;
      const answer = await backend.infer({
        model: request.model_name,
        version: request.model_version || undefined,
        clientId: request.id ? request.id.slice(0, 128) : undefined,
        inputs,
        outputs: requestedOutputNames(request),
        parameters,
        userId,
      });
      const encoded = encodeGrpcOutputs(answer.outputs, (request.raw_input_contents ?? []).length > 0);
      return { model_name: answer.model, model_version: answer.version, id: answer.id, parameters: parameterMessages(answer.parameters ?? {}), ...encoded };
    }),
  });

  const port = await new Promise<number>((resolve, reject) => {
    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    server.bindAsync(`${host}:${options.port}`, grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound)));
  });

  let closed: Promise<void> | undefined;
  return {
    port,
    close(graceMs = 10_000) {
      closed ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.forceShutdown(), graceMs);
        timer.unref();
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      return closed;
    },
  };
}
