// How outputs become answers (classifier label + probabilities, multi-class, regression),
// element-type checks, and the cluster-wide metrics sum.
import { describe, expect, test } from 'vitest';
import { aggregateWorkerMetrics, ServeMetrics } from '../../src/serve/metrics.js';
import { answerRow, answerRows, planOutputs } from '../../src/serve/model.js';
import { createTypedArray, elementCount, fillTyped, flattenData, rowJson } from '../../src/serve/tensors.js';

const classifier = {
  inputs: [{ name: 'features', type: 'float32', shape: ['batch', 10] }],
  outputs: [
    { name: 'label', type: 'int64', shape: ['batch'] },
    { name: 'probabilities', type: 'float32', shape: ['batch', 2] },
  ],
};

describe('planOutputs and answers', () => {
  test('binary classifier: label, and the positive class probability', () => {
    const plan = planOutputs(classifier);
    expect(plan).toEqual({ fetch: ['label', 'probabilities'], label: 'label', probabilities: 'probabilities', value: undefined });
    const outputs = {
      label: { type: 'int64', dims: [2], data: BigInt64Array.from([0n, 1n]) },
      probabilities: { type: 'float32', dims: [2, 2], data: Float32Array.from([0.9, 0.1, 0.2, 0.8]) },
    };
    expect(answerRow(plan, outputs, 1)).toEqual({ prediction: 1, probability: Math.fround(0.8) });
    expect(answerRows(plan, outputs, 0, 2)).toEqual({ predictions: [0, 1], probabilities: [Math.fround(0.1), Math.fround(0.8)] });
    expect(answerRows(plan, outputs, 1, 1)).toEqual({ predictions: [1], probabilities: [Math.fround(0.8)] });
  });

  test('multi-class: probability of the predicted class plus the vector', () => {
    const plan = planOutputs({ inputs: classifier.inputs, outputs: [{ name: 'output_label', type: 'int64', shape: ['N'] }, { name: 'output_probability', type: 'float32', shape: ['N', 3] }] });
    const outputs = { output_label: { type: 'int64', dims: [1], data: BigInt64Array.from([2n]) }, output_probability: { type: 'float32', dims: [1, 3], data: Float32Array.from([0.25, 0.25, 0.5]) } };
    expect(answerRow(plan, outputs, 0)).toEqual({ prediction: 2, probability: 0.5, probabilities: [0.25, 0.25, 0.5] });
    expect(answerRows(plan, outputs, 0, 1)).toEqual({ predictions: [2], probabilities: [[0.25, 0.25, 0.5]] });
  });

  test('probabilities only: the prediction is the argmax', () => {
    const plan = planOutputs({ inputs: classifier.inputs, outputs: [{ name: 'probs', type: 'float32', shape: ['batch', 3] }] });
    expect(answerRow(plan, { probs: { type: 'float32', dims: [1, 3], data: Float32Array.from([0.1, 0.7, 0.2]) } }, 0)).toMatchObject({ prediction: 1 });
  });

  test('regression: the value, no probability', () => {
    const plan = planOutputs({ inputs: classifier.inputs, outputs: [{ name: 'variable', type: 'float32', shape: ['batch', 1] }] });
    expect(plan.value).toBe('variable');
    expect(answerRow(plan, { variable: { type: 'float32', dims: [2, 1], data: Float32Array.from([1.5, 2.5]) } }, 1)).toEqual({ prediction: 2.5 });
    expect(answerRows(plan, { variable: { type: 'float32', dims: [2, 1], data: Float32Array.from([1.5, 2.5]) } }, 0, 2)).toEqual({ predictions: [1.5, 2.5] });
  });

  test('non-tensor outputs (sklearn ZipMap) are not fetched', () => {
    const plan = planOutputs({ inputs: classifier.inputs, outputs: [{ name: 'output_label', type: 'int64', shape: ['N'] }, { name: 'output_probability', type: 'non-tensor', shape: [] }] });
    expect(plan.fetch).toEqual(['output_label']);
  });
});

