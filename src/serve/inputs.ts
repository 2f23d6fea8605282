// Request bodies -> typed input tensors, checked against the model's ONNX signature before
// any inference: width, element type, finiteness, shape. Errors name the field and the fix.
import type { TensorSpec } from '../model/signature.js';
import { HttpError } from './http.js';
import type { LoadedModel } from './model.js';
import { V2_DATATYPE, createTypedArray, elementCount, fillTyped, flattenData, type NumericArray } from './tensors.js';

export interface Rows {
  data: NumericArray;
  /** onnxruntime element type of `data`. */
  type: string;
  rows: number;
  /** The rows as the client sent them (for the log and out-of-distribution counts). */
  raw: readonly (readonly number[])[];
  /**
   * The same values row-major in one flat array, when the request already holds them so
   * (V2 JSON `data`, binary tensors): out-of-distribution counts read it instead of `raw`,
   * which a V2 request then builds only when the log or a shadow asks for it.
   */
  flat?: ArrayLike<number>;
}

function invalid(message: string): HttpError {
  return new HttpError(400, message, 'validation');
}

/** `{"features": [...]}` (one row) or `{"instances": [[...], ...]}` (a batch). */
export function rowsFromBody(body: Record<string, unknown>, model: LoadedModel): Rows {
  const width = requireTabular(model);
  if (body.features !== undefined && body.instances !== undefined) throw invalid('send either "features" (one row) or "instances" (a batch), not both');
  if (body.features !== undefined) {
    const row = body.features;
    if (!Array.isArray(row)) throw invalid(`"features" must be an array of ${width} numbers`);
    if (row.length > 0 && Array.isArray(row[0])) throw invalid('"features" is one row; send a batch as "instances": [[...], ...]');
    return toRows([row], model, width, () => '"features"', (r, i) => `features[${i}]`);
  }
  if (body.instances !== undefined) return rowsFromInstances(body.instances, model, '"instances"');
  throw invalid(`send {"features": [${width} numbers]} or {"instances": [[${width} numbers], ...]}`);
}

export function rowsFromInstances(instances: unknown, model: LoadedModel, name: string): Rows {
  const width = requireTabular(model);
  if (!Array.isArray(instances)) throw invalid(`${name} must be an array of rows`);
  if (instances.length === 0) throw invalid(`${name} is an empty batch; send at least one row`);
  const plain = name.replaceAll('"', '');
  return toRows(instances, model, width, (r) => `${plain}[${r}]`, (r, i) => `${plain}[${r}][${i}]`);
}

function requireTabular(model: LoadedModel): number {
  if (model.width === undefined) {
    throw invalid(`${model.name} ${model.version} takes ${model.signature.inputs.map((i) => `${i.name} ${formatSpec(i)}`).join(', ')}, not rows of features; use POST /v2/models/${model.name}/infer with typed tensors`);
  }
  return model.width;
}

function toRows(rows: readonly unknown[], model: LoadedModel, width: number, rowName: (row: number) => string, where: (row: number, index: number) => string): Rows {
  const data = createTypedArray(model.input.type, rows.length * width);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    if (!Array.isArray(row)) throw invalid(`${rowName(r)} is not an array; each row is a list of ${width} numbers`);
    if (row.length !== width) throw invalid(`${rowName(r)} has ${row.length} values; ${model.name} ${model.version} expects ${width} (${model.featureNames.slice(0, 12).join(', ')}${width > 12 ? ', ...' : ''})`);
    const problem = fillTyped(model.input.type, data, r * width, row, (i) => where(r, i));
    if (problem) throw invalid(`${problem}; every value must be a ${model.input.type.startsWith('float') ? 'finite number (JSON has no NaN or Infinity)' : model.input.type}`);
  }
  return { data, type: model.input.type, rows: rows.length, raw: rows as number[][] };
}

function formatSpec(spec: TensorSpec): string {
  return `${V2_DATATYPE[spec.type] ?? spec.type}[${spec.shape.join(', ')}]`;
}

/** One V2 request input (Open Inference Protocol REST). */
export interface V2Input {
  name: string;
  shape: number[];
  datatype: string;
  data: unknown[];
}

