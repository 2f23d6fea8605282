// Open Inference Protocol tensors, whatever carried them (JSON `data`, the HTTP binary
// extension, gRPC typed or raw contents): one decoded form, checked against the model's
// ONNX signature in one place, and the requested outputs with their binary flags.
import type { Signature, TensorSpec } from '../model/signature.js';
import { HttpError } from './http.js';
import { tensorFromBytes } from './tensor-bytes.js';
import { ORT_TYPE, V2_DATATYPE, createTensorData, elementCount, fillStrings, fillTyped, flattenData, floatsToHalves, halvesToFloat32, type TensorData } from './tensors.js';

/** One input tensor as the client sent it, values decoded to their datatype's array. */
export interface DecodedTensor {
  name: string;
  /** Open Inference Protocol datatype as sent (FP32, FP16, BYTES, ...). */
  datatype: string;
  shape: number[];
  data: TensorData;
  parameters?: Record<string, unknown>;
  /** The values as JSON gave them (flat), for the prediction log; absent for binary data. */
  json?: readonly unknown[];
}

/** An input ready for onnxruntime: data in the model's element type. */
export interface ModelInput {
  spec: TensorSpec;
  data: TensorData;
  shape: number[];
  json?: readonly unknown[];
}

/** An output the client asked for; `binary`: return it in the binary layout. */
export interface RequestedOutput {
  name: string;
  binary: boolean;
}

/** What the signature check needs of a loaded model. */
export interface ModelShape {
  name: string;
  version: string;
  signature: Signature;
}