describe('tensors', () => {
  test('fillTyped checks each element for its type and names the first bad one', () => {
    const where = (i: number) => `x[${i}]`;
    expect(fillTyped('float32', createTypedArray('float32', 3), 0, [1, 2, 3], where)).toBeUndefined();
    expect(fillTyped('float32', createTypedArray('float32', 3), 0, [1, Infinity, 3], where)).toBe('x[1]: Infinity is not a finite number');
    expect(fillTyped('int8', createTypedArray('int8', 2), 0, [127, 128], where)).toBe('x[1]: 128 is not an integer in [-128, 127]');
    expect(fillTyped('uint8', createTypedArray('uint8', 1), 0, [-1], where)).toMatch(/not an integer in \[0, 255\]/);
    expect(fillTyped('bool', createTypedArray('bool', 2), 0, [true, 'yes'], where)).toBe('x[1]: the string "yes" is not a boolean');
    const big = createTypedArray('int64', 1);
    expect(fillTyped('int64', big, 0, [2 ** 53], where)).toMatch(/integer in/);
    expect(fillTyped('bfloat16', createTypedArray('float32', 1), 0, [1], where)).toMatch(/not supported/);
    const half = createTypedArray('float16', 2);
    expect(fillTyped('float16', half, 0, [1, 70000], where)).toMatch(/x\[1\]: 70000 is not a finite number within FP16 range/);
    expect(half[0]).toBe(0x3c00);
  });

  test('shapes and nested data', () => {
    expect(elementCount([2, 3])).toBe(6);
    expect(elementCount([2, -1])).toBeNaN();
    expect(elementCount([2, 1.5])).toBeNaN();
    expect(flattenData([[1, 2], [3, [4]]], 10)).toEqual([1, 2, 3, 4]);
    expect(flattenData([1, 2], 10)).toEqual([1, 2]);
    expect(flattenData([[1, 2], [3, 4]], 2).length).toBeLessThanOrEqual(3); // stops early on huge data
    expect(rowJson({ type: 'int64', dims: [2, 2], data: BigInt64Array.from([1n, 2n, 3n, 4n]) }, 1)).toEqual([3, 4]);
  });
});

describe('aggregateWorkerMetrics', () => {
  test('counters and histograms add up; accuracy is recomputed from the summed counters', async () => {
    const a = new ServeMetrics();
    const b = new ServeMetrics();
    const va = a.variant('fraud', 'v1', 'default');
    const vb = b.variant('fraud', 'v1', 'default');
    va.predictions.inc(3);
    vb.predictions.inc(4);
    va.latency.observe(0.001);
    vb.latency.observe(0.002);
    // Worker a: 1 of 1 correct (1.0); worker b: 1 of 3 (0.33). Overall 2 of 4 = 0.5, not the mean 0.67.
    va.recordLabel(true);
    vb.recordLabel(true);
    vb.recordLabel(false);
    vb.recordLabel(false);
    a.modelLoaded('fraud', 'v1');
    b.modelLoaded('fraud', 'v1');
    const text = await aggregateWorkerMetrics([await a.json(), await b.json()]);
    expect(text).toMatch(/^mlops_predictions_total\{model="fraud",version="v1",variant="default"\} 7$/m);
    expect(text).toMatch(/^mlops_prediction_latency_seconds_count\{model="fraud",version="v1",variant="default"\} 2$/m);
    expect(text).toMatch(/^mlops_feedback_total\{model="fraud",version="v1",variant="default"\} 4$/m);
    expect(text).toMatch(/^mlops_accuracy\{model="fraud",version="v1",variant="default"\} 0.5$/m);
    expect(text).toMatch(/^mlops_models_loaded\{model="fraud",version="v1"\} 1$/m);
    expect(text.match(/^# TYPE mlops_accuracy gauge$/gm)).toHaveLength(1);
  });
});
