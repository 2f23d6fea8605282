// Loading ONNX models with onnxruntime-node. The only module that imports it; import it
// lazily (await import) so that commands which never run a model start fast.
import type { InferenceSession } from 'onnxruntime-node';
import { UsageError, messageOf } from '../errors.js';
import type { Dim, Signature, TensorSpec } from './signature.js';

type Ort = typeof import('onnxruntime-node');
let ortModule: Promise<Ort> | undefined;

export function loadOrt(): Promise<Ort> {
  ortModule ??= import('onnxruntime-node');
  return ortModule;
}

export interface SessionOptions {
  /** Threads for one inference; serve sets 1 per worker and scales with workers. */
  intraOpThreads?: number;
}

/** Create a session from the model's bytes; a corrupt or non-ONNX file is a UsageError. */
export async function createSession(bytes: Uint8Array, label: string, options: SessionOptions = {}): Promise<InferenceSession> {
  const ort = await loadOrt();
  try {
    return await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: options.intraOpThreads ?? 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
    });
  } catch (error) {
    throw new UsageError(
      `${label} is not a loadable ONNX model: ${messageOf(error).split('\n')[0]}`,
      'pass the .onnx file your training run exported (onnxruntime could not parse this one)',
      'invalid_model',
    );
  }
}

function specsOf(metadata: readonly InferenceSession.ValueMetadata[]): TensorSpec[] {
  return metadata.map((m) => {
    if (!m.isTensor) return { name: m.name, type: 'non-tensor', shape: [] };
    return { name: m.name, type: String(m.type), shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : String(d)) as Dim) };
  });
}

export function signatureOf(session: InferenceSession): Signature {
  return { inputs: specsOf(session.inputMetadata), outputs: specsOf(session.outputMetadata) };
}

/** Load, read the signature, release: the validation register does. */
export async function inspectModel(bytes: Uint8Array, label: string): Promise<Signature> {
  const session = await createSession(bytes, label);
  try {
    const signature = signatureOf(session);
    if (signature.inputs.length === 0) {
      throw new UsageError(`${label} has no inputs`, 'export the model with at least one input tensor', 'invalid_model');
    }
    return signature;
  } finally {
    await session.release();
  }
}
