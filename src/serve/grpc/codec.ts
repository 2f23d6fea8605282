// GRPCInferenceService messages <-> the decoded tensors serve works with: typed
// `contents` (one repeated field per datatype family) or `raw_input_contents`, and the
// answer's outputs as typed contents or `raw_output_contents`. Pure functions over the
// plain objects @grpc/proto-loader produces (keepCase, longs as numbers, oneofs).
import { HttpError } from '../http.js';
import { tensorToBytes } from '../tensor-bytes.js';
import { V2_DATATYPE, type TensorLike } from '../tensors.js';
import { decodeBytesInput, decodeJsonInput, tensorHeader, type DecodedTensor } from '../v2-tensors.js';

/** InferParameter as proto-loader gives it (oneofs: the set field's name in parameter_choice). */
export interface InferParameterMessage {
  bool_param?: boolean;
  int64_param?: number | string;
  string_param?: string;
  parameter_choice?: 'bool_param' | 'int64_param' | 'string_param';
}

export interface TensorContentsMessage {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: Array<number | string>;
  uint_contents?: number[];
  uint64_contents?: Array<number | string>;
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Buffer[];
}

export interface InferInputMessage {
  name: string;
  datatype: string;
  shape: Array<number | string>;
  parameters?: Record<string, InferParameterMessage>;
  contents?: TensorContentsMessage | null;
}

export interface ModelInferRequestMessage {
  model_name: string;
  model_version: string;
  id: string;
  parameters?: Record<string, InferParameterMessage>;
  inputs: InferInputMessage[];
  outputs: Array<{ name: string; parameters?: Record<string, InferParameterMessage> }>;
  raw_input_contents: Buffer[];
}

export interface InferOutputMessage {
  name: string;
  datatype: string;
  shape: number[];
  parameters?: Record<string, InferParameterMessage>;
  contents?: TensorContentsMessage;
}

function invalid(message: string): HttpError {
  return new HttpError(400, message, 'validation');
}

/** Parameters map -> plain values (int64 as numbers). */
export function plainParameters(parameters: Record<string, InferParameterMessage> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, parameter] of Object.entries(parameters ?? {})) {
    const choice = parameter.parameter_choice;
    if (choice === 'bool_param') out[key] = parameter.bool_param;
    else if (choice === 'int64_param') out[key] = Number(parameter.int64_param);
    else if (choice === 'string_param') out[key] = parameter.string_param;
  }
  return out;
}

/** Plain values -> the parameters map (numbers become int64 when integral, else strings). */
export function parameterMessages(values: Record<string, unknown>): Record<string, InferParameterMessage> {
  const out: Record<string, InferParameterMessage> = {};
  for (const [key, value] of Object.entries(values)) {
    if (typeof value === 'boolean') out[key] = { bool_param: value };
    else if (typeof value === 'number' && Number.isSafeInteger(value)) out[key] = { int64_param: value };
    else if (value !== undefined) out[key] = { string_param: String(value) };
  }
  return out;
}

/** Which `contents` field carries each datatype. */
const CONTENTS_FIELD: Readonly<Record<string, keyof TensorContentsMessage>> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

