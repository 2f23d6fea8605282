// Tensors as raw bytes: the layout of the binary tensor data extension (HTTP) and of
// gRPC raw_input_contents / raw_output_contents. Little-endian, row-major, no padding;
// BOOL one byte per element; BYTES a 4-byte little-endian length before each element.
// Typed arrays use the host's byte order: every platform onnxruntime-node ships for
// (x86-64, arm64) is little-endian.
import { ORT_TYPE, createTypedArray, type NumericArray, type TensorData, type TensorLike } from './tensors.js';

/** Bytes per element of each fixed-size Open Inference Protocol datatype. */
export const ELEMENT_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1,
  INT8: 1,
  UINT8: 1,
  INT16: 2,
  UINT16: 2,
  FP16: 2,
  INT32: 4,
  UINT32: 4,
  FP32: 4,
  INT64: 8,
  UINT64: 8,
  FP64: 8,
};

/**
 * `bytes` -> `count` elements of `datatype` (a V2 datatype such as FP32 or BYTES); returns
 * the data, or a message saying what does not fit. The bytes are copied: the body buffer
 * is not aligned for typed arrays and must not be kept alive by the tensor.
 */
export function tensorFromBytes(datatype: string, bytes: Uint8Array, count: number): { data: TensorData } | { problem: string } {
  if (datatype === 'BYTES') return stringsFromBytes(bytes, count);
  const size = ELEMENT_BYTES[datatype];
  const type = ORT_TYPE[datatype];
  if (size === undefined || type === undefined) return { problem: `datatype ${datatype} has no binary form` };
  if (bytes.length !== count * size) {
    return { problem: `${bytes.length} bytes of ${datatype} data, the shape needs ${count} x ${size} = ${count * size}` };
  }
  const data = createTypedArray(type, count);
  new Uint8Array(data.buffer, data.byteOffset, data.byteLength).set(bytes);
  if (datatype === 'BOOL') {
    const flags = data as Uint8Array;
    for (let i = 0; i < flags.length; i++) if (flags[i]! > 1) flags[i] = 1;
  }
  if (datatype === 'FP32' || datatype === 'FP64') {
    const floats = data as Float32Array;
    for (let i = 0; i < floats.length; i++) {
      if (!Number.isFinite(floats[i]!)) return { problem: `element ${i} is ${floats[i]}; every value must be a finite number` };
    }
  }
  return { data };
}

function stringsFromBytes(bytes: Uint8Array, count: number): { data: string[] } | { problem: string } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const decoder = new TextDecoder('utf-8');
  const out = new Array<string>(count);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    if (offset + 4 > bytes.length) return { problem: `BYTES element ${i}: the data ends before its 4-byte length (${count} elements expected)` };
    const length = view.getUint32(offset, true);
    offset += 4;
    if (offset + length > bytes.length) return { problem: `BYTES element ${i} claims ${length} bytes, only ${bytes.length - offset} remain` };
    out[i] = decoder.decode(bytes.subarray(offset, offset + length));
    offset += length;
  }
  if (offset !== bytes.length) return { problem: `${bytes.length - offset} bytes left after the ${count} BYTES elements the shape needs` };
  return { data: out };
}

/** A tensor's values in the binary layout (a view of numeric data, no copy). */
export function tensorToBytes(tensor: TensorLike): Buffer {
  if (tensor.type === 'string') return stringsToBytes(tensor.data as readonly string[]);
  if (tensor.type === 'bool' && !ArrayBuffer.isView(tensor.data)) {
    return Buffer.from((tensor.data as readonly unknown[]).map((v) => (v === true || v === 1 ? 1 : 0)));
  }
  const data = tensor.data as NumericArray;
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

export function stringsToBytes(values: readonly string[]): Buffer {
  const parts = values.map((value) => Buffer.from(value, 'utf8'));
  const out = Buffer.allocUnsafe(parts.reduce((sum, part) => sum + 4 + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.writeUInt32LE(part.length, offset);
    part.copy(out, offset + 4);
    offset += 4 + part.length;
  }
  return out;
}
