// What real clients send, on a real server: tritonclient.http's binary tensor data
// extension (bodies laid out byte by byte as that client does), FP16 and BYTES models,
// Triton's extension calls, and KServe V1's GET /.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  encodeModel,
  getJson,
  makeFraudRegistry,
  postJson,
  rawRequest,
  referenceRows,
  sleep,
  startTestServer,
  writeModel,
  type TestRegistry,
  type TestServer,
} from '../support/serve-helpers.js';
import { request as httpRequest } from 'node:http';

let reg: TestRegistry;
let server: TestServer;
let rows: number[][];
let logPath: string;

/** POST a body and keep the answer's bytes (binary answers are not text). */
function post(url: string, path: string, body: Buffer, headers: Record<string, string | number>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: target.hostname, port: target.port, method: 'POST', path, headers: { 'content-length': body.length, ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** tritonclient.http's body: rapidjson's compact JSON, then each input's raw bytes; the header carries the JSON's length. */
function tritonBody(json: object, ...tensors: Buffer[]): { body: Buffer; headers: Record<string, string | number> } {
  const text = Buffer.from(JSON.stringify(json));
  return { body: Buffer.concat([text, ...tensors]), headers: { 'Inference-Header-Content-Length': text.length } };
}

function float32Bytes(values: number[]): Buffer {
  const bytes = Buffer.alloc(values.length * 4);
  values.forEach((value, i) => bytes.writeFloatLE(value, i * 4));
  return bytes;
}

/** InferResult's reading: JSON of the header length, then binary_data_size slices in output order. */
function readResult(answer: { headers: Record<string, string | string[] | undefined>; body: Buffer }) {
  const length = Number(answer.headers['inference-header-content-length']);
  const result = JSON.parse(answer.body.subarray(0, length).toString());
  const slices: Record<string, Buffer> = {};
  let offset = length;
  for (const output of result.outputs) {
    const size = output.parameters?.binary_data_size;
    if (size === undefined) continue;
    slices[output.name] = answer.body.subarray(offset, offset + size);
    offset += size;
  }
  expect(offset).toBe(answer.body.length);
  return { result, slices };
}

beforeAll(async () => {
  reg = await makeFraudRegistry();
  rows = await referenceRows(20);
  const half = await writeModel(reg.dir, 'half.onnx', encodeModel({ inputs: [{ name: 'x', type: 'float16', shape: ['batch', 3] }], outputs: [{ name: 'y', type: 'float16', shape: ['batch', 3] }], nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }] }));
  const text = await writeModel(reg.dir, 'text.onnx', encodeModel({ inputs: [{ name: 's', type: 'string', shape: ['batch'] }], outputs: [{ name: 't', type: 'string', shape: ['batch'] }], nodes: [{ op: 'Identity', inputs: ['s'], outputs: ['t'] }] }));
  await reg.register('half', half, 'v1.0.0', { reference: false });
  await reg.promote('half', 'v1.0.0');
  await reg.register('text', text, 'v1.0.0', { reference: false });
  await reg.promote('text', 'v1.0.0');
  logPath = join(reg.dir, 'predictions.jsonl');
  server = await startTestServer(reg.registry.dir, { models: ['fraud', 'half', 'text'], log: logPath });
});

afterAll(async () => {
  await server?.close();
  await reg?.cleanup();
});

describe('KServe V1 liveness', () => {
  test('GET / answers {"status": "alive"}', async () => {
    const answer = await getJson(`${server.url}/`);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ status: 'alive' });
    expect((await postJson(`${server.url}/`, {})).status).toBe(405);
  });
});

