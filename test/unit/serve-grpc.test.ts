// The Open Inference Protocol over gRPC against real onnxruntime sessions: a client built
// from the same published proto calls every RPC; typed and raw tensors, FP16 and BYTES,
// version routing, and errors as gRPC status codes.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTO_PATH, startGrpcServer, type GrpcServerHandle } from '../../src/serve/grpc/server.js';
import { loadBackend, type TestBackend } from '../support/grpc-backend.js';
import { FRAUD_V1, FRAUD_V2, encodeModel, referenceRows, writeModel } from '../support/serve-helpers.js';

type Client = grpc.Client & Record<string, (request: unknown, metadata: grpc.Metadata, callback: (error: grpc.ServiceError | null, response: any) => void) => void>;

let dir: string;
let backend: TestBackend;
let server: GrpcServerHandle;
let client: Client;
let rows: number[][];
const calls: Array<{ method: string; code: grpc.status }> = [];

function makeClient(port: number): Client {
  const definition = protoLoader.loadSync(PROTO_PATH, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const root = grpc.loadPackageDefinition(definition) as any;
  return new root.inference.GRPCInferenceService(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as Client;
}

function rpc(method: string, request: unknown, metadata = new grpc.Metadata(), target: Client = client): Promise<any> {
  return new Promise((resolve, reject) => target[method]!(request, metadata, (error, response) => (error ? reject(error) : resolve(response))));
}

async function rpcError(method: string, request: unknown): Promise<grpc.ServiceError> {
  try {
    await rpc(method, request);
  } catch (error) {
    return error as grpc.ServiceError;
  }
  throw new Error(`${method} succeeded; expected an error`);
}

/** The fraud model's answer computed directly with onnxruntime: the ground truth. */
async function direct(path: string, features: number[][]): Promise<{ label: bigint[]; probabilities: number[] }> {
  const session = await ort.InferenceSession.create(path);
  const out = await session.run({ features: new ort.Tensor('float32', Float32Array.from(features.flat()), [features.length, 10]) });
  await session.release();
  return { label: [...(out.label!.data as BigInt64Array)], probabilities: [...(out.probabilities!.data as Float32Array)] };
}

const features = (values: number[], shape = [1, 10]) => ({ name: 'features', datatype: 'FP32', shape, contents: { fp32_contents: values } });

function rawFloat32(values: number[]): Buffer {
  const bytes = Buffer.alloc(values.length * 4);
  values.forEach((value, i) => bytes.writeFloatLE(value, i * 4));
  return bytes;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlops-grpc-'));
  const half = await writeModel(dir, 'half.onnx', encodeModel({ inputs: [{ name: 'x', type: 'float16', shape: ['batch', 3] }], outputs: [{ name: 'y', type: 'float16', shape: ['batch', 3] }], nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }] }));
  const text = await writeModel(dir, 'text.onnx', encodeModel({ inputs: [{ name: 's', type: 'string', shape: ['batch'] }], outputs: [{ name: 't', type: 'string', shape: ['batch'] }], nodes: [{ op: 'Identity', inputs: ['s'], outputs: ['t'] }] }));
  backend = await loadBackend({ fraud: [['v1.0.0', FRAUD_V1], ['v2.0.0', FRAUD_V2]], half: [['1', half]], text: [['1', text]] });
  server = await startGrpcServer({ host: '127.0.0.1', port: 0, backend, serverName: 'mlops', serverVersion: '0.1.0', maxMessageBytes: 64 * 1024, onCall: (method, code) => calls.push({ method, code }) });
  client = makeClient(server.port);
  rows = await referenceRows(20);
});

