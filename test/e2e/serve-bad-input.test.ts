// Everything a client can send wrong gets a one-line JSON error with the right status,
// and nothing a client sends (garbage, huge or truncated bodies, dropped connections)
// affects other requests or the process.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { getJson, makeFraudRegistry, postJson, rawRequest, referenceRows, sleep, startTestServer, type TestRegistry, type TestServer } from '../support/serve-helpers.js';

let reg: TestRegistry;
let server: TestServer;
let row: number[];

beforeAll(async () => {
  reg = await makeFraudRegistry();
  row = (await referenceRows(1))[0]!;
  server = await startTestServer(reg.registry.dir, { models: ['fraud'], maxBody: '64kb' });
});

afterAll(async () => {
  await server?.close();
  await reg?.cleanup();
});

async function expectError(response: { status: number; body: any }, status: number, pattern: RegExp) {
  expect(response.status).toBe(status);
  expect(Object.keys(response.body)).toContain('error');
  expect(typeof response.body.error).toBe('string');
  expect(response.body.error).not.toMatch(/\n\s+at /); // a message, never a stack trace
  expect(response.body.error).toMatch(pattern);
}

const TEN = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

describe('validated against the signature before inference (400)', () => {
  test.each([
    ['too few features', { features: TEN.slice(0, 9) }, /"features" has 9 values; fraud v1.0.0 expects 10 \(amount, hour/],
    ['too many features', { features: [...TEN, 11] }, /has 11 values.*expects 10/],
    ['a string value', { features: ['1', 2, 3, 4, 5, 6, 7, 8, 9, 10] }, /features\[0\].*string "1".*finite number/],
    ['the string "NaN"', { features: [1, 2, 3, 'NaN', 5, 6, 7, 8, 9, 10] }, /features\[3\].*"NaN"/],
    ['null', { features: [1, 2, 3, 4, null, 6, 7, 8, 9, 10] }, /features\[4\].*null/],
    ['a boolean', { features: [true, 2, 3, 4, 5, 6, 7, 8, 9, 10] }, /features\[0\].*true/],
    ['a nested array', { features: [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]] }, /one row.*instances/],
    ['features not an array', { features: 'abc' }, /"features" must be an array/],
    ['an empty batch', { instances: [] }, /empty batch/],
    ['a batch row of the wrong width', { instances: [TEN, [1, 2]] }, /instances\[1\] has 2 values/],
    ['a batch row that is not an array', { instances: [5] }, /instances\[0\] is not an array/],
    ['a bad value deep in a batch', { instances: [TEN, TEN, [1, 2, 3, 4, 5, 6, 'x', 8, 9, 10]] }, /instances\[2\]\[6\]: the string "x"/],
    ['neither features nor instances', { rows: [] }, /send \{"features"/],
    ['both features and instances', { features: [], instances: [] }, /not both/],
    ['a non-string model', { model: 7, features: [] }, /"model" must be a string/],
    ['a non-string user id', { user_id: { a: 1 }, features: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] }, /user_id/],
  ])('%s', async (_name, body, pattern) => {
    await expectError(await postJson(`${server.url}/predict`, body), 400, pattern);
  });

  test('1e999 parses to Infinity in JSON.parse and is refused', async () => {
    const text = `{"features": [1e999, 2, 3, 4, 5, 6, 7, 8, 9, 10]}`;
    await expectError(await postJson(`${server.url}/predict`, text), 400, /features\[0\]: Infinity is not a finite number/);
  });

  test('V2: unknown input, missing data, shape mismatches, empty batch', async () => {
    const infer = (body: unknown) => postJson(`${server.url}/v2/models/fraud/infer`, body);
    await expectError(await infer({}), 400, /"inputs" must be a non-empty array/);
    await expectError(await infer({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 10], data: row }] }), 400, /no input named "x".*features/);
    await expectError(await infer({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 10], data: row.slice(1) }] }), 400, /needs 10 values, "data" has 9/);
    await expectError(await infer({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 9], data: row.slice(1) }] }), 400, /dimension 1 is 9, the model expects 10/);
    await expectError(await infer({ inputs: [{ name: 'features', datatype: 'FP32', shape: [10], data: row }] }), 400, /1 dimensions; the model expects 2/);
    await expectError(await infer({ inputs: [{ name: 'features', datatype: 'FP32', shape: [0, 10], data: [] }] }), 400, /empty batch/);
    await expectError(await infer({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, -10], data: row }] }), 400, /non-negative integers/);
    await expectError(await infer({ inputs: [{ name: 'features', shape: [1, 10], data: row }] }), 400, /"datatype" must be a string/);
    await expectError(await infer({ id: 5, inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 10], data: row }] }), 400, /"id" must be a string/);
    await expectError(await infer({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 10], data: row }], outputs: [{ name: 'nope' }] }), 400, /no output named "nope"/);
  });

  test('KServe V1: instances must be a non-empty list of rows', async () => {
    await expectError(await postJson(`${server.url}/v1/models/fraud:predict`, { instances: [] }), 400, /empty batch/);
    await expectError(await postJson(`${server.url}/v1/models/fraud:predict`, { inputs: [row] }), 400, /"instances" must be an array/);
  });
});

