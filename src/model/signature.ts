// The ONNX signature recorded at registration: input/output names, element types and
// shapes (symbolic dims kept as their names). Light module: no onnxruntime import.

export type Dim = number | string;

export interface TensorSpec {
  name: string;
  /** onnxruntime element type: float32, float64, int64, int32, bool, string, ... */
  type: string;
  shape: Dim[];
}

export interface Signature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

export const NUMERIC_TYPES = new Set(['float32', 'float64', 'float16', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'bool']);

/**
 * The number of features per row of a tabular model: the last dimension of its first
 * input when that is a fixed number (`[batch, 10]` -> 10); undefined when not tabular.
 */
export function featureWidth(signature: Signature): number | undefined {
  const input = signature.inputs[0];
  if (!input || input.shape.length !== 2) return undefined;
  const last = input.shape[1];
  return typeof last === 'number' && last > 0 ? last : undefined;
}

export function formatShape(shape: Dim[]): string {
  return `[${shape.map((d) => String(d)).join(', ')}]`;
}
