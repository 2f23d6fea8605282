// Answer shapes the HTTP routes will use: /predict like the design document's app
// (probability = class probabilities), KServe V1 `GET /`, and Triton's model
// configuration, repository index and statistics extensions.
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { ServeMetrics } from '../../src/serve/metrics.js';
import { planOutputs, type Outputs } from '../../src/serve/model.js';
import { predictRow, predictRows } from '../../src/serve/predict-answer.js';
import { V1_LIVE, matchTritonRoute, modelConfig, modelStatistics, repositoryIndex, unsupportedExtension } from '../../src/serve/triton-extensions.js';
import { FRAUD_V1, referenceRows } from '../support/serve-helpers.js';

const fraudSignature = {
  inputs: [{ name: 'features', type: 'float32', shape: ['batch', 10] }],
  outputs: [
    { name: 'label', type: 'int64', shape: ['batch'] },
    { name: 'probabilities', type: 'float32', shape: ['batch', 2] },
  ],
};

async function fraudOutputs(rows: number[][]): Promise<Outputs> {
  const session = await ort.InferenceSession.create(FRAUD_V1);
  const outputs = await session.run({ features: new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, 10]) });
  await session.release();
  return outputs as unknown as Outputs;
}

describe('/predict answers like the design document (predict_proba(...)[0].tolist())', () => {
  it('one row: prediction and the list of class probabilities', async () => {
    const rows = await referenceRows(1);
    const outputs = await fraudOutputs(rows);
    const answer = predictRow(planOutputs(fraudSignature), outputs, 0);
    const p = outputs.probabilities!.data as Float32Array;
    expect(answer).toEqual({ prediction: Number((outputs.label!.data as BigInt64Array)[0]), probability: [p[0], p[1]] });
    expect(answer.probability![0]! + answer.probability![1]!).toBeCloseTo(1, 6);
  });

  it('a batch: predictions and a list of lists; rows taken from the caller offset in a coalesced run', async () => {
    const rows = await referenceRows(5);
    const outputs = await fraudOutputs(rows);
    const p = outputs.probabilities!.data as Float32Array;
    const answer = predictRows(planOutputs(fraudSignature), outputs, 2, 3);
    expect(answer.predictions).toEqual([...(outputs.label!.data as BigInt64Array)].slice(2).map(Number));
    expect(answer.probability).toEqual([2, 3, 4].map((r) => [p[r * 2], p[r * 2 + 1]]));
  });

  it('more classes, a label-less classifier, and regression (no probability)', () => {
    const three = { label: { type: 'string', dims: [2], data: ['a', 'c'] }, scores: { type: 'float32', dims: [2, 3], data: Float32Array.from([0.5, 0.25, 0.25, 0, 0.25, 0.75]) } };
    const plan = planOutputs({ inputs: [], outputs: [{ name: 'label', type: 'string', shape: ['batch'] }, { name: 'scores', type: 'float32', shape: ['batch', 3] }] });
    expect(predictRow(plan, three, 1)).toEqual({ prediction: 'c', probability: [0, 0.25, 0.75] });
    expect(predictRows(plan, three, 0, 2)).toEqual({ predictions: ['a', 'c'], probability: [[0.5, 0.25, 0.25], [0, 0.25, 0.75]] });
    const probsOnly = planOutputs({ inputs: [], outputs: [{ name: 'probabilities', type: 'float32', shape: ['batch', 3] }] });
    expect(predictRows(probsOnly, { probabilities: three.scores }, 0, 2).predictions).toEqual([0, 2]);
    const regression = planOutputs({ inputs: [], outputs: [{ name: 'y', type: 'float32', shape: ['batch', 1] }] });
    const y = { y: { type: 'float32', dims: [2, 1], data: Float32Array.from([1.5, -2]) } };
    expect(predictRow(regression, y, 1)).toEqual({ prediction: -2 });
    expect(predictRows(regression, y, 0, 2)).toEqual({ predictions: [1.5, -2] });
  });
});

