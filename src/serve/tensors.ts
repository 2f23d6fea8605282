// Element types: onnxruntime names <-> Open Inference Protocol datatypes, JSON values ->
// typed arrays with per-value checks, and tensor rows -> JSON values for answers and logs.
// FP16 travels as IEEE half bits in a Uint16Array (what onnxruntime-node takes and gives);
// BYTES (onnxruntime "string") as an array of strings.

/** onnxruntime element type -> Open Inference Protocol V2 datatype. */
export const V2_DATATYPE: Readonly<Record<string, string>> = {
  float32: 'FP32',
  float64: 'FP64',
  float16: 'FP16',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  bool: 'BOOL',
  string: 'BYTES',
};

/** Open Inference Protocol datatype -> onnxruntime element type. */
export const ORT_TYPE: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(V2_DATATYPE).map(([ort, v2]) => [v2, ort]));

export type NumericArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** The values of any tensor serve handles: numbers in a typed array, or BYTES as strings. */
export type TensorData = NumericArray | string[];

interface ElementKind {
  create(length: number): NumericArray;
  /** Returns undefined when `value` fits, else what is wrong with it (for the error message). */
  check(value: unknown): string | undefined;
  /** Store a checked value. */
  set(array: NumericArray, index: number, value: unknown): void;
}

const finite = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? undefined : describeBad(value, 'a finite number'));

function integerIn(min: number, max: number) {
  return (value: unknown) =>
    typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max ? undefined : describeBad(value, `an integer in [${min}, ${max}]`);
}

function describeBad(value: unknown, wanted: string): string {
  let shown: string;
  if (typeof value === 'string') shown = `the string ${JSON.stringify(value.length > 20 ? `${value.slice(0, 20)}...` : value)}`;
  else if (value === null) shown = 'null';
  else if (Array.isArray(value)) shown = 'an array';
  else if (typeof value === 'object') shown = 'an object';
  else shown = String(value);
  return `${shown} is not ${wanted}`;
}

const plain = (array: NumericArray, index: number, value: unknown) => {
  (array as Float64Array)[index] = value as number;
};

