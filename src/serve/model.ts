// One loaded model version: its onnxruntime session (loaded once, warmed with one
// inference), how its outputs become answers, its out-of-distribution ranges, and the
// batcher that coalesces concurrent requests into one run.
import { readFile } from 'node:fs/promises';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { MlopsError, ToolFailedError, UsageError, messageOf } from '../errors.js';
import { createSession, loadOrt, signatureOf } from '../model/onnx.js';
import type { Signature, TensorSpec } from '../model/signature.js';
import type { VersionRecord } from '../registry/types.js';
import { createTensorData, createTypedArray, isSupportedType, rowJson, type NumericArray, type TensorData, type TensorLike } from './tensors.js';

/** onnxruntime could not load or run a registered model: exit 4 ("a model that fails to load"). */
function cannotLoad(record: VersionRecord, error: unknown): ToolFailedError {
  const label = `${record.name} ${record.version}`;
  const detail = messageOf(error).replace(`${label} is not a loadable ONNX model: `, '').split('\n')[0];
  return new ToolFailedError(
    'onnxruntime',
    `cannot load ${label}: onnxruntime failed on its artifact (${detail})`,
    `the registry blob is not a model onnxruntime can load: register the training run's .onnx again (mlops register ${record.name} MODEL.onnx) or serve another version`,
  );
}

/** What serve needs of the registry (the Registry class satisfies it). */
export interface ModelSource {
  listModels(): Promise<string[]>;
  resolve(name: string, ref?: string): Promise<VersionRecord>;
  /** A local file of the version's model, verified against its sha256. */
  artifactFile(record: VersionRecord): Promise<string>;
  /** The model's registry state (live experiments); absent for sources without one. */
  readState?(name: string): Promise<{ state: import('../registry/records.js').ModelState }>;
}

export type Outputs = Record<string, TensorLike>;

/** Which outputs carry the answer: decided once from the signature. */
export interface OutputPlan {
  /** Tensor outputs, fetched on every run (non-tensor outputs such as ZipMap are skipped). */
  fetch: string[];
  /** Class label per row (int or string tensor). */
  label?: string;
  /** Class probabilities per row ([batch, classes] float tensor). */
  probabilities?: string;
  /** Regression output when there is no label or probabilities. */
  value?: string;
}

const isFloat = (spec: TensorSpec) => spec.type.startsWith('float');

export function planOutputs(signature: Signature): OutputPlan {
  const tensors = signature.outputs.filter((o) => o.type !== 'non-tensor');
  const label = tensors.find((o) => /label|class|predict/i.test(o.name) && !isFloat(o)) ?? tensors.find((o) => !isFloat(o) && o.shape.length >= 1 && o.shape.length <= 2);
  const probabilities =
    tensors.find((o) => isFloat(o) && /prob|score/i.test(o.name) && o.shape.length === 2) ?? (label ? tensors.find((o) => isFloat(o) && o.shape.length === 2) : undefined);
  const value = !label && !probabilities ? (tensors.find(isFloat) ?? tensors[0]) : undefined;
  return { fetch: tensors.map((o) => o.name), label: label?.name, probabilities: probabilities?.name, value: value?.name };
}

export interface RowAnswer {
  prediction: unknown;
  /**
   * Binary classifier: the positive class's (index 1) probability. More classes: the
   * probability of the predicted class (the row's maximum), with the whole vector in
   * `probabilities`. Regression: absent.
   */
  probability?: number;
  probabilities?: number[];
}