/** The request's inputs, decoded from raw_input_contents (all inputs) or each input's contents. */
export function decodeGrpcInputs(request: ModelInferRequestMessage): DecodedTensor[] {
  const inputs = request.inputs ?? [];
  if (inputs.length === 0) throw invalid('"inputs" must hold at least one tensor');
  const raw = request.raw_input_contents ?? [];
  if (raw.length > 0 && raw.length !== inputs.length) {
    throw invalid(`raw_input_contents has ${raw.length} entries for ${inputs.length} inputs; give raw contents for every input, in the order of "inputs", or none`);
  }
  return inputs.map((input, index) => {
    const shape = (input.shape ?? []).map(Number);
    const parameters = plainParameters(input.parameters);
    const fields = { name: input.name, datatype: input.datatype, shape, ...(Object.keys(parameters).length ? { parameters } : {}) };
    const header = tensorHeader(fields, index);
    if (raw.length > 0) {
      if (hasContents(input.contents)) throw invalid(`input ${input.name} has contents and raw_input_contents; use one`);
      return decodeBytesInput(header, raw[index]!);
    }
    if (header.datatype === 'FP16') throw invalid(`input ${input.name}: FP16 has no typed contents field; send it in raw_input_contents`);
    const field = CONTENTS_FIELD[header.datatype];
    if (!field) throw invalid(`input ${input.name}: datatype ${header.datatype} has no contents field`);
    let values: unknown[] = input.contents?.[field] ?? [];
    if (header.datatype === 'BYTES') values = (values as Buffer[]).map((bytes) => Buffer.from(bytes).toString('utf8'));
    else if (field === 'int64_contents' || field === 'uint64_contents') values = values.map(Number);
    if (values.length !== header.count) throw invalid(`input ${input.name}: shape ${JSON.stringify(shape)} needs ${header.count} values, contents.${field} has ${values.length}`);
    return decodeJsonInput({ ...fields, data: values }, index);
  });
}

function hasContents(contents: TensorContentsMessage | null | undefined): boolean {
  if (!contents) return false;
  return Object.values(contents).some((values) => Array.isArray(values) && values.length > 0);
}

/** The output names asked for (empty: every output). */
export function requestedOutputNames(request: ModelInferRequestMessage): string[] {
  return (request.outputs ?? []).map((output, index) => {
    if (typeof output.name !== 'string' || output.name === '') throw invalid(`outputs[${index}].name must be a non-empty string`);
    const parameters = plainParameters(output.parameters);
    if (parameters.classification !== undefined) throw invalid(`output ${output.name}: the classification extension is not supported; request the output itself`);
    if (parameters.shared_memory_region !== undefined) throw invalid(`output ${output.name}: the shared memory extension is not supported`);
    return output.name;
  });
}

/**
 * Outputs for the answer: raw_output_contents when the client sent raw inputs (what
 * tritonclient.grpc does) or when an output is FP16 (no typed field holds it), else typed
 * contents.
 */
export function encodeGrpcOutputs(outputs: ReadonlyArray<{ name: string; tensor: TensorLike }>, raw: boolean): { outputs: InferOutputMessage[]; raw_output_contents: Buffer[] } {
  const useRaw = raw || outputs.some(({ tensor }) => tensor.type === 'float16');
  const messages: InferOutputMessage[] = [];
  const rawContents: Buffer[] = [];
  for (const { name, tensor } of outputs) {
    const datatype = V2_DATATYPE[tensor.type] ?? tensor.type;
    const message: InferOutputMessage = { name, datatype, shape: [...tensor.dims] };
    if (useRaw) rawContents.push(tensorToBytes(tensor));
    else message.contents = typedContents(datatype, tensor);
    messages.push(message);
  }
  return { outputs: messages, raw_output_contents: rawContents };
}

function typedContents(datatype: string, tensor: TensorLike): TensorContentsMessage {
  const field = CONTENTS_FIELD[datatype];
  if (!field) throw new Error(`output datatype ${datatype} has no contents field`);
  const data = tensor.data as ArrayLike<unknown>;
  if (datatype === 'BOOL') return { [field]: Array.from(data, (v) => v === 1 || v === true) };
  if (datatype === 'BYTES') return { [field]: Array.from(data, (v) => Buffer.from(String(v), 'utf8')) };
  // int64 outputs come as BigInt64Array: proto-loader encodes numbers (or decimal strings) for int64.
  if (field === 'int64_contents' || field === 'uint64_contents') return { [field]: Array.from(data, (v) => (typeof v === 'bigint' ? v.toString() : (v as number))) };
  return { [field]: Array.from(data as ArrayLike<number>) };
}
