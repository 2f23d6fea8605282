// The binary tensor data extension of the Open Inference Protocol over HTTP (Triton's
// "binary_tensor_data"; what tritonclient.http sends by default): a JSON header of
// Inference-Header-Content-Length bytes, then each binary input's bytes in the order of
// `inputs`; answers put binary outputs after the JSON the same way.
import { HttpError } from './http.js';
import { tensorToBytes } from './tensor-bytes.js';
import { V2_DATATYPE, flatJson, type TensorLike } from './tensors.js';
import { decodeBytesInput, decodeJsonInput, tensorHeader, type DecodedTensor } from './v2-tensors.js';

export const HEADER_LENGTH = 'inference-header-content-length';

function invalid(message: string): HttpError {
  return new HttpError(400, message, 'validation');
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Content types an infer request may carry: JSON, none, or (with the binary extension)
 * application/octet-stream. Throws 415 for the rest and for compressed bodies.
 */
export function checkInferContentType(contentType: string | undefined, contentEncoding: string | undefined): void {
  if (contentEncoding && contentEncoding !== 'identity') {
    throw new HttpError(415, `Content-Encoding ${contentEncoding} is not supported; send the body uncompressed`, 'validation');
  }
  if (!contentType) return;
  const mime = contentType.split(';', 1)[0]!.trim().toLowerCase();
  if (mime === 'application/json' || mime.endsWith('+json') || mime === 'application/octet-stream') return;
  throw new HttpError(415, `Content-Type ${mime} is not supported; send JSON (application/json) or the binary tensor extension (application/octet-stream with Inference-Header-Content-Length)`, 'validation');
}

/**
 * Split an infer body into its JSON header (parsed) and the binary bytes after it.
 * Without the header-length header the whole body is JSON.
 */
export function splitInferBody(body: Buffer, headerLength: string | string[] | undefined): { header: Record<string, unknown>; binary: Buffer } {
  if (Array.isArray(headerLength)) throw invalid('Inference-Header-Content-Length is given more than once');
  let jsonLength = body.length;
  if (headerLength !== undefined) {
    const trimmed = headerLength.trim();
    jsonLength = /^\d{1,15}$/.test(trimmed) ? Number(trimmed) : Number.NaN;
    if (!Number.isSafeInteger(jsonLength) || jsonLength < 1 || jsonLength > body.length) {
      throw invalid(`Inference-Header-Content-Length ${JSON.stringify(headerLength.slice(0, 30))} must be the JSON header's length in bytes, between 1 and the body's ${body.length}`);
    }
  }
  if (body.length === 0) throw new HttpError(400, 'request body is empty; send a JSON object', 'malformed_json');
  let header: unknown;
  try {
    header = JSON.parse(body.toString('utf8', 0, jsonLength));
  } catch (error) {
    const hint = headerLength === undefined && body.includes(0) ? '; binary tensor data needs the Inference-Header-Content-Length header' : '';
    throw new HttpError(400, `request body is not valid JSON (${(error as Error).message})${hint}`, 'malformed_json');
  }
  if (!isObject(header)) throw new HttpError(400, 'the body must be a JSON object', 'malformed_json');
  return { header, binary: body.subarray(jsonLength) };
}

/**
 * The request's inputs, decoded: those with `parameters.binary_data_size` take the next
 * bytes of `binary`, in order; the sizes must account for every byte.
 */
export function decodeInferInputs(header: Record<string, unknown>, binary: Buffer): DecodedTensor[] {
  const inputs = header.inputs;
  if (!Array.isArray(inputs) || inputs.length === 0) throw invalid('"inputs" must be a non-empty array of {name, shape, datatype, data}');
  let offset = 0;
  const decoded = inputs.map((input, index) => {
    const head = tensorHeader(input, index);
    const size = head.parameters?.binary_data_size;
    if (size === undefined) return decodeJsonInput(input, index);
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw invalid(`input ${head.name}: "binary_data_size" must be a byte count`);
    if ((input as Record<string, unknown>).data !== undefined) throw invalid(`input ${head.name} has both "data" and "binary_data_size"; send one`);
    if (offset + size > binary.length) {
      throw invalid(
        binary.length === 0
          ? `input ${head.name} says binary_data_size ${size} but no binary data follows the JSON; send the Inference-Header-Content-Length header with the JSON's length`
          : `input ${head.name}: binary_data_size ${size} runs past the ${binary.length} bytes after the JSON header`,
      );
    }
    const tensor = decodeBytesInput(head, binary.subarray(offset, offset + size));
    offset += size;
    return tensor;
  });
  if (offset !== binary.length) throw invalid(`${binary.length} bytes follow the JSON header, but the inputs' binary_data_size add up to ${offset}`);
  return decoded;
}

/** One output of an answer: the tensor and whether it goes in the binary section. */
export interface OutputToSend {
  name: string;
  tensor: TensorLike;
  binary: boolean;
}

export interface EncodedAnswer {
  body: Buffer;
  contentType: string;
  /** Set when the body has binary outputs: the value of Inference-Header-Content-Length. */
  headerLength?: number;
}

/**
 * An infer answer: `head` (model_name, model_version, id, parameters) plus `outputs`,
 * JSON `data` or `parameters.binary_data_size` with the bytes after the JSON.
 */
export function encodeInferAnswer(head: Record<string, unknown>, outputs: readonly OutputToSend[]): EncodedAnswer {
  const chunks: Buffer[] = [];
  const described = outputs.map(({ name, tensor, binary }) => {
    const base = { name, datatype: V2_DATATYPE[tensor.type] ?? tensor.type, shape: [...tensor.dims] };
    if (!binary) return { ...base, data: flatJson(tensor) };
    const bytes = tensorToBytes(tensor);
    chunks.push(bytes);
    return { ...base, parameters: { binary_data_size: bytes.length } };
  });
  const json = Buffer.from(JSON.stringify({ ...head, outputs: described }), 'utf8');
  if (chunks.length === 0) return { body: json, contentType: 'application/json' };
  return { body: Buffer.concat([json, ...chunks]), contentType: 'application/octet-stream', headerLength: json.length };
}