/** The answer for row `row` of a run's outputs (README "POST /predict"). */
export function answerRow(plan: OutputPlan, outputs: Outputs, row: number): RowAnswer {
  const probabilities = plan.probabilities ? outputs[plan.probabilities] : undefined;
  let vector: number[] | undefined;
  if (probabilities) {
    const classes = probabilities.dims[1] ?? 1;
    const data = probabilities.data as ArrayLike<number>;
    vector = new Array<number>(classes);
    for (let i = 0; i < classes; i++) vector[i] = Number(data[row * classes + i]);
  }
  let prediction: unknown;
  if (plan.label && outputs[plan.label]) prediction = rowJson(outputs[plan.label]!, row);
  else if (vector) prediction = argmax(vector);
  else if (plan.value && outputs[plan.value]) prediction = rowJson(outputs[plan.value]!, row);
  if (!vector) return { prediction };
  if (vector.length === 2) return { prediction, probability: vector[1]! };
  if (vector.length === 1) return { prediction, probability: vector[0]! };
  return { prediction, probability: Math.max(...vector), probabilities: vector };
}

/** The answers of `rows` rows at once: the batch path, without an object per row. */
export function answerRows(plan: OutputPlan, outputs: Outputs, offset: number, rows: number): { predictions: unknown[]; probabilities?: unknown[] } {
  const probabilities = plan.probabilities ? outputs[plan.probabilities] : undefined;
  const label = plan.label ? outputs[plan.label] : undefined;
  const classes = probabilities?.dims[1] ?? 0;
  if (!probabilities || classes > 2 || !label || label.dims.length !== 1) {
    const predictions: unknown[] = new Array(rows);
    const vectors: unknown[] = new Array(rows);
    let any = false;
    for (let i = 0; i < rows; i++) {
      const answer = answerRow(plan, outputs, offset + i);
      predictions[i] = answer.prediction;
      vectors[i] = answer.probabilities ?? answer.probability;
      if (answer.probability !== undefined) any = true;
    }
    return any ? { predictions, probabilities: vectors } : { predictions };
  }
  // The common classifier (label [batch], probabilities [batch, 1 or 2]): straight loops.
  const labels = label.data as ArrayLike<number | bigint | string>;
  const probs = probabilities.data as ArrayLike<number>;
  const positive = classes - 1;
  const predictions: unknown[] = new Array(rows);
  const values: number[] = new Array(rows);
  for (let i = 0; i < rows; i++) {
    const value = labels[offset + i]!;
    predictions[i] = typeof value === 'bigint' ? Number(value) : value;
    values[i] = probs[(offset + i) * classes + positive]!;
  }
  return { predictions, probabilities: values };
}

function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

/** Every fetched output of one row, for the prediction log. */
export function outputsRow(outputs: Outputs, row: number): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const name in outputs) result[name] = rowJson(outputs[name]!, row);
  return result;
}

export interface BatchResult {
  outputs: Outputs;
  /** Index of the caller's first row in `outputs`. */
  offset: number;
  /** Duration of the inference run that carried this request. */
  seconds: number;
}

export interface LoadOptions {
  batchWindowMs: number;
  batchMaxRows: number;
}

export class LoadedModel {
  readonly name: string;
  readonly version: string;
  readonly signature: Signature;
  readonly plan: OutputPlan;
  /** The first input: the one /predict and KServe V1 fill. */
  readonly input: TensorSpec;
  /** Features per row when the model is tabular ([batch, N] single input), else undefined. */
  readonly width: number | undefined;
  readonly featureNames: string[];
  /** Observed [min, max] of each feature in the reference data, when registered with one. */
  readonly oodMin: Float64Array | undefined;
  readonly oodMax: Float64Array | undefined;
  private readonly batcher: Batcher;
  private inflight = 0;
  private retired = false;
  private released: Promise<void> | undefined;
  private onIdle: (() => void) | undefined;

  private constructor(
    readonly record: VersionRecord,
    private readonly session: InferenceSession,
    private readonly TensorClass: typeof Tensor,
    options: LoadOptions,
  ) {
    this.name = record.name;
    this.version = record.version;
    this.signature = signatureOf(session);
    this.plan = planOutputs(this.signature);
    this.input = this.signature.inputs[0]!;
    const last = this.input.shape[1];
    this.width = this.signature.inputs.length === 1 && this.input.shape.length === 2 && typeof last === 'number' && last > 0 ? last : undefined;
    const columns = record.reference_data?.columns;
    this.featureNames = Array.from({ length: this.width ?? 0 }, (_, i) => columns?.[i]?.name ?? `feature_${i}`);
    if (columns && this.width !== undefined && columns.length === this.width) {
      this.oodMin = Float64Array.from(columns, (c) => c.min);
      this.oodMax = Float64Array.from(columns, (c) => c.max);
    }
    this.batcher = new Batcher(this, options);
  }

