// The answer of POST /predict, shaped like the design document's Flask app so clients
// written against it keep working: `probability` is the row's list of class
// probabilities (`predict_proba(x)[0].tolist()`), a list of such lists for `instances`.
import { rowJson } from './tensors.js';
import type { OutputPlan, Outputs } from './model.js';

export interface PredictRow {
  prediction: unknown;
  /** Class probabilities of the row; absent for regression models. */
  probability?: number[];
}

export interface PredictRows {
  predictions: unknown[];
  probability?: number[][];
}

/** One row's answer (`{"features": [...]}`): row `row` of a run's outputs. */
export function predictRow(plan: OutputPlan, outputs: Outputs, row: number): PredictRow {
  const probabilities = plan.probabilities ? outputs[plan.probabilities] : undefined;
  const vector = probabilities ? classVector(probabilities.data as ArrayLike<number>, probabilities.dims[1] ?? 1, row) : undefined;
  let prediction: unknown;
  if (plan.label && outputs[plan.label]) prediction = rowJson(outputs[plan.label]!, row);
  else if (vector) prediction = argmax(vector);
  else if (plan.value && outputs[plan.value]) prediction = rowJson(outputs[plan.value]!, row);
  return vector ? { prediction, probability: vector } : { prediction };
}

/** A batch's answer (`{"instances": [...]}`): rows [offset, offset + rows). */
export function predictRows(plan: OutputPlan, outputs: Outputs, offset: number, rows: number): PredictRows {
  const probabilities = plan.probabilities ? outputs[plan.probabilities] : undefined;
  const label = plan.label ? outputs[plan.label] : undefined;
  const predictions: unknown[] = new Array(rows);
  if (!probabilities) {
    for (let i = 0; i < rows; i++) predictions[i] = predictRow(plan, outputs, offset + i).prediction;
    return { predictions };
  }
  const classes = probabilities.dims[1] ?? 1;
  const data = probabilities.data as ArrayLike<number>;
  const vectors: number[][] = new Array(rows);
  for (let i = 0; i < rows; i++) vectors[i] = classVector(data, classes, offset + i);
  if (label && label.dims.length === 1) {
    // The common classifier (label [batch]): no per-row object.
    const labels = label.data as ArrayLike<number | bigint | string>;
    for (let i = 0; i < rows; i++) {
      const value = labels[offset + i]!;
      predictions[i] = typeof value === 'bigint' ? Number(value) : value;
    }
  } else {
    for (let i = 0; i < rows; i++) predictions[i] = label ? rowJson(label, offset + i) : argmax(vectors[i]!);
  }
  return { predictions, probability: vectors };
}

function classVector(data: ArrayLike<number>, classes: number, row: number): number[] {
  const vector = new Array<number>(classes);
  const start = row * classes;
  for (let i = 0; i < classes; i++) vector[i] = Number(data[start + i]);
  return vector;
}

function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}
