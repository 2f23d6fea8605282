// One Open Inference Protocol inference, whatever carried it (HTTP JSON, the HTTP binary
// extension, gRPC): the same routing (A/B, a named version), batching, metrics,
// prediction log, feedback memory and shadows as every other protocol.
import type { Tensor } from 'onnxruntime-node';
import { messageOf } from '../../errors.js';
import { HttpError } from '../http.js';
import type { Rows } from '../inputs.js';
import { answerRows, type BatchResult, type LoadedModel, type Outputs } from '../model.js';
import type { Route } from '../models.js';
import type { NumericArray, TensorLike } from '../tensors.js';
import { modelInputs, type DecodedTensor } from '../v2-tensors.js';
import type { ServeCore } from './protocol.js';

export interface V2Call {
  name: string;
  version: string | undefined;
  inputs: DecodedTensor[];
  /** Output names to return (checked by the caller against model.plan.fetch); empty: all. */
  userId: string | undefined;
  /** The client's id ("id" of the request), echoed in the answer. */
  clientId: string | undefined;
  /** The server-made id: the feedback key. */
  requestId: string;
}

export interface V2Run {
  model: LoadedModel;
  route: Route;
  /** An output's rows of this request (a coalesced run holds other requests too). */
  output(name: string): TensorLike;
  /** After the answer is on its way: log, remember for feedback, shadows (tabular models). */
  after(): void;
}

/** Pick the route, check the inputs against its signature, run. `onRoute` sees the route first (metrics labels). */
export async function runV2(core: ServeCore, call: V2Call, onRoute: (route: Route) => void): Promise<V2Run> {
  core.requireReady();
  const served = core.models.servedModel(call.name);
  const route = core.models.pick(served, call.version, call.userId);
  onRoute(route);
  const model = route.model;
  const inputs = modelInputs(model, call.inputs);
  if (model.width !== undefined && model.input.type !== 'string') {
    const input = inputs.get(model.input.name)!;
    const rows = input.shape[0]!;
    const width = model.width;
    const data = input.data as NumericArray;
    // Plain numbers per row for the prediction log, OOD counts and shadows: as the client
    // sent them in JSON, else the binary values.
    // Built only when the log or a shadow reads them: a 100-row binary request would
    // otherwise make 100 arrays of boxed numbers that nothing else needs.
    const json = input.json;
    const flat = json ? (json as ArrayLike<number>) : data instanceof BigInt64Array || data instanceof BigUint64Array ? undefined : (data as ArrayLike<number>);
    let raw: number[][] | undefined;
    const rowsIn: Rows = {
      data,
      type: input.spec.type,
      rows,
      get raw() {
        raw ??= json
          ? Array.from({ length: rows }, (_, r) => json.slice(r * width, (r + 1) * width) as number[])
          : Array.from({ length: rows }, (_, r) => Array.from(data.subarray(r * width, (r + 1) * width) as ArrayLike<number | bigint>, Number));
        return raw;
      },
      ...(flat ? { flat } : {}),
    };
    const result: BatchResult = await core.predictor.infer(route, rowsIn);
    return {
      model,
      route,
      output: (name) => sliceRows(result.outputs[name]!, result.offset, rows),
      after: () => {
        const { predictions } = answerRows(model.plan, result.outputs, result.offset, rows);
        core.predictor.afterPrediction(served, route, rowsIn, result, call.requestId, core.now().toISOString(), predictions, call.clientId);
      },
    };
  }
  const feeds: Record<string, Tensor> = {};
  for (const input of inputs.values()) feeds[input.spec.name] = model.tensor(input.spec.type, input.data, input.shape);
  let outputs: Outputs;
  try {
    const result = await model.runFeeds(feeds);
    outputs = result.outputs;
    route.metrics.latency.observe(result.seconds);
  } catch (error) {
    throw new HttpError(500, `inference failed in ${model.name} ${model.version}: ${messageOf(error).split('\n')[0]}`, 'inference');
  }
  route.metrics.predictions.inc(inputs.get(model.input.name)!.shape[0] ?? 1);
  return { model, route, output: (name) => outputs[name]!, after: () => undefined };
}

/** Rows [offset, offset + rows) of a batch-first tensor. */
export function sliceRows(tensor: TensorLike, offset: number, rows: number): TensorLike {
  const batch = tensor.dims[0] ?? 0;
  if (offset === 0 && rows === batch) return tensor;
  const perRow = batch > 0 ? (tensor.data as ArrayLike<unknown>).length / batch : 0;
  const data = tensor.data as { subarray?: (a: number, b: number) => unknown; slice: (a: number, b: number) => unknown };
  const sliced = data.subarray ? data.subarray(offset * perRow, (offset + rows) * perRow) : data.slice(offset * perRow, (offset + rows) * perRow);
  return { type: tensor.type, dims: [rows, ...tensor.dims.slice(1)], data: sliced };
}
