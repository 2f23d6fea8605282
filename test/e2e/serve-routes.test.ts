// Every route of `mlops serve` on a real server (in-process, free port, temp registry):
// the JSON API, KServe V1, Open Inference Protocol V2 with typed tensors, health, metrics.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  adderModel,
  getJson,
  identityModel,
  makeFraudRegistry,
  postJson,
  referenceRows,
  startTestServer,
  writeModel,
  type TestRegistry,
  type TestServer,
} from '../support/serve-helpers.js';

let reg: TestRegistry;
let server: TestServer;
let rows: number[][];

beforeAll(async () => {
  reg = await makeFraudRegistry();
  rows = await referenceRows(20);
  server = await startTestServer(reg.registry.dir, { models: ['fraud'] });
});

afterAll(async () => {
  await server?.close();
  await reg?.cleanup();
});

describe('POST /predict', () => {
  test('one row: prediction, class probabilities (the design document shape), model, version, variant, request id, timestamp', async () => {
    const response = await postJson(`${server.url}/predict`, { features: rows[0] });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    const body = response.body;
    expect(body).toMatchObject({ model: 'fraud', version: 'v1.0.0', variant: 'default' });
    expect([0, 1]).toContain(body.prediction);
    // predict_proba(x)[0].tolist(): one probability per class, summing to 1.
    expect(body.probability).toHaveLength(2);
    expect(body.probability[0] + body.probability[1]).toBeCloseTo(1, 5);
    // Binary classifier: the label is 1 exactly when the positive class is more likely.
    expect(body.prediction).toBe(body.probability[1] > 0.5 ? 1 : 0);
    expect(body.probabilities).toBeUndefined();
    expect(body.request_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number.isNaN(Date.parse(body.timestamp))).toBe(false);
  });

  test('a batch answers one prediction and one list of class probabilities per row, in order', async () => {
    const batch = await postJson(`${server.url}/predict`, { instances: rows.slice(0, 5) });
    expect(batch.status).toBe(200);
    expect(batch.body.predictions).toHaveLength(5);
    expect(batch.body.probability).toHaveLength(5);
    for (let i = 0; i < 5; i++) {
      const single = await postJson(`${server.url}/predict`, { features: rows[i] });
      expect(batch.body.predictions[i]).toBe(single.body.prediction);
      expect(batch.body.probability[i]).toHaveLength(2);
      expect(batch.body.probability[i][1]).toBeCloseTo(single.body.probability[1], 6);
      expect(batch.body.probability[i][0]).toBeCloseTo(single.body.probability[0], 6);
    }
  });

  test('concurrent requests (coalesced into shared runs) each get their own row back', async () => {
    const answers = await Promise.all(rows.map((row) => postJson(`${server.url}/predict`, { features: row })));
    const batch = await postJson(`${server.url}/predict`, { instances: rows });
    answers.forEach((answer, i) => {
      expect(answer.status).toBe(200);
      expect(answer.body.probability[1]).toBeCloseTo(batch.body.probability[i][1], 6);
    });
    expect(new Set(answers.map((a) => a.body.request_id)).size).toBe(rows.length);
  });

  test('an explicit model name is honoured; a client request id is kept beside the server-made one', async () => {
    const response = await postJson(`${server.url}/predict`, { model: 'fraud', features: rows[1] }, { 'x-request-id': 'client-chosen-id-1' });
    expect(response.status).toBe(200);
    expect(response.body.client_request_id).toBe('client-chosen-id-1');
    expect(response.body.request_id).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('KServe V1', () => {
  test('GET /v1/models lists the served models', async () => {
    const response = await getJson(`${server.url}/v1/models`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ models: ['fraud'] });
  });

  test('GET /v1/models/NAME says whether it is ready', async () => {
    const response = await getJson(`${server.url}/v1/models/fraud`);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ name: 'fraud', ready: true });
    expect((await getJson(`${server.url}/v1/models/nope`)).status).toBe(404);
  });

  test('POST /v1/models/NAME:predict answers {"predictions"} for {"instances"}', async () => {
    const response = await postJson(`${server.url}/v1/models/fraud:predict`, { instances: rows.slice(0, 3) });
    expect(response.status).toBe(200);
    const direct = await postJson(`${server.url}/predict`, { instances: rows.slice(0, 3) });
    expect(response.body).toEqual({ predictions: direct.body.predictions });
    expect(response.headers.get('x-model-version')).toBe('v1.0.0');
  });
});

describe('Open Inference Protocol V2', () => {
  test('server metadata, liveness and readiness', async () => {
    const meta = await getJson(`${server.url}/v2`);
    expect(meta.status).toBe(200);
    expect(meta.body).toMatchObject({ name: 'mlops', extensions: ['binary_tensor_data', 'model_configuration', 'statistics'] });
    expect(typeof meta.body.version).toBe('string');
    expect(await getJson(`${server.url}/v2/health/live`)).toMatchObject({ status: 200, body: { live: true } });
    expect(await getJson(`${server.url}/v2/health/ready`)).toMatchObject({ status: 200, body: { ready: true } });
  });

  test('model metadata: typed inputs and outputs, -1 for variable dimensions, with and without a version', async () => {
    const expected = {
      name: 'fraud',
      versions: ['v1.0.0'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 10] }],
      outputs: [
        { name: 'label', datatype: 'INT64', shape: [-1] },
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 2] },
      ],
    };
    expect((await getJson(`${server.url}/v2/models/fraud`)).body).toEqual(expected);
    expect((await getJson(`${server.url}/v2/models/fraud/versions/v1.0.0`)).body).toEqual(expected);
    expect((await getJson(`${server.url}/v2/models/fraud/versions/v9.9.9`)).status).toBe(404);
  });

  test('model readiness', async () => {
    expect(await getJson(`${server.url}/v2/models/fraud/ready`)).toMatchObject({ status: 200, body: { name: 'fraud', ready: true } });
    expect(await getJson(`${server.url}/v2/models/fraud/versions/v1.0.0/ready`)).toMatchObject({ status: 200, body: { ready: true } });
    expect((await getJson(`${server.url}/v2/models/other/ready`)).status).toBe(404);
  });

  test('infer with flat FP32 data: outputs with name, datatype, shape, data; id and parameters echoed', async () => {
    const response = await postJson(`${server.url}/v2/models/fraud/infer`, {
      id: 'req-42',
      parameters: { content_type: 'np', anything: 1 },
      inputs: [{ name: 'features', datatype: 'FP32', shape: [2, 10], data: [...rows[0]!, ...rows[1]!], parameters: { x: 1 } }],
    });
    expect(response.status).toBe(200);
    const body = response.body;
    expect(body).toMatchObject({ model_name: 'fraud', model_version: 'v1.0.0', id: 'req-42', parameters: { variant: 'default' } });
    const label = body.outputs.find((o: any) => o.name === 'label');
    const probabilities = body.outputs.find((o: any) => o.name === 'probabilities');
    expect(label).toMatchObject({ datatype: 'INT64', shape: [2] });
    expect(probabilities).toMatchObject({ datatype: 'FP32', shape: [2, 2] });
    expect(probabilities.data).toHaveLength(4);
    const direct = await postJson(`${server.url}/predict`, { instances: rows.slice(0, 2) });
    expect(label.data).toEqual(direct.body.predictions);
    expect(probabilities.data[1]).toBeCloseTo(direct.body.probability[0][1], 6);
  });

  test('infer with nested data, a version in the path, and a chosen output', async () => {
    const response = await postJson(`${server.url}/v2/models/fraud/versions/v1.0.0/infer`, {
      inputs: [{ name: 'features', datatype: 'FP32', shape: [2, 10], data: [rows[0], rows[1]] }],
      outputs: [{ name: 'label' }],
    });
    expect(response.status).toBe(200);
    expect(response.body.outputs.map((o: any) => o.name)).toEqual(['label']);
    expect(typeof response.body.id).toBe('string');
  });
});