afterAll(async () => {
  client?.close();
  await server?.close(1000);
  await backend?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('GRPCInferenceService health and metadata', () => {
  it('ServerLive, ServerReady and ServerMetadata', async () => {
    expect(await rpc('ServerLive', {})).toEqual({ live: true });
    expect(await rpc('ServerReady', {})).toEqual({ ready: true });
    expect(await rpc('ServerMetadata', {})).toEqual({ name: 'mlops', version: '0.1.0', extensions: [] });
  });

  it('ModelReady for a served model and version; NOT_FOUND for others', async () => {
    expect(await rpc('ModelReady', { name: 'fraud' })).toEqual({ ready: true });
    expect(await rpc('ModelReady', { name: 'fraud', version: 'v2.0.0' })).toEqual({ ready: true });
    const unknown = await rpcError('ModelReady', { name: 'nope' });
    expect(unknown.code).toBe(grpc.status.NOT_FOUND);
    expect(unknown.details).toMatch(/model "nope" is not served here; served: fraud, half, text/);
    expect((await rpcError('ModelReady', { name: 'fraud', version: 'v9' })).code).toBe(grpc.status.NOT_FOUND);
  });

  it('ModelMetadata: versions, platform, tensors with -1 for the batch dimension', async () => {
    const metadata = await rpc('ModelMetadata', { name: 'fraud' });
    expect(metadata).toEqual({
      name: 'fraud',
      versions: ['v1.0.0', 'v2.0.0'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'features', datatype: 'FP32', shape: ['-1', '10'] }],
      outputs: [
        { name: 'label', datatype: 'INT64', shape: ['-1'] },
        { name: 'probabilities', datatype: 'FP32', shape: ['-1', '2'] },
      ],
    });
    expect((await rpc('ModelMetadata', { name: 'text', version: '1' })).inputs).toEqual([{ name: 's', datatype: 'BYTES', shape: ['-1'] }]);
    expect((await rpcError('ModelMetadata', { name: 'fraud', version: 'v3' })).code).toBe(grpc.status.NOT_FOUND);
  });
});

describe('GRPCInferenceService ModelInfer', () => {
  it('typed contents in, typed contents out, equal to onnxruntime run directly', async () => {
    const batch = rows.slice(0, 3);
    const truth = await direct(FRAUD_V1, batch);
    const answer = await rpc('ModelInfer', { model_name: 'fraud', id: 'typed-1', inputs: [{ name: 'features', datatype: 'FP32', shape: [3, 10], contents: { fp32_contents: batch.flat() } }] });
    expect(answer.model_name).toBe('fraud');
    expect(answer.model_version).toBe('v1.0.0');
    expect(answer.id).toBe('typed-1');
    expect(answer.raw_output_contents).toEqual([]);
    const [label, probabilities] = answer.outputs;
    expect(label).toMatchObject({ name: 'label', datatype: 'INT64', shape: ['3'] });
    expect(label.contents.int64_contents.map(BigInt)).toEqual(truth.label);
    expect(probabilities).toMatchObject({ name: 'probabilities', datatype: 'FP32', shape: ['3', '2'] });
    probabilities.contents.fp32_contents.forEach((p: number, i: number) => expect(p).toBeCloseTo(truth.probabilities[i]!, 6));
    expect(answer.parameters.variant).toEqual({ string_param: 'default', parameter_choice: 'string_param' });
  });

  it('raw_input_contents in (as tritonclient.grpc sends), raw_output_contents out; a named version', async () => {
    const batch = rows.slice(3, 5);
    const truth = await direct(FRAUD_V2, batch);
    const answer = await rpc('ModelInfer', {
      model_name: 'fraud',
      model_version: 'v2.0.0',
      inputs: [{ name: 'features', datatype: 'FP32', shape: [2, 10] }],
      outputs: [{ name: 'probabilities' }, { name: 'label' }],
      raw_input_contents: [rawFloat32(batch.flat())],
    });
    expect(answer.model_version).toBe('v2.0.0');
    expect(answer.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(answer.outputs.map((o: { name: string; contents: unknown }) => [o.name, o.contents])).toEqual([
      ['probabilities', null],
      ['label', null],
    ]);
    const [probabilities, label] = answer.raw_output_contents as Buffer[];
    expect(probabilities!.length).toBe(16);
    for (let i = 0; i < 4; i++) expect(probabilities!.readFloatLE(i * 4)).toBeCloseTo(truth.probabilities[i]!, 6);
    expect([label!.readBigInt64LE(0), label!.readBigInt64LE(8)]).toEqual(truth.label);
  });

  it('FP16 travels raw both ways (half bits laid out by hand)', async () => {
    const halves = Buffer.from([0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00]); // 1.0, -2.0, 2^-24
    const answer = await rpc('ModelInfer', { model_name: 'half', inputs: [{ name: 'x', datatype: 'FP16', shape: [1, 3] }], raw_input_contents: [halves] });
    expect(answer.outputs[0]).toMatchObject({ name: 'y', datatype: 'FP16', shape: ['1', '3'] });
    expect([...answer.raw_output_contents[0]]).toEqual([...halves]);
    const typed = await rpcError('ModelInfer', { model_name: 'half', inputs: [{ name: 'x', datatype: 'FP16', shape: [1, 3], contents: { fp32_contents: [1, 2, 3] } }] });
    expect(typed.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(typed.details).toMatch(/FP16 has no typed contents field; send it in raw_input_contents/);
  });

  it('BYTES as bytes_contents and as raw length-prefixed bytes', async () => {
    const typed = await rpc('ModelInfer', { model_name: 'text', inputs: [{ name: 's', datatype: 'BYTES', shape: [2], contents: { bytes_contents: [Buffer.from('héllo'), Buffer.from('')] } }] });
    expect(typed.outputs[0].contents.bytes_contents.map((b: Buffer) => b.toString())).toEqual(['héllo', '']);
    const raw = Buffer.from([0x02, 0, 0, 0, 0x6f, 0x6b, 0x01, 0, 0, 0, 0x21]);
    const answer = await rpc('ModelInfer', { model_name: 'text', inputs: [{ name: 's', datatype: 'BYTES', shape: [2] }], raw_input_contents: [raw] });
    expect([...answer.raw_output_contents[0]]).toEqual([...raw]);
  });

  it('passes id, parameters and the user id (parameter or x-user-id metadata) to the backend', async () => {
    const input = { name: 'features', datatype: 'FP32', shape: [1, 10], contents: { fp32_contents: rows[0] } };
    await rpc('ModelInfer', { model_name: 'fraud', id: 'p-1', parameters: { user_id: { string_param: 'alice' }, priority: { int64_param: 3 } }, inputs: [input] });
    expect(backend.calls.at(-1)).toMatchObject({ clientId: 'p-1', userId: 'alice', parameters: { user_id: 'alice', priority: 3 } });
    const metadata = new grpc.Metadata();
    metadata.set('x-user-id', 'bob');
    await rpc('ModelInfer', { model_name: 'fraud', inputs: [input] }, metadata);
    expect(backend.calls.at(-1)!.userId).toBe('bob');
  });

  it('answers 200 concurrent calls, each with its own rows', async () => {
    const truth = await direct(FRAUD_V1, rows);
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => rpc('ModelInfer', { model_name: 'fraud', id: String(i), inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 10] }], raw_input_contents: [rawFloat32(rows[i % rows.length]!)] })),
    );
    answers.forEach((answer, i) => {
      expect(answer.id).toBe(String(i));
      expect(answer.raw_output_contents[1].readFloatLE(4)).toBeCloseTo(truth.probabilities[(i % rows.length) * 2 + 1]!, 6);
    });
  });
});

