// Element types: onnxruntime names <-> Open Inference Protocol datatypes, JSON values ->
// typed arrays with per-value checks, and tensor rows -> JSON values for answers and logs.

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
  // onnxruntime-node takes bool tensors as Uint8Array; JSON clients send true/false (or 0/1).
  bool: {
    create: (n) => new Uint8Array(n),
    check: (value) => (typeof value === 'boolean' || value === 0 || value === 1 ? undefined : describeBad(value, 'a boolean')),
    set: (array, index, value) => {
      (array as Uint8Array)[index] = value === true || value === 1 ? 1 : 0;
    },
  },
};

export function isSupportedType(type: string): boolean {
  return type in KINDS;
}

export function createTypedArray(type: string, length: number): NumericArray {
  const kind = KINDS[type];
  if (!kind) throw new Error(`unsupported element type ${type}`);
  return kind.create(length);
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

/** All of a tensor's values as a flat JSON array (V2 `data`). */
export function flatJson(tensor: TensorLike): Array<number | string | boolean> {
  const data = tensor.data as ArrayLike<unknown>;
  const out = new Array<number | string | boolean>(data.length);
  const isBool = tensor.type === 'bool';
  for (let i = 0; i < data.length; i++) out[i] = isBool ? data[i] === 1 || data[i] === true : jsonScalar(data[i]);
  return out;
}

/** Row `row` of a batch-first tensor: a scalar for [batch] or [batch, 1], else an array. */
export function rowJson(tensor: TensorLike, row: number): unknown {
  const data = tensor.data as ArrayLike<unknown>;
  const dims = tensor.dims;
  const batch = dims[0] ?? 1;
  const perRow = batch > 0 ? data.length / batch : 0;
  if (dims.length <= 1 || perRow === 1) return jsonScalar(data[row]);
  const out = new Array<unknown>(perRow);
  const start = row * perRow;
  for (let i = 0; i < perRow; i++) out[i] = jsonScalar(data[start + i]);
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