const KINDS: Readonly<Record<string, ElementKind>> = {
  float32: { create: (n) => new Float32Array(n), check: finite, set: plain },
  float64: { create: (n) => new Float64Array(n), check: finite, set: plain },
  int8: { create: (n) => new Int8Array(n), check: integerIn(-128, 127), set: plain },
  int16: { create: (n) => new Int16Array(n), check: integerIn(-32768, 32767), set: plain },
  int32: { create: (n) => new Int32Array(n), check: integerIn(-2147483648, 2147483647), set: plain },
  uint8: { create: (n) => new Uint8Array(n), check: integerIn(0, 255), set: plain },
  uint16: { create: (n) => new Uint16Array(n), check: integerIn(0, 65535), set: plain },
  uint32: { create: (n) => new Uint32Array(n), check: integerIn(0, 4294967295), set: plain },
  int64: {
    create: (n) => new BigInt64Array(n),
    check: integerIn(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
    set: (array, index, value) => {
      (array as BigInt64Array)[index] = BigInt(value as number);
    },
  },
  uint64: {
    create: (n) => new BigUint64Array(n),
    check: integerIn(0, Number.MAX_SAFE_INTEGER),
    set: (array, index, value) => {
      (array as BigUint64Array)[index] = BigInt(value as number);
    },
  },
  float16: {
    create: (n) => new Uint16Array(n),
    check: (value) => (typeof value === 'number' && Number.isFinite(value) && Math.abs(value) < HALF_OVERFLOW ? undefined : describeBad(value, 'a finite number within FP16 range (+-65504)')),
    set: (array, index, value) => {
      (array as Uint16Array)[index] = floatToHalf(value as number);
    },
  },
  // onnxruntime-node takes bool tensors as Uint8Array; JSON clients send true/false (or 0/1).
  bool: {
    create: (n) => new Uint8Array(n),
    check: (value) => (typeof value === 'boolean' || value === 0 || value === 1 ? undefined : describeBad(value, 'a boolean')),
    set: (array, index, value) => {
      (array as Uint8Array)[index] = value === true || value === 1 ? 1 : 0;
    },
  },
};

/** Past this magnitude a float rounds to FP16 infinity (65504 is the largest half). */
const HALF_OVERFLOW = 65520;

const f32 = new Float32Array(1);
const f32Bits = new Uint32Array(f32.buffer);

/** A number -> IEEE 754 half bits, round to nearest even (via float32), overflow to infinity. */
export function floatToHalf(value: number): number {
  f32[0] = value;
  const bits = f32Bits[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    // Subnormal half (or zero): the implicit bit becomes explicit and shifts right.
    if (halfExponent < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - halfExponent;
    let half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = (halfExponent << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  return sign | half;
}

/** IEEE 754 half bits -> number. */
export function halfToFloat(half: number): number {
  const sign = half & 0x8000 ? -1 : 1;
  const exponent = (half >>> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Half bits -> float32 values (an FP16 request for a float32 model). */
export function halvesToFloat32(halves: Uint16Array): Float32Array {
  const out = new Float32Array(halves.length);
  for (let i = 0; i < halves.length; i++) out[i] = halfToFloat(halves[i]!);
  return out;
}

/** Float values -> half bits (an FP32 request for a float16 model); undefined if one overflows. */
export function floatsToHalves(values: ArrayLike<number>): Uint16Array | undefined {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    if (!(Math.abs(value) < HALF_OVERFLOW)) return undefined;
    out[i] = floatToHalf(value);
  }
  return out;
}

/** Numeric element types and BYTES ("string"). */
export function isSupportedType(type: string): boolean {
  return type in KINDS || type === 'string';
}

export function createTypedArray(type: string, length: number): NumericArray {
  const kind = KINDS[type];
  if (!kind) throw new Error(`unsupported element type ${type}`);
  return kind.create(length);
}

/** Zeroed (or empty-string) data of `type`: numeric types and BYTES. */
export function createTensorData(type: string, length: number): TensorData {
  if (type === 'string') return new Array<string>(length).fill('');
  return createTypedArray(type, length);
}

/** BYTES values from JSON: strings only (each element is one string). */
export function fillStrings(target: string[], values: readonly unknown[], where: (index: number) => string): string | undefined {
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (typeof value !== 'string') return `${where(i)}: ${describeBad(value, 'a string')}`;
    target[i] = value;
  }
  return undefined;
}

/**
 * Fill `target` from `values` starting at `offset`; returns undefined, or the message for
 * the first value that does not fit (with its index, so a client can find it).
 */
export function fillTyped(type: string, target: NumericArray, offset: number, values: readonly unknown[], where: (index: number) => string): string | undefined {
  const kind = KINDS[type];
  if (!kind) return `element type ${type} is not supported`;
  if (type === 'float32' || type === 'float64') {
    // The hot path: a plain loop with no closures for the common float models.
    const array = target as Float32Array;
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      if (typeof value !== 'number' || !Number.isFinite(value)) return `${where(i)}: ${describeBad(value, 'a finite number')}`;
      array[offset + i] = value;
    }
    return undefined;
  }
  for (let i = 0; i < values.length; i++) {
    const problem = kind.check(values[i]);
    if (problem) return `${where(i)}: ${problem}`;
    kind.set(target, offset + i, values[i]);
  }
  return undefined;
}

/** A tensor as onnxruntime returns it, reduced to what answers need. */
export interface TensorLike {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
}

/** JSON-safe scalar: int64 values become numbers (exact below 2^53, the JSON limit anyway). */
export function jsonScalar(value: unknown): number | string | boolean {
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'boolean' || typeof value === 'string') return value;
  return String(value);
}

/** All of a tensor's values as a flat JSON array (V2 `data`; FP16 as numbers). */
export function flatJson(tensor: TensorLike): Array<number | string | boolean> {
  const data = tensor.data as ArrayLike<unknown>;
  const out = new Array<number | string | boolean>(data.length);
  if (tensor.type === 'bool') for (let i = 0; i < data.length; i++) out[i] = data[i] === 1 || data[i] === true;
  else if (tensor.type === 'float16') for (let i = 0; i < data.length; i++) out[i] = jsonScalar(halfToFloat(data[i] as number));
  else for (let i = 0; i < data.length; i++) out[i] = jsonScalar(data[i]);
  return out;
}

/** Row `row` of a batch-first tensor: a scalar for [batch] or [batch, 1], else an array. */
export function rowJson(tensor: TensorLike, row: number): unknown {
  const data = tensor.data as ArrayLike<unknown>;
  const dims = tensor.dims;
  const batch = dims[0] ?? 1;
  const perRow = batch > 0 ? data.length / batch : 0;
  const half = tensor.type === 'float16';
  if (dims.length <= 1 || perRow === 1) return jsonScalar(half ? halfToFloat(data[row] as number) : data[row]);
  const out = new Array<unknown>(perRow);
  const start = row * perRow;
  for (let i = 0; i < perRow; i++) out[i] = jsonScalar(half ? halfToFloat(data[start + i] as number) : data[start + i]);
  return out;
}

/** Product of a shape's dimensions; NaN when one is not a non-negative integer. */
export function elementCount(shape: readonly unknown[]): number {
  let count = 1;
  for (const dim of shape) {
    if (typeof dim !== 'number' || !Number.isInteger(dim) || dim < 0) return Number.NaN;
    count *= dim;
  }
  return count;
}

/**
 * Flatten nested arrays (V2 allows nested `data`); stops early past `limit` elements.
 * Iterative: a hostile body nested a million levels deep must not overflow the stack.
 */
export function flattenData(data: readonly unknown[], limit: number): unknown[] {
  if (!data.some(Array.isArray)) return data as unknown[];
  const out: unknown[] = [];
  const stack: Array<{ array: readonly unknown[]; index: number }> = [{ array: data, index: 0 }];
  while (stack.length > 0 && out.length <= limit) {
    const top = stack[stack.length - 1]!;
    if (top.index >= top.array.length) {
      stack.pop();
      continue;
    }
    const item = top.array[top.index++];
    if (Array.isArray(item)) stack.push({ array: item, index: 0 });
    else out.push(item);
  }
  return out;
}