function invalid(message: string): HttpError {
  return new HttpError(400, message, 'validation');
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The name, datatype and shape of a request input; `count` is its element count. */
export interface TensorHeader {
  name: string;
  datatype: string;
  shape: number[];
  count: number;
  parameters?: Record<string, unknown>;
}

export function tensorHeader(input: unknown, index: number): TensorHeader {
  if (!isObject(input)) throw invalid(`inputs[${index}] must be an object {name, shape, datatype, data}`);
  const { name, shape, datatype, parameters } = input;
  if (typeof name !== 'string' || name === '') throw invalid(`inputs[${index}].name must be a non-empty string`);
  if (typeof datatype !== 'string') throw invalid(`input ${name}: "datatype" must be a string such as FP32`);
  if (ORT_TYPE[datatype] === undefined) throw invalid(`input ${name}: datatype ${JSON.stringify(datatype.slice(0, 20))} is not one of ${Object.values(V2_DATATYPE).join(', ')}`);
  if (!Array.isArray(shape)) throw invalid(`input ${name}: "shape" must be an array of dimension sizes`);
  const count = elementCount(shape);
  if (!Number.isFinite(count)) throw invalid(`input ${name}: shape ${JSON.stringify(shape).slice(0, 100)} must hold non-negative integers`);
  if (parameters !== undefined && !isObject(parameters)) throw invalid(`input ${name}: "parameters" must be an object`);
  if (parameters?.shared_memory_region !== undefined) throw invalid(`input ${name}: the shared memory extension is not supported; send the data in the body (binary or JSON)`);
  return { name, datatype, shape: shape as number[], count, ...(parameters ? { parameters } : {}) };
}

/** An input whose values are in its JSON `data` (flat or nested). */
export function decodeJsonInput(input: unknown, index: number): DecodedTensor {
  const header = tensorHeader(input, index);
  const { name, datatype, count } = header;
  const data = (input as Record<string, unknown>).data;
  if (!Array.isArray(data)) throw invalid(`input ${name}: "data" must be an array (flat, row-major, or nested)`);
  const flat = flattenData(data, count);
  if (flat.length !== count) throw invalid(`input ${name}: shape ${JSON.stringify(header.shape)} needs ${count} values, "data" has ${flat.length > count ? 'more' : flat.length}`);
  const type = ORT_TYPE[datatype]!;
  const values = createTensorData(type, count);
  const where = (i: number) => `input ${name} data[${i}]`;
  const problem = Array.isArray(values) ? fillStrings(values, flat, where) : fillTyped(type, values, 0, flat, where);
  if (problem) throw invalid(problem);
  return { name, datatype, shape: header.shape, data: values, json: flat, ...(header.parameters ? { parameters: header.parameters } : {}) };
}

/** An input whose values came as raw bytes (HTTP binary extension, gRPC raw contents). */
export function decodeBytesInput(header: TensorHeader, bytes: Uint8Array): DecodedTensor {
  const decoded = tensorFromBytes(header.datatype, bytes, header.count);
  if ('problem' in decoded) throw invalid(`input ${header.name}: ${decoded.problem}`);
  return { name: header.name, datatype: header.datatype, shape: header.shape, data: decoded.data, ...(header.parameters ? { parameters: header.parameters } : {}) };
}

/**
 * Check decoded inputs against the signature: every input present once, datatype, rank,
 * fixed dimensions, a non-empty batch. FP16 is accepted for float32 inputs and FP32/FP64
 * for float16 inputs (converted here), so clients can send the compact form.
 */
export function modelInputs(model: ModelShape, inputs: readonly DecodedTensor[]): Map<string, ModelInput> {
  if (inputs.length === 0) throw invalid('"inputs" must be a non-empty array of {name, shape, datatype, data}');
  const specs = new Map(model.signature.inputs.map((spec) => [spec.name, spec]));
  const result = new Map<string, ModelInput>();
  for (const input of inputs) {
    const spec = specs.get(input.name);
    if (!spec) throw invalid(`${model.name} has no input named ${JSON.stringify(input.name.slice(0, 100))}; its inputs: ${[...specs.keys()].join(', ')}`);
    if (result.has(input.name)) throw invalid(`input ${input.name} is given twice`);
    const expected = V2_DATATYPE[spec.type] ?? spec.type;
    const shape = input.shape;
    if (shape.length !== spec.shape.length) throw invalid(`input ${input.name}: shape ${JSON.stringify(shape)} has ${shape.length} dimensions; the model expects ${spec.shape.length} ${formatSpec(spec)}`);
    for (const [axis, dim] of spec.shape.entries()) {
      if (typeof dim === 'number' && dim !== shape[axis]) throw invalid(`input ${input.name}: dimension ${axis} is ${shape[axis]}, the model expects ${dim} ${formatSpec(spec)}`);
    }
    if (input.data.length === 0) throw invalid(`input ${input.name}: shape ${JSON.stringify(shape)} is an empty batch; send at least one row`);
    result.set(input.name, { spec, data: convert(input, spec, expected, model), shape, ...(input.json ? { json: input.json } : {}) });
  }
  const missing = model.signature.inputs.filter((spec) => !result.has(spec.name)).map((spec) => spec.name);
  if (missing.length) throw invalid(`missing input${missing.length > 1 ? 's' : ''} ${missing.join(', ')} for ${model.name} ${model.version}`);
  return result;
}

function convert(input: DecodedTensor, spec: TensorSpec, expected: string, model: ModelShape): TensorData {
  if (input.datatype === expected) return input.data;
  if (expected === 'FP32' && input.datatype === 'FP16') return halvesToFloat32(input.data as Uint16Array);
  if (expected === 'FP16' && (input.datatype === 'FP32' || input.datatype === 'FP64')) {
    const halves = floatsToHalves(input.data as Float32Array);
    if (!halves) throw invalid(`input ${input.name}: a value is outside the FP16 range (+-65504) of ${model.name}'s ${spec.name}`);
    return halves;
  }
  throw invalid(`input ${input.name} is ${expected} in ${model.name} ${model.version}, got datatype ${input.datatype}`);
}

function formatSpec(spec: TensorSpec): string {
  return `${V2_DATATYPE[spec.type] ?? spec.type}[${spec.shape.join(', ')}]`;
}

/**
 * The outputs to return and how: `outputs` of the request (each may say
 * `parameters.binary_data`), else every output; the request-level
 * `parameters.binary_data_output` is the default that a per-output flag overrides.
 */
export function requestedOutputs(outputs: unknown, requestParameters: Record<string, unknown> | undefined, available: readonly string[], modelName: string): RequestedOutput[] {
  const binaryDefault = requestParameters?.binary_data_output ?? false;
  if (typeof binaryDefault !== 'boolean') throw invalid('"parameters.binary_data_output" must be true or false');
  if (outputs === undefined || (Array.isArray(outputs) && outputs.length === 0)) return available.map((name) => ({ name, binary: binaryDefault }));
  if (!Array.isArray(outputs)) throw invalid('"outputs" must be an array of {name, parameters}');
  const seen = new Set<string>();
  return outputs.map((output, index) => {
    if (!isObject(output) || typeof output.name !== 'string') throw invalid(`outputs[${index}].name must be a string`);
    const name = output.name;
    if (!available.includes(name)) throw invalid(`${modelName} has no output named ${JSON.stringify(name.slice(0, 100))}; its outputs: ${available.join(', ')}`);
    if (seen.has(name)) throw invalid(`output ${name} is requested twice`);
    seen.add(name);
    const parameters = output.parameters;
    if (parameters !== undefined && !isObject(parameters)) throw invalid(`output ${name}: "parameters" must be an object`);
    if (parameters?.classification !== undefined) throw invalid(`output ${name}: the classification extension is not supported; request the output itself and take the top classes client-side`);
    if (parameters?.shared_memory_region !== undefined) throw invalid(`output ${name}: the shared memory extension is not supported; leave the output in the body`);
    const binary = parameters?.binary_data ?? binaryDefault;
    if (typeof binary !== 'boolean') throw invalid(`output ${name}: "parameters.binary_data" must be true or false`);
    return { name, binary };
  });
}