/** Checks the V2 `inputs` array against the signature; returns each input's typed data. */
export function tensorsFromV2(body: Record<string, unknown>, model: LoadedModel): Map<string, { spec: TensorSpec; data: NumericArray; shape: number[]; flat: unknown[] }> {
  const inputs = body.inputs;
  if (!Array.isArray(inputs) || inputs.length === 0) throw invalid('"inputs" must be a non-empty array of {name, shape, datatype, data}');
  const specs = new Map(model.signature.inputs.map((spec) => [spec.name, spec]));
  const result = new Map<string, { spec: TensorSpec; data: NumericArray; shape: number[]; flat: unknown[] }>();
  for (const [index, input] of inputs.entries()) {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) throw invalid(`inputs[${index}] must be an object {name, shape, datatype, data}`);
    const { name, shape, datatype, data } = input as Record<string, unknown>;
    if (typeof name !== 'string') throw invalid(`inputs[${index}].name must be a string`);
    const spec = specs.get(name);
    if (!spec) throw invalid(`inputs[${index}]: ${model.name} has no input named ${JSON.stringify(name)}; its inputs: ${[...specs.keys()].join(', ')}`);
    if (result.has(name)) throw invalid(`input ${name} is given twice`);
    const expected = V2_DATATYPE[spec.type];
    if (typeof datatype !== 'string') throw invalid(`input ${name}: "datatype" must be a string such as ${expected}`);
    if (datatype !== expected) throw invalid(`input ${name} is ${expected} in ${model.name} ${model.version}, got datatype ${datatype}`);
    if (!Array.isArray(shape) || shape.length === 0) throw invalid(`input ${name}: "shape" must be a non-empty array of dimension sizes`);
    const count = elementCount(shape);
    if (!Number.isFinite(count)) throw invalid(`input ${name}: shape ${JSON.stringify(shape)} must hold non-negative integers`);
    if (shape.length !== spec.shape.length) throw invalid(`input ${name}: shape ${JSON.stringify(shape)} has ${shape.length} dimensions; the model expects ${spec.shape.length} ${formatSpec(spec)}`);
    for (const [axis, dim] of spec.shape.entries()) {
      if (typeof dim === 'number' && dim !== shape[axis]) throw invalid(`input ${name}: dimension ${axis} is ${shape[axis]}, the model expects ${dim} ${formatSpec(spec)}`);
    }
    if (count === 0) throw invalid(`input ${name}: shape ${JSON.stringify(shape)} is an empty batch; send at least one row`);
    if (!Array.isArray(data)) throw invalid(`input ${name}: "data" must be an array (flat, row-major, or nested)`);
    const flat = flattenData(data, count);
    if (flat.length !== count) throw invalid(`input ${name}: shape ${JSON.stringify(shape)} needs ${count} values, "data" has ${flat.length > count ? 'more' : flat.length}`);
    const typed = createTypedArray(spec.type, count);
    const problem = fillTyped(spec.type, typed, 0, flat, (i) => `input ${name} data[${i}]`);
    if (problem) throw invalid(problem);
    result.set(name, { spec, data: typed, shape: shape as number[], flat });
  }
  const missing = model.signature.inputs.filter((spec) => !result.has(spec.name)).map((spec) => spec.name);
  if (missing.length) throw invalid(`missing input${missing.length > 1 ? 's' : ''} ${missing.join(', ')} for ${model.name} ${model.version}`);
  return result;
}

/** V2 `outputs` (optional): the names of the outputs to return. */
export function requestedOutputs(body: Record<string, unknown>, model: LoadedModel): string[] {
  if (body.outputs === undefined) return model.plan.fetch;
  if (!Array.isArray(body.outputs)) throw invalid('"outputs" must be an array of {name}');
  const names = body.outputs.map((output, index) => {
    const name = (output as { name?: unknown } | null)?.name;
    if (typeof name !== 'string') throw invalid(`outputs[${index}].name must be a string`);
    if (!model.plan.fetch.includes(name)) throw invalid(`${model.name} has no output named ${JSON.stringify(name)}; its outputs: ${model.plan.fetch.join(', ')}`);
    return name;
  });
  return names.length ? names : model.plan.fetch;
}