describe('request-level errors', () => {
  test('malformed JSON is a 400 naming the parse error', async () => {
    await expectError(await postJson(`${server.url}/predict`, '{"features": [1, 2,'), 400, /not valid JSON/);
    await expectError(await postJson(`${server.url}/predict`, 'garbage'), 400, /not valid JSON/);
    await expectError(await postJson(`${server.url}/predict`, ''), 400, /empty/);
    await expectError(await postJson(`${server.url}/predict`, '[1, 2, 3]'), 400, /JSON object/);
    await expectError(await postJson(`${server.url}/predict`, 'null'), 400, /JSON object/);
  });

  test('a body over --max-body is 413, with or without a Content-Length', async () => {
    const big = JSON.stringify({ instances: Array.from({ length: 2000 }, () => row) });
    expect(big.length).toBeGreaterThan(64 * 1024);
    await expectError(await postJson(`${server.url}/predict`, big), 413, /larger than the 64 KB limit.*--max-body/);
    // Chunked (no Content-Length): the limit applies as the bytes arrive.
    const chunked = await fetch(`${server.url}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(big));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
  });

  test('a huge body (far past the limit) is cut off with 413, and the server goes on', async () => {
    const huge = Buffer.alloc(40 * 1024 * 1024, 0x20);
    const response = await rawRequest(server.url, { path: '/predict', headers: { 'content-type': 'application/json', 'content-length': huge.length }, body: huge }).catch((error: Error) => ({ status: -1, body: error.message }));
    // Either the 413 arrives, or the connection is cut while the client still uploads.
    expect([413, -1]).toContain(response.status);
    expect((await postJson(`${server.url}/predict`, { features: row })).status).toBe(200);
  });

  test('wrong content type or encoding is 415', async () => {
    await expectError(await postJson(`${server.url}/predict`, JSON.stringify({ features: row }), { 'content-type': 'text/csv' }), 415, /Content-Type text\/csv.*application\/json/);
    await expectError(await postJson(`${server.url}/predict`, JSON.stringify({ features: row }), { 'content-type': 'application/x-www-form-urlencoded' }), 415, /application\/json/);
    await expectError(await postJson(`${server.url}/predict`, JSON.stringify({ features: row }), { 'content-encoding': 'gzip' }), 415, /Content-Encoding gzip/);
    // No content type at all is accepted (curl --data-binary without -H).
    const untyped = await rawRequest(server.url, { path: '/predict', body: JSON.stringify({ features: row }) });
    expect(untyped.status).toBe(200);
  });

  test('unknown model and version are 404s naming what is served', async () => {
    await expectError(await postJson(`${server.url}/predict`, { model: 'churn', features: row }), 404, /"churn" is not served here; served: fraud/);
    await expectError(await postJson(`${server.url}/predict`, { model: 'fraud', version: 'v7.0.0', features: row }), 404, /v7.0.0 is not loaded here; loaded: v1.0.0/);
    await expectError(await postJson(`${server.url}/v2/models/churn/infer`, { inputs: [] }), 404, /not served/);
    await expectError(await postJson(`${server.url}/v1/models/churn:predict`, { instances: [row] }), 404, /not served/);
  });

  test('unknown routes are 404 and wrong methods 405', async () => {
    await expectError(await getJson(`${server.url}/nope`), 404, /no route GET \/nope/);
    await expectError(await getJson(`${server.url}/predict`), 405, /use POST/);
    await expectError(await postJson(`${server.url}/healthz`, {}), 405, /use GET/);
    await expectError(await getJson(`${server.url}/v2/models/fraud/infer`), 405, /use POST/);
    await expectError(await getJson(`${server.url}/v2/models/fraud/explain/x`), 404, /no route/);
  });

  test('errors are counted by type', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/^mlops_errors_total\{model="fraud",version="v1.0.0",variant="default",type="validation"\} [1-9]/m);
    expect(text).toMatch(/^mlops_errors_total\{.*type="malformed_json"\} [1-9]/m);
    expect(text).toMatch(/^mlops_errors_total\{.*type="body_too_large"\} [1-9]/m);
    // Unknown model names are not labels (clients could create series without bound).
    expect(text).toMatch(/^mlops_errors_total\{model="",version="",variant="",type="not_found"\} [1-9]/m);
    expect(text).not.toMatch(/churn/);
    expect(text).toMatch(/^mlops_requests_total\{route="\/predict",method="POST",status="400"\} [1-9]/m);
  });
});

describe('hostile clients never affect others', () => {
  function rawSocket(bytes: string, { end = true }: { end?: boolean } = {}): Promise<string> {
    const url = new URL(server.url);
    return new Promise((resolve) => {
      const socket = connect(Number(url.port), url.hostname);
      let received = '';
      socket.on('data', (chunk) => (received += chunk.toString()));
      socket.on('error', () => resolve(received));
      socket.on('close', () => resolve(received));
      socket.write(bytes);
      if (end) socket.end();
      else setTimeout(() => socket.destroy(), 100);
    });
  }

  test('garbage bytes that are not HTTP get a 400 and a closed socket', async () => {
    const answer = await rawSocket('\x00\x01\x02 this is not http\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1.1 400/);
  });

  test('a truncated body (client stops sending and leaves) and aborted connections', async () => {
    const head = `POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"features": [1, 2`;
    await Promise.all(Array.from({ length: 20 }, () => rawSocket(head, { end: false })));
    // A fetch aborted while the server works on it.
    const aborts = Array.from({ length: 20 }, async () => {
      const controller = new AbortController();
      const pending = fetch(`${server.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: Array.from({ length: 200 }, () => row) }), signal: controller.signal }).catch(() => undefined);
      controller.abort();
      await pending;
    });
    await Promise.all(aborts);
    await sleep(50);
    expect((await postJson(`${server.url}/predict`, { features: row })).status).toBe(200);
  });

  test('data nested 30,000 levels deep is a 400, not a stack overflow', async () => {
    const depth = 30_000;
    const nested = `${'['.repeat(depth)}1${']'.repeat(depth)}`;
    const v2 = await postJson(`${server.url}/v2/models/fraud/infer`, `{"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 10], "data": ${nested}}]}`);
    expect(v2.status).toBe(400);
    const rows = await postJson(`${server.url}/predict`, `{"instances": ${nested}}`);
    expect(rows.status).toBe(400);
    expect((await postJson(`${server.url}/predict`, { features: row })).status).toBe(200);
  });

  test('a burst of mixed good and bad requests: every good one succeeds', async () => {
    const bad = ['{', '{"features": "x"}', '{"instances": []}', JSON.stringify({ features: [1] }), 'null'];
    const requests = Array.from({ length: 200 }, (_, i) => (i % 3 === 0 ? postJson(`${server.url}/predict`, bad[i % bad.length]!) : postJson(`${server.url}/predict`, { features: row })));
    const results = await Promise.all(requests);
    results.forEach((result, i) => {
      if (i % 3 === 0) expect(result.status).toBeGreaterThanOrEqual(400);
      else expect(result.status).toBe(200);
    });
    expect(server.events.filter((e) => e.type === 'internal_error')).toEqual([]);
  });

  test('feedback for an unknown request id is 404, a malformed one 400', async () => {
    await expectError(await postJson(`${server.url}/feedback`, { request_id: 'never-served', label: 1 }), 404, /unknown request_id "never-served"/);
    await expectError(await postJson(`${server.url}/feedback`, { label: 1 }), 400, /request_id/);
    await expectError(await postJson(`${server.url}/feedback`, { request_id: 'x' }), 400, /exactly one of "label".*"outcome"/);
    await expectError(await postJson(`${server.url}/feedback`, { request_id: 'x', outcome: 'high' }), 400, /finite number/);
  });
});