describe('GRPCInferenceService errors are status codes', () => {
  it('INVALID_ARGUMENT for wrong width, datatype, counts, names and unsupported extensions', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ model_name: 'fraud', inputs: [features([1, 2, 3], [1, 3])] }, /dimension 1 is 3, the model expects 10/],
      [{ model_name: 'fraud', inputs: [features(rows[0]!, [1, 9])] }, /needs 9 values, contents.fp32_contents has 10/],
      [{ model_name: 'fraud', inputs: [{ ...features(rows[0]!), datatype: 'INT64' }] }, /needs 10 values, contents.int64_contents has 0/],
      [{ model_name: 'fraud', inputs: [{ name: 'features', datatype: 'INT32', shape: [1, 10], contents: { int_contents: rows[0]!.map(Math.round) } }] }, /is FP32 in fraud v1.0.0, got datatype INT32/],
      [{ model_name: 'fraud', inputs: [{ ...features(rows[0]!), datatype: 'COMPLEX' }] }, /datatype "COMPLEX" is not one of/],
      [{ model_name: 'fraud', inputs: [] }, /at least one tensor/],
      [{ model_name: 'fraud', inputs: [{ name: 'other', datatype: 'FP32', shape: [1, 10], contents: { fp32_contents: rows[0] } }] }, /no input named "other"/],
      [{ model_name: 'fraud', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 10] }], raw_input_contents: [rawFloat32(rows[0]!), rawFloat32(rows[0]!)] }, /2 entries for 1 inputs/],
      [{ model_name: 'fraud', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 10] }], raw_input_contents: [rawFloat32(rows[0]!.slice(0, 9))] }, /36 bytes of FP32 data, the shape needs 10 x 4 = 40/],
      [{ model_name: 'fraud', inputs: [features(rows[0]!)], outputs: [{ name: 'nope' }] }, /has no output named nope/],
      [{ model_name: 'fraud', inputs: [features(rows[0]!)], outputs: [{ name: 'label', parameters: { classification: { int64_param: 2 } } }] }, /classification extension is not supported/],
      [{ model_name: 'fraud', inputs: [features([Number.NaN, ...rows[0]!.slice(1)])] }, /NaN is not a finite number/],
    ];
    for (const [request, message] of cases) {
      const error = await rpcError('ModelInfer', request);
      expect(error.code, String(message)).toBe(grpc.status.INVALID_ARGUMENT);
      expect(error.details).toMatch(message);
    }
  });

  it('NOT_FOUND for an unknown model or version, RESOURCE_EXHAUSTED past the message limit', async () => {
    expect((await rpcError('ModelInfer', { model_name: 'nope', inputs: [features(rows[0]!)] })).code).toBe(grpc.status.NOT_FOUND);
    expect((await rpcError('ModelInfer', { model_name: 'fraud', model_version: 'v7', inputs: [features(rows[0]!)] })).code).toBe(grpc.status.NOT_FOUND);
    const big = Array.from({ length: 2000 }, () => rows[0]!).flat();
    expect((await rpcError('ModelInfer', { model_name: 'fraud', inputs: [features(big, [2000, 10])] })).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    // The server still answers afterwards.
    expect((await rpc('ModelInfer', { model_name: 'fraud', inputs: [features(rows[0]!)] })).outputs).toHaveLength(2);
  });

  it('UNAVAILABLE for inference while not ready; ServerReady says false', async () => {
    backend.ready = false;
    try {
      expect(await rpc('ServerReady', {})).toEqual({ ready: false });
      expect(await rpc('ModelReady', { name: 'fraud' })).toEqual({ ready: false });
      const error = await rpcError('ModelInfer', { model_name: 'fraud', inputs: [features(rows[0]!)] });
      expect(error.code).toBe(grpc.status.UNAVAILABLE);
    } finally {
      backend.ready = true;
    }
  });

  it('INTERNAL for a backend bug, reported to the operator, and the server keeps serving', async () => {
    const errors: unknown[] = [];
    const broken = await startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      serverName: 'mlops',
      serverVersion: '0',
      maxMessageBytes: 1 << 20,
      backend: { ...backend, isReady: () => true, models: backend.models, infer: () => Promise.reject(new TypeError('boom')) },
      onInternalError: (_method, error) => errors.push(error),
    });
    const other = makeClient(broken.port);
    try {
      const error = await new Promise<grpc.ServiceError>((resolve) => other.ModelInfer!({ model_name: 'fraud', inputs: [features(rows[0]!)] }, new grpc.Metadata(), (e) => resolve(e!)));
      expect(error.code).toBe(grpc.status.INTERNAL);
      expect(errors).toHaveLength(1);
      expect(await rpc('ServerLive', {}, new grpc.Metadata(), other)).toEqual({ live: true });
    } finally {
      other.close();
      await broken.close(100);
    }
  });

  it('reports every call with its status code', () => {
    expect(calls.some((c) => c.method === 'ModelInfer' && c.code === grpc.status.OK)).toBe(true);
    expect(calls.some((c) => c.method === 'ModelInfer' && c.code === grpc.status.INVALID_ARGUMENT)).toBe(true);
  });
});

describe('GRPCInferenceService drain', () => {
  it('close() lets an in-flight call finish and refuses new connections', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = await startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      serverName: 'mlops',
      serverVersion: '0',
      maxMessageBytes: 1 << 20,
      backend: { isReady: () => true, models: backend.models, infer: async (call) => (await gate, backend.infer(call)) },
    });
    const other = makeClient(slow.port);
    const inFlight = rpc('ModelInfer', { model_name: 'fraud', inputs: [features(rows[0]!)] }, new grpc.Metadata(), other);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closed = slow.close(5000);
    const late = makeClient(slow.port);
    const refused = await rpc('ServerLive', {}, new grpc.Metadata(), late).then(
      () => undefined,
      (error: grpc.ServiceError) => error.code,
    );
    expect(refused).toBe(grpc.status.UNAVAILABLE);
    release();
    expect((await inFlight).outputs).toHaveLength(2);
    await closed;
    other.close();
    late.close();
  });
});