  static async load(source: ModelSource, record: VersionRecord, options: LoadOptions): Promise<LoadedModel> {
    const label = `${record.name} ${record.version}`;
    let bytes: Buffer;
    try {
      bytes = await readFile(await source.artifactFile(record));
    } catch (error) {
      if (error instanceof MlopsError) throw error; // a blob that fails its sha256 check, a refused S3 read: already one line with a hint
      throw new UsageError(`cannot read the artifact of ${label}: ${messageOf(error)}`, 'the registry blob is missing: re-register the version');
    }
    const ort = await loadOrt();
    let session: InferenceSession;
    try {
      session = await createSession(bytes, label, { intraOpThreads: 1 });
    } catch (error) {
      // The blob matched its hash, so the input was accepted when registered (or the registry
      // was written by hand): onnxruntime failing on it now is a model that fails to load,
      // exit 4, not bad input to this command (register keeps exit 2 for a bad .onnx file).
      throw cannotLoad(record, error);
    }
    let model: LoadedModel;
    try {
      model = new LoadedModel(record, session, ort.Tensor, options);
      if (model.signature.inputs.length === 0) throw new UsageError(`${label} has no inputs`, 're-export the model with an input tensor');
      await model.warm();
    } catch (error) {
      await session.release().catch(() => undefined);
      throw error instanceof MlopsError ? error : cannotLoad(record, error);
    }
    return model;
  }

  /** One inference on zeros, so that the first client does not pay for lazy initialisation. */
  private async warm(): Promise<void> {
    const feeds: Record<string, Tensor> = {};
    for (const spec of this.signature.inputs) {
      if (!isSupportedType(spec.type)) {
        throw new UsageError(`${this.name} ${this.version}: input ${spec.name} has element type ${spec.type}, which serve does not support`, 'serve models with numeric, bool or string inputs');
      }
      const dims = spec.shape.map((d) => (typeof d === 'number' ? d : 1));
      feeds[spec.name] = this.tensor(spec.type, createTensorData(spec.type, dims.reduce((a, b) => a * b, 1)), dims);
    }
    try {
      await this.session.run(feeds, this.plan.fetch);
    } catch (error) {
      throw new UsageError(`${this.name} ${this.version} failed its warm-up inference: ${messageOf(error).split('\n')[0]}`, 'check the model with onnxruntime before registering it');
    }
  }

  tensor(type: string, data: TensorData, dims: readonly number[]): Tensor {
    return new this.TensorClass(type as 'float32', data as Float32Array, dims);
  }

  /** Rows of a tabular model, coalesced with concurrent requests when batching is on. */
  predictRows(data: NumericArray, rows: number): Promise<BatchResult> {
    return this.track(this.batcher.submit(data, rows));
  }

  /** A direct run with caller-built tensors (V2 requests to non-tabular models). */
  runFeeds(feeds: Record<string, Tensor>, fetch: string[] = this.plan.fetch): Promise<BatchResult> {
    return this.track(this.timedRun(feeds, fetch).then(({ outputs, seconds }) => ({ outputs, offset: 0, seconds })));
  }

  async timedRun(feeds: Record<string, Tensor>, fetch: string[] = this.plan.fetch): Promise<{ outputs: Outputs; seconds: number }> {
    const start = performance.now();
    const outputs = (await this.session.run(feeds, fetch)) as unknown as Outputs;
    return { outputs, seconds: (performance.now() - start) / 1000 };
  }

  private async track<T>(work: Promise<T>): Promise<T> {
    this.inflight++;
    try {
      return await work;
    } finally {
      this.inflight--;
      if (this.retired && this.inflight === 0) this.onIdle?.();
    }
  }