describe('KServe V1 and Triton extension routes', () => {
  it('GET / answers the KServe SDK liveness body', () => {
    expect(V1_LIVE).toEqual({ status: 'alive' });
  });

  it('matches the routes tritonclient.http calls, and leaves inference routes alone', () => {
    expect(matchTritonRoute('/v2/models/fraud/config')).toMatchObject({ kind: 'config', model: 'fraud', method: 'GET' });
    expect(matchTritonRoute('/v2/models/fraud/versions/v1.0.0/config')).toMatchObject({ kind: 'config', model: 'fraud', version: 'v1.0.0' });
    expect(matchTritonRoute('/v2/models/stats')).toMatchObject({ kind: 'stats', method: 'GET' });
    expect(matchTritonRoute('/v2/models/my%20model/stats')).toMatchObject({ kind: 'stats', model: 'my model' });
    expect(matchTritonRoute('/v2/repository/index')).toMatchObject({ kind: 'index', method: 'POST' });
    for (const path of ['/v2/models/fraud/infer', '/v2/models/fraud', '/v2/models/fraud/ready', '/v2/health/live', '/predict']) expect(matchTritonRoute(path)).toBeUndefined();
    for (const [path, name] of [
      ['/v2/repository/models/fraud/load', 'model repository load/unload'],
      ['/v2/trace/setting', 'trace'],
      ['/v2/models/fraud/trace/setting', 'trace'],
      ['/v2/logging', 'logging'],
      ['/v2/systemsharedmemory/status', 'shared memory'],
      ['/v2/cudasharedmemory/region/x/register', 'shared memory'],
      ['/v2/models/llm/generate', 'generate'],
    ] as const) {
      const route = matchTritonRoute(path);
      expect(route?.kind, path).toBe('unsupported');
      if (route?.kind === 'unsupported') expect(unsupportedExtension(route.extension).error).toMatch(new RegExp(`^the ${name}.* extension is not supported by mlops serve; supported: binary_tensor_data`));
    }
  });

  it('model config in Triton JSON form', () => {
    const config = modelConfig({
      name: 'fraud',
      versions: ['v1.0.0'],
      inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 10] }],
      outputs: [
        { name: 'label', datatype: 'INT64', shape: [-1] },
        { name: 'text', datatype: 'BYTES', shape: [-1] },
      ],
    });
    expect(config).toEqual({
      name: 'fraud',
      platform: 'onnxruntime_onnx',
      backend: 'onnxruntime',
      max_batch_size: 0,
      input: [{ name: 'features', data_type: 'TYPE_FP32', dims: [-1, 10] }],
      output: [
        { name: 'label', data_type: 'TYPE_INT64', dims: [-1] },
        { name: 'text', data_type: 'TYPE_STRING', dims: [-1] },
      ],
      parameters: { mlops_versions: { string_value: 'v1.0.0' } },
    });
    expect(modelConfig({ name: 'm', versions: ['1', '2'], inputs: [], outputs: [] }).version_policy).toEqual({ specific: { versions: [1, 2] } });
  });

  it('repository index: every served version, READY once loaded', () => {
    const models = [{ name: 'fraud', versions: ['v1.0.0', 'v2.0.0'] }];
    expect(repositoryIndex(models, true)).toEqual([
      { name: 'fraud', version: 'v1.0.0', state: 'READY', reason: '' },
      { name: 'fraud', version: 'v2.0.0', state: 'READY', reason: '' },
    ]);
    expect(repositoryIndex(models, false)[0]!.state).toBe('LOADING');
    expect(repositoryIndex(models, false, true)).toEqual([]);
  });

  it('statistics from the Prometheus series, summed over workers', async () => {
    const workers = [new ServeMetrics(), new ServeMetrics()];
    for (const metrics of workers) {
      const variant = metrics.variant('fraud', 'v1.0.0', 'default');
      variant.predictions.inc(100);
      variant.latency.observe(0.002);
      variant.latency.observe(0.001);
    }
    workers[0]!.variant('fraud', 'v2.0.0', 'b').predictions.inc(7);
    const series = (await Promise.all(workers.map((m) => m.json()))).flat();
    const served = [{ name: 'fraud', versions: ['v1.0.0', 'v2.0.0'] }, { name: 'other', versions: ['1'] }];
    const all = modelStatistics(series, served);
    expect(all.model_stats.map((s) => [s.name, s.version, s.inference_count, s.execution_count])).toEqual([
      ['fraud', 'v1.0.0', 200, 4],
      ['fraud', 'v2.0.0', 7, 0],
      ['other', '1', 0, 0],
    ]);
    expect((all.model_stats[0]!.inference_stats as { compute_infer: { ns: number } }).compute_infer.ns).toBe(6_000_000);
    expect(modelStatistics(series, served, { model: 'fraud', version: 'v2.0.0' }).model_stats).toHaveLength(1);
  });
});