describe('binary tensor data extension over HTTP', () => {
  test('tritonclient.http defaults: binary inputs, no Content-Type, binary_data_output; answers equal the JSON route', async () => {
    const batch = rows.slice(0, 3);
    const { body, headers } = tritonBody({ id: 'triton-1', inputs: [{ name: 'features', shape: [3, 10], datatype: 'FP32', parameters: { binary_data_size: 120 } }], parameters: { binary_data_output: true } }, float32Bytes(batch.flat()));
    const answer = await post(server.url, '/v2/models/fraud/infer', body, headers);
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('application/octet-stream');
    const { result, slices } = readResult(answer);
    expect(result).toMatchObject({ model_name: 'fraud', model_version: 'v1.0.0', id: 'triton-1' });
    expect(result.outputs.map((o: { name: string; datatype: string; shape: number[] }) => [o.name, o.datatype, o.shape])).toEqual([
      ['label', 'INT64', [3]],
      ['probabilities', 'FP32', [3, 2]],
    ]);
    const json = await postJson(`${server.url}/predict`, { model: 'fraud', instances: batch });
    expect([0, 1, 2].map((i) => Number(slices.label!.readBigInt64LE(i * 8)))).toEqual(json.body.predictions);
    for (let i = 0; i < 3; i++) expect(slices.probabilities!.readFloatLE(i * 8 + 4)).toBeCloseTo(json.body.probability[i][1], 6);
  });

  test('application/octet-stream, per-output binary_data overriding, and a JSON output beside a binary one', async () => {
    const { body, headers } = tritonBody(
      { inputs: [{ name: 'features', shape: [1, 10], datatype: 'FP32', parameters: { binary_data_size: 40 } }], outputs: [{ name: 'probabilities', parameters: { binary_data: false } }, { name: 'label', parameters: { binary_data: true } }] },
      float32Bytes(rows[0]!),
    );
    const answer = await post(server.url, '/v2/models/fraud/versions/v1.0.0/infer', body, { ...headers, 'content-type': 'application/octet-stream' });
    expect(answer.status).toBe(200);
    const { result, slices } = readResult(answer);
    expect(result.outputs[0]).toMatchObject({ name: 'probabilities', datatype: 'FP32', shape: [1, 2] });
    expect(result.outputs[0].data).toHaveLength(2);
    expect(result.outputs[1]).toEqual({ name: 'label', datatype: 'INT64', shape: [1], parameters: { binary_data_size: 8 } });
    expect(slices.label!.length).toBe(8);
  });

  test('FP16 inputs for the float32 fraud model, and an FP16 model round-trip (half bits by hand)', async () => {
    // 1.0, 0.5, 0, ... as halves: 0x3c00, 0x3800, 0x0000 (little-endian)
    const halves = Buffer.from([0x00, 0x3c, 0x00, 0x38, ...new Array(16).fill(0)]);
    const fp16 = tritonBody({ inputs: [{ name: 'features', shape: [1, 10], datatype: 'FP16', parameters: { binary_data_size: 20 } }], outputs: [{ name: 'probabilities', parameters: { binary_data: false } }] }, halves);
    const answer = await post(server.url, '/v2/models/fraud/infer', fp16.body, fp16.headers);
    expect(answer.status).toBe(200);
    const viaHalves = JSON.parse(answer.body.toString()).outputs[0].data;
    const viaJson = await postJson(`${server.url}/predict`, { model: 'fraud', features: [1, 0.5, 0, 0, 0, 0, 0, 0, 0, 0] });
    expect(viaHalves[1]).toBeCloseTo(viaJson.body.probability[1], 6);

    const bits = Buffer.from([0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00]);
    const echo = tritonBody({ inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP16', parameters: { binary_data_size: 6 } }], parameters: { binary_data_output: true } }, bits);
    const back = readResult(await post(server.url, '/v2/models/half/infer', echo.body, echo.headers));
    expect(back.result.outputs[0]).toMatchObject({ name: 'y', datatype: 'FP16', shape: [1, 3] });
    expect([...back.slices.y!]).toEqual([...bits]);
    const json = await postJson(`${server.url}/v2/models/half/infer`, { inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP16', data: [1, -2, 0.5] }] });
    expect(json.body.outputs[0].data).toEqual([1, -2, 0.5]);
  });

  test('BYTES: 4-byte little-endian length per element in binary, strings in JSON', async () => {
    const elements = Buffer.from([0x02, 0, 0, 0, 0x6f, 0x6b, 0x00, 0, 0, 0, 0x03, 0, 0, 0, 0xc3, 0xa9, 0x21]);
    const { body, headers } = tritonBody({ inputs: [{ name: 's', shape: [3], datatype: 'BYTES', parameters: { binary_data_size: elements.length } }], parameters: { binary_data_output: true } }, elements);
    const answer = readResult(await post(server.url, '/v2/models/text/infer', body, headers));
    expect(answer.result.outputs[0]).toMatchObject({ name: 't', datatype: 'BYTES', shape: [3] });
    expect([...answer.slices.t!]).toEqual([...elements]);
    const json = await postJson(`${server.url}/v2/models/text/infer`, { inputs: [{ name: 's', shape: [2], datatype: 'BYTES', data: ['héllo', ''] }] });
    expect(json.status).toBe(200);
    expect(json.body.outputs[0].data).toEqual(['héllo', '']);
  });

  test('bad framing is a 400 naming the problem, and the server keeps serving', async () => {
    const { body } = tritonBody({ inputs: [{ name: 'features', shape: [1, 10], datatype: 'FP32', parameters: { binary_data_size: 40 } }] }, float32Bytes(rows[0]!));
    const noHeader = await post(server.url, '/v2/models/fraud/infer', body, { 'content-type': 'application/octet-stream' });
    expect(noHeader.status).toBe(400);
    expect(JSON.parse(noHeader.body.toString()).error).toMatch(/Inference-Header-Content-Length/);
    const tooLong = await post(server.url, '/v2/models/fraud/infer', body, { 'Inference-Header-Content-Length': body.length + 5 });
    expect(tooLong.status).toBe(400);
    const short = tritonBody({ inputs: [{ name: 'features', shape: [1, 10], datatype: 'FP32', parameters: { binary_data_size: 40 } }] }, float32Bytes(rows[0]!).subarray(0, 36));
    const shortAnswer = await post(server.url, '/v2/models/fraud/infer', short.body, short.headers);
    expect(shortAnswer.status).toBe(400);
    expect(JSON.parse(shortAnswer.body.toString()).error).toMatch(/runs past the 36 bytes/);
    expect((await rawRequest(server.url, { path: '/v2/models/fraud/infer', headers: { 'content-type': 'text/plain' }, body: '{}' })).status).toBe(415);
    expect((await postJson(`${server.url}/predict`, { model: 'fraud', features: rows[0] })).status).toBe(200);
  });

  test('binary requests are logged like JSON ones (features as numbers, the server-made request id)', async () => {
    const { body, headers } = tritonBody({ id: 'logged-1', inputs: [{ name: 'features', shape: [1, 10], datatype: 'FP32', parameters: { binary_data_size: 40 } }] }, float32Bytes(rows[5]!));
    const answer = await post(server.url, '/v2/models/fraud/infer', body, headers);
    const requestId = JSON.parse(answer.body.toString()).parameters.request_id;
    await sleep(200);
    const lines = (await readFile(logPath, 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
    const line = lines.find((l) => l.request_id === requestId);
    expect(line).toBeDefined();
    // The model's float32 values, as numbers.
    expect(line.features).toEqual(rows[5]!.map(Math.fround));
  });
});

describe('Triton extensions the client calls', () => {
  test('model config, repository index and statistics; other extensions are a 404 that names them', async () => {
    const config = await getJson(`${server.url}/v2/models/fraud/config`);
    expect(config.status).toBe(200);
    expect(config.body).toMatchObject({ name: 'fraud', platform: 'onnxruntime_onnx', max_batch_size: 0, input: [{ name: 'features', data_type: 'TYPE_FP32', dims: [-1, 10] }] });
    const index = await post(server.url, '/v2/repository/index', Buffer.alloc(0), {});
    expect(index.status).toBe(200);
    expect(JSON.parse(index.body.toString())).toContainEqual({ name: 'fraud', version: 'v1.0.0', state: 'READY', reason: '' });
    const stats = await getJson(`${server.url}/v2/models/fraud/stats`);
    expect(stats.status).toBe(200);
    expect(stats.body.model_stats[0]).toMatchObject({ name: 'fraud', version: 'v1.0.0' });
    expect(stats.body.model_stats[0].inference_count).toBeGreaterThan(0);
    expect((await getJson(`${server.url}/v2/models/stats`)).body.model_stats.map((s: { name: string }) => s.name).sort()).toEqual(['fraud', 'half', 'text']);
    expect((await getJson(`${server.url}/v2/models/nope/config`)).status).toBe(404);
    const trace = await getJson(`${server.url}/v2/trace/setting`);
    expect(trace.status).toBe(404);
    expect(trace.body.error).toMatch(/the trace extension is not supported by mlops serve/);
    const shm = await getJson(`${server.url}/v2/systemsharedmemory/status`);
    expect(shm.body.error).toMatch(/shared memory/);
  });
});