describe('V2 typed tensors on other element types', () => {
  let typed: TestServer;
  beforeAll(async () => {
    for (const [name, type, width] of [
      ['ident-f64', 'float64', 3],
      ['ident-i64', 'int64', 3],
      ['ident-i32', 'int32', 3],
      ['ident-bool', 'bool', 2],
    ] as const) {
      await reg.register(name, await writeModel(reg.dir, `${name}.onnx`, identityModel(type, width)), 'v1.0.0', { reference: false });
    }
    await reg.register('adder', await writeModel(reg.dir, 'adder.onnx', adderModel()), 'v1.0.0', { reference: false });
    typed = await startTestServer(reg.registry.dir, { models: ['ident-f64@v1.0.0', 'ident-i64@v1.0.0', 'ident-i32@v1.0.0', 'ident-bool@v1.0.0', 'adder@v1.0.0'] });
  });
  afterAll(() => typed?.close());

  test.each([
    ['ident-f64', 'FP64', [0.1, -2.5, 1e300, 4, 5, 6]],
    ['ident-i64', 'INT64', [1, -2, 9007199254740991, 4, 5, 6]],
    ['ident-i32', 'INT32', [1, -2, 2147483647, 4, 5, -2147483648]],
  ])('%s round-trips %s values exactly', async (name, datatype, data) => {
    const response = await postJson(`${typed.url}/v2/models/${name}/infer`, { inputs: [{ name: 'x', datatype, shape: [2, 3], data }] });
    expect(response.status).toBe(200);
    expect(response.body.outputs).toEqual([{ name: 'y', datatype, shape: [2, 3], data }]);
  });

  test('BOOL accepts true/false and answers booleans', async () => {
    const response = await postJson(`${typed.url}/v2/models/ident-bool/infer`, { inputs: [{ name: 'x', datatype: 'BOOL', shape: [2, 2], data: [[true, false], [false, true]] }] });
    expect(response.status).toBe(200);
    expect(response.body.outputs[0]).toEqual({ name: 'y', datatype: 'BOOL', shape: [2, 2], data: [true, false, false, true] });
  });

  test('a two-input model takes both tensors by name', async () => {
    const response = await postJson(`${typed.url}/v2/models/adder/infer`, {
      inputs: [
        { name: 'b', datatype: 'FP32', shape: [1, 2], data: [10, 20] },
        { name: 'a', datatype: 'FP32', shape: [1, 2], data: [1, 2] },
      ],
    });
    expect(response.status).toBe(200);
    expect(response.body.outputs).toEqual([{ name: 'sum', datatype: 'FP32', shape: [1, 2], data: [11, 22] }]);
  });

  test('integer inputs refuse fractions and out-of-range values; a wrong datatype is named', async () => {
    const fraction = await postJson(`${typed.url}/v2/models/ident-i64/infer`, { inputs: [{ name: 'x', datatype: 'INT64', shape: [1, 3], data: [1, 2.5, 3] }] });
    expect(fraction.status).toBe(400);
    expect(fraction.body.error).toMatch(/data\[1\].*integer/);
    const range = await postJson(`${typed.url}/v2/models/ident-i32/infer`, { inputs: [{ name: 'x', datatype: 'INT32', shape: [1, 3], data: [1, 2, 2 ** 31] }] });
    expect(range.status).toBe(400);
    const datatype = await postJson(`${typed.url}/v2/models/ident-i64/infer`, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] });
    expect(datatype.status).toBe(400);
    expect(datatype.body.error).toMatch(/INT64.*FP32/);
  });

  test('/predict on a model that is not rows of features points to V2', async () => {
    const response = await postJson(`${typed.url}/predict`, { model: 'adder', features: [1, 2] });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatch(/v2\/models\/adder\/infer/);
  });

  test('several served models: /predict without "model" names the choices', async () => {
    const response = await postJson(`${typed.url}/predict`, { features: [1, 2, 3] });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatch(/ident-f64.*ident-i64/);
    const chosen = await postJson(`${typed.url}/predict`, { model: 'ident-f64', features: [1, 2, 3] });
    expect(chosen.status).toBe(200);
    expect(chosen.body.prediction).toEqual([1, 2, 3]);
  });
});