  /**
   * Stop taking new work (the caller has already switched to the next version); the
   * session is released once the requests it holds have finished.
   */
  retire(): Promise<void> {
    this.retired = true;
    if (this.inflight === 0) return this.release();
    return new Promise<void>((resolve) => {
      this.onIdle = resolve;
    }).then(() => this.release());
  }

  get isReleased(): boolean {
    return this.released !== undefined;
  }

  private release(): Promise<void> {
    this.released ??= this.session.release().catch(() => undefined);
    return this.released;
  }
}

interface Pending {
  data: NumericArray;
  rows: number;
  resolve: (result: BatchResult) => void;
  reject: (error: unknown) => void;
}

/**
 * Coalesces concurrent requests for one model version into one inference run. onnxruntime-
 * node runs on the main thread (after a setImmediate), so a run's fixed cost (tensor
 * wrapping, N-API, session bookkeeping: ~15 us) is paid once per batch instead of once
 * per request. Runs are sequential per model, which is what lets the batch buffer be
 * preallocated and reused.
 */
class Batcher {
  private queue: Pending[] = [];
  private queuedRows = 0;
  private scheduled = false;
  private running = false;
  private buffer: NumericArray | undefined;

  constructor(
    private readonly model: LoadedModel,
    private readonly options: LoadOptions,
  ) {}

  submit(data: NumericArray, rows: number): Promise<BatchResult> {
    const width = this.model.width ?? 1;
    if (this.options.batchWindowMs < 0 || rows >= this.options.batchMaxRows) {
      // Large batches are their own batch; no coalescing requested: run now.
      return this.model.timedRun({ [this.model.input.name]: this.model.tensor(this.model.input.type, data, [rows, width]) }).then(({ outputs, seconds }) => ({ outputs, offset: 0, seconds }));
    }
    return new Promise<BatchResult>((resolve, reject) => {
      this.queue.push({ data, rows, resolve, reject });
      this.queuedRows += rows;
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.running) return;
    this.scheduled = true;
    if (this.options.batchWindowMs === 0 || this.queuedRows >= this.options.batchMaxRows) setImmediate(() => void this.flush());
    else setTimeout(() => void this.flush(), this.options.batchWindowMs);
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    const width = this.model.width ?? 1;
    const batch: Pending[] = [];
    let rows = 0;
    while (this.queue.length > 0 && rows + this.queue[0]!.rows <= this.options.batchMaxRows) {
      const next = this.queue.shift()!;
      batch.push(next);
      rows += next.rows;
    }
    this.queuedRows -= rows;
    let data: NumericArray;
    if (batch.length === 1) {
      data = batch[0]!.data;
    } else {
      const needed = this.options.batchMaxRows * width;
      if (!this.buffer || this.buffer.length < needed) this.buffer = createTypedArray(this.model.input.type, needed);
      let offset = 0;
      for (const item of batch) {
        (this.buffer as Float32Array).set(item.data as Float32Array, offset);
        offset += item.rows * width;
      }
      data = this.buffer.subarray(0, rows * width);
    }
    try {
      const { outputs, seconds } = await this.model.timedRun({ [this.model.input.name]: this.model.tensor(this.model.input.type, data, [rows, width]) });
      let offset = 0;
      for (const item of batch) {
        item.resolve({ outputs, offset, seconds });
        offset += item.rows;
      }
    } catch (error) {
      if (batch.length === 1) batch[0]!.reject(error);
      // One request must not fail its neighbours: run them one by one to find out whose it is.
      else for (const item of batch) this.model.timedRun({ [this.model.input.name]: this.model.tensor(this.model.input.type, item.data, [item.rows, width]) }).then(({ outputs, seconds }) => item.resolve({ outputs, offset: 0, seconds }), item.reject);
    } finally {
      this.running = false;
      if (this.queue.length > 0) this.schedule();
    }
  }
}
