// `mlops serve --grpc-port` as a real process with two workers: a client built from the
// published proto gets the same routing (A/B by user id), prediction log, metrics and
// drain as HTTP clients.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PROTO_PATH } from '../../src/serve/grpc/server.js';
import { stickyBucket } from '../../src/serve/routing.js';
import { getJson, makeFraudRegistry, postJson, referenceRows, sleep, startServeProcess, type ServeProcess, type TestRegistry } from '../support/serve-helpers.js';

type Client = grpc.Client & Record<string, (request: unknown, metadata: grpc.Metadata, callback: (error: grpc.ServiceError | null, response: any) => void) => void>;

let reg: TestRegistry;
let serve: ServeProcess;
let client: Client;
let rows: number[][];
let logPath: string;

function rpc(method: string, request: unknown, metadata = new grpc.Metadata()): Promise<any> {
  return new Promise((resolve, reject) => client[method]!(request, metadata, (error, response) => (error ? reject(error) : resolve(response))));
}

function grpcAddress(stderr: string): string {
  const match = /gRPC listening on (\S+)/.exec(stderr);
  if (!match) throw new Error(`no "gRPC listening on" line:\n${stderr}`);
  return match[1]!;
}

beforeAll(async () => {
  reg = await makeFraudRegistry();
  rows = await referenceRows(20);
  logPath = join(reg.dir, 'grpc.jsonl');
  serve = await startServeProcess(reg.registry.dir, ['--workers', '2', '--grpc-port', '0', '--ab', 'fraud@v1.0.0=50,fraud@v2.0.0=50', '--log', logPath, '--no-watch']);
  const definition = protoLoader.loadSync(PROTO_PATH, { keepCase: true, longs: Number, defaults: true, oneofs: true });
  const root = grpc.loadPackageDefinition(definition) as any;
  for (let i = 0; i < 50 && !/gRPC listening on/.test(serve.stderr()); i++) await sleep(100);
  client = new root.inference.GRPCInferenceService(grpcAddress(serve.stderr()), grpc.credentials.createInsecure());
});

afterAll(async () => {
  client?.close();
  if (serve && serve.child.exitCode === null) {
    serve.kill('SIGTERM');
    await serve.exited;
  }
  await reg?.cleanup();
});

describe('mlops serve --grpc-port, two workers', () => {
  test('health and metadata RPCs', async () => {
    expect(await rpc('ServerLive', {})).toEqual({ live: true });
    expect(await rpc('ServerReady', {})).toEqual({ ready: true });
    expect((await rpc('ServerMetadata', {})).name).toBe('mlops');
    expect(await rpc('ModelReady', { name: 'fraud', version: 'v2.0.0' })).toEqual({ ready: true });
    const metadata = await rpc('ModelMetadata', { name: 'fraud' });
    expect(metadata.versions.sort()).toEqual(['v1.0.0', 'v2.0.0']);
    expect(metadata.inputs).toEqual([{ name: 'features', datatype: 'FP32', shape: [-1, 10] }]);
    const missing = await rpc('ModelMetadata', { name: 'nope' }).catch((error: grpc.ServiceError) => error);
    expect(missing.code).toBe(grpc.status.NOT_FOUND);
  });

  test('A/B: the variant of the documented hash for a user id (parameter or x-user-id), same answer as HTTP', async () => {
    for (const user of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank']) {
      const expected = stickyBucket('fraud', user) < 5000 ? 'v1.0.0' : 'v2.0.0';
      const viaParameter = await rpc('ModelInfer', { model_name: 'fraud', parameters: { user_id: { string_param: user } }, inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 10], contents: { fp32_contents: rows[0] } }] });
      expect(viaParameter.model_version, user).toBe(expected);
      const metadata = new grpc.Metadata();
      metadata.set('x-user-id', user);
      const viaHeader = await rpc('ModelInfer', { model_name: 'fraud', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 10], contents: { fp32_contents: rows[0] } }] }, metadata);
      expect(viaHeader.model_version, user).toBe(expected);
      const http = await postJson(`${serve.url}/predict`, { features: rows[0], user_id: user });
      expect(http.body.version).toBe(expected);
      expect(viaHeader.outputs[1].contents.fp32_contents[1]).toBeCloseTo(http.body.probability[1], 6);
    }
  });

  test('logged, remembered for feedback, counted in /metrics', async () => {
    const answer = await rpc('ModelInfer', { model_name: 'fraud', id: 'grpc-log-1', parameters: { user_id: { string_param: 'zed' } }, inputs: [{ name: 'features', datatype: 'FP32', shape: [2, 10], contents: { fp32_contents: [...rows[3]!, ...rows[4]!] } }] });
    expect(answer.id).toBe('grpc-log-1');
    const requestId = answer.parameters.request_id.string_param;
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    const feedback = await postJson(`${serve.url}/feedback`, { request_id: requestId, row: 1, label: 1 });
    expect(feedback.status).toBe(200);
    expect(feedback.body.version).toBe(answer.model_version);
    await sleep(300);
    const lines = (await readFile(logPath, 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
    expect(lines.filter((line) => line.request_id === requestId && line.type !== 'feedback')).toHaveLength(2);
    const metrics = await getJson(`${serve.url}/metrics`);
    expect(metrics.text).toMatch(/mlops_requests_total\{route="grpc ModelInfer",method="POST",status="200"\} \d+/);
    const bad = await rpc('ModelInfer', { model_name: 'fraud', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 3], contents: { fp32_contents: [1, 2, 3] } }] }).catch((error: grpc.ServiceError) => error);
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  test('SIGTERM: calls in flight are answered, then the process exits 0', async () => {
    const calls = Array.from({ length: 40 }, (_, i) => rpc('ModelInfer', { model_name: 'fraud', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 10], contents: { fp32_contents: rows[i % rows.length] } }] }).then(() => 'ok', (error: grpc.ServiceError) => error.code));
    await sleep(5);
    serve.kill('SIGTERM');
    const results = await Promise.all(calls);
    // Each call was either answered, or refused before it reached a worker (never cut mid-way).
    for (const result of results) expect(['ok', grpc.status.UNAVAILABLE]).toContain(result);
    expect(results.filter((r) => r === 'ok').length).toBeGreaterThan(0);
    expect(await serve.exited).toBe(0);
  });
});