describe('health, readiness and metrics', () => {
  test('/healthz and /readyz', async () => {
    expect(await getJson(`${server.url}/healthz`)).toMatchObject({ status: 200, body: { status: 'ok' } });
    const ready = await getJson(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.body.models).toEqual([{ model: 'fraud', version: 'v1.0.0', variant: 'default' }]);
  });

  test('/metrics counts predictions per model, version and variant, and requests per route', async () => {
    const before = await (await fetch(`${server.url}/metrics`)).text();
    const count = (text: string) => Number(/^mlops_predictions_total\{model="fraud",version="v1.0.0",variant="default"\} (\d+)/m.exec(text)?.[1] ?? 0);
    await postJson(`${server.url}/predict`, { instances: rows.slice(0, 7) });
    const response = await fetch(`${server.url}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const after = await response.text();
    expect(count(after) - count(before)).toBe(7);
    expect(after).toMatch(/^mlops_requests_total\{route="\/predict",method="POST",status="200"\} \d+/m);
    expect(after).toMatch(/^mlops_prediction_latency_seconds_bucket\{le="0.0001",model="fraud"/m);
    expect(after).toMatch(/^mlops_models_loaded\{model="fraud",version="v1.0.0"\} 1/m);
    expect(after).toMatch(/^process_cpu_user_seconds_total /m);
  });

  test('out-of-distribution inputs are counted per feature against the reference min/max', async () => {
    const ood = (text: string) => Number(/^mlops_ood_inputs_total\{model="fraud",version="v1.0.0",variant="default",feature="amount"\} (\d+)/m.exec(text)?.[1] ?? 0);
    const before = ood(await (await fetch(`${server.url}/metrics`)).text());
    const row = [...rows[0]!];
    row[0] = 1e9; // far above any amount in reference.csv
    expect((await postJson(`${server.url}/predict`, { features: row })).status).toBe(200);
    expect((await postJson(`${server.url}/predict`, { features: rows[0] })).status).toBe(200);
    expect(ood(await (await fetch(`${server.url}/metrics`)).text()) - before).toBe(1);
  });

  test('V2 JSON and binary requests count out-of-distribution values per feature, in every row', async () => {
    const ood = (text: string, feature: string) => Number(new RegExp(`^mlops_ood_inputs_total\\{model="fraud",version="v1.0.0",variant="default",feature="${feature}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
    const metrics = async () => (await fetch(`${server.url}/metrics`)).text();
    const before = await metrics();
    // Row 0 is in range; row 1 has amount and velocity (first and last feature) far out.
    const batch = [[...rows[0]!], [...rows[1]!]];
    batch[1]![0] = 1e9;
    batch[1]![9] = -1e9;
    const flat = batch.flat();
    const url = `${server.url}/v2/models/fraud/infer`;
    expect((await postJson(url, { inputs: [{ name: 'features', shape: [2, 10], datatype: 'FP32', data: flat }] })).status).toBe(200);
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'features', shape: [2, 10], datatype: 'FP32', parameters: { binary_data_size: 80 } }] }));
    const binary = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
      body: Buffer.concat([header, Buffer.from(Float32Array.from(flat).buffer)]),
    });
    expect(binary.status).toBe(200);
    await binary.arrayBuffer();
    const after = await metrics();
    expect(ood(after, 'amount') - ood(before, 'amount')).toBe(2);
    expect(ood(after, 'velocity') - ood(before, 'velocity')).toBe(2);
    expect(ood(after, 'hour') - ood(before, 'hour')).toBe(0);
  });
});

describe('which models are served', () => {
  test("by default every model's production version; models without one are skipped with a warning", async () => {
    const { makeRegistry, FRAUD_V1, FRAUD_V2 } = await import('../support/serve-helpers.js');
    const other = await makeRegistry();
    try {
      await other.register('fraud', FRAUD_V1, 'v1.0.0');
      await other.promote('fraud', 'v1.0.0');
      await other.register('churn', FRAUD_V2, 'v3.1.0');
      await other.promote('churn', 'v3.1.0');
      await other.register('draft', FRAUD_V2, 'v0.1.0'); // staging only
      const all = await startTestServer(other.registry.dir);
      try {
        expect((await getJson(`${all.url}/v1/models`)).body.models.sort()).toEqual(['churn', 'fraud']);
        expect((await postJson(`${all.url}/predict`, { model: 'churn', features: rows[0] })).body.version).toBe('v3.1.0');
        expect(all.events.find((e) => e.type === 'warn')?.message).toMatch(/skipping draft: draft has no production version/);
        expect(all.models().map((m) => `${m.model}@${m.version}`).sort()).toEqual(['churn@v3.1.0', 'fraud@v1.0.0']);
      } finally {
        await all.close();
      }
    } finally {
      await other.cleanup();
    }
  });
});
