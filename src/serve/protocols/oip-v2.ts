// The Open Inference Protocol V2 over HTTP (KServe V2, Triton): GET /v2, model metadata
// and readiness, POST /v2/models/NAME[/versions/V]/infer with typed tensors.
import { HttpError } from '../http.js';
import { requestedOutputs, tensorsFromV2, type Rows } from '../inputs.js';
import { answerRows, type BatchResult, type Outputs } from '../model.js';
import { V2_DATATYPE, flatJson, type TensorLike } from '../tensors.js';
import { messageOf } from '../../errors.js';
import type { Exchange, ProtocolModule, ServeCore } from './protocol.js';
import { decodePathPart } from './paths.js';

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

const MODEL_PATH = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/ready|\/infer)?$/;

export function oipV2Protocol(core: ServeCore): ProtocolModule {
  async function infer(exchange: Exchange, name: string, version: string | undefined): Promise<void> {
    const { request, context } = exchange;
    const body = await core.readJsonObject(request);
    core.requireReady();
    const served = core.models.servedModel(name);
    const route = core.models.pick(served, version, core.userId(request, body, served.experiment?.sticky));
    context.model = route.metrics;
    const model = route.model;
    if (body.id !== undefined && typeof body.id !== 'string') throw new HttpError(400, '"id" must be a string', 'validation');
    if (body.parameters !== undefined && !isObject(body.parameters)) throw new HttpError(400, '"parameters" must be an object', 'validation');
    const tensors = tensorsFromV2(body, model);
    const fetch = requestedOutputs(body, model);
    // "id" is the client's (echoed, as the protocol asks); the feedback key is the server's.
    const requestId = core.requestId(request);
    const clientId = typeof body.id === 'string' && body.id !== '' ? body.id.slice(0, 128) : core.clientRequestId(request);
    let outputs: Outputs;
    let offset = 0;
    let rows = 1;
    let tabular: { rows: Rows; result: BatchResult } | undefined;
    if (model.width !== undefined) {
      const input = tensors.get(model.input.name)!;
      rows = input.shape[0]!;
      const raw = Array.from({ length: rows }, (_, r) => input.flat.slice(r * model.width!, (r + 1) * model.width!) as number[]);
      const rowsIn: Rows = { data: input.data, type: input.spec.type, rows, raw };
      const result = await core.predictor.infer(route, rowsIn);
      outputs = result.outputs;
      offset = result.offset;
      tabular = { rows: rowsIn, result };
    } else {
      const feeds = Object.fromEntries([...tensors.values()].map((t) => [t.spec.name, model.tensor(t.spec.type, t.data, t.shape)]));
      try {
        const result = await model.runFeeds(feeds);
        outputs = result.outputs;
        route.metrics.latency.observe(result.seconds);
      } catch (error) {
        throw new HttpError(500, `inference failed in ${model.name} ${model.version}: ${messageOf(error).split('\n')[0]}`, 'inference');
      }
      rows = tensors.get(model.input.name)!.shape[0] ?? 1;
      route.metrics.predictions.inc(rows);
    }
    const outputTensors = fetch.map((outputName) => {
      const tensor = sliceRows(outputs[outputName]!, offset, tabular ? rows : undefined);
      return { name: outputName, datatype: V2_DATATYPE[tensor.type] ?? tensor.type, shape: [...tensor.dims], data: flatJson(tensor) };
    });
    core.reply(exchange, 200, {
      model_name: model.name,
      model_version: model.version,
      id: clientId ?? requestId,
      parameters: { request_id: requestId, variant: route.variant, ...(route.experiment ? { experiment: route.experiment } : {}) },
      outputs: outputTensors,
    });
    if (tabular) {
      const { predictions } = answerRows(model.plan, tabular.result.outputs, tabular.result.offset, rows);
      core.predictor.afterPrediction(served, route, tabular.rows, tabular.result, requestId, core.now().toISOString(), predictions, clientId);
    }
  }

  return {
    claims: (path) => path === '/v2' || path.startsWith('/v2/models/'),
    async handle(exchange) {
      const { path, method, context } = exchange;
      if (path === '/v2') {
        context.route = '/v2';
        if (method !== 'GET') return core.notAllowed(exchange, 'GET');
        return core.reply(exchange, 200, { name: 'mlops', version: core.plan.serverVersion, extensions: [] });
      }
      const match = MODEL_PATH.exec(path);
      if (!match) {
        context.route = 'unknown';
        return core.reply(exchange, 404, { error: `no route ${method} ${path.slice(0, 200)}; see /v2/models/NAME[/versions/V][/ready|/infer]` });
      }
      const name = decodePathPart(match[1]!, 'model name');
      const version = match[2] === undefined ? undefined : decodePathPart(match[2], 'version');
      const action = match[3];
      if (action === '/infer') {
        context.route = '/v2/models/:name/infer';
        if (method !== 'POST') return core.notAllowed(exchange, 'POST');
        return infer(exchange, name, version);
      }
      context.route = action === '/ready' ? '/v2/models/:name/ready' : '/v2/models/:name';
      if (method !== 'GET') return core.notAllowed(exchange, 'GET');
      const served = core.models.servedModel(name);
      const model = core.models.pick(served, version, undefined).model;
      if (action === '/ready') return core.reply(exchange, core.isReady ? 200 : 503, { name: served.name, ready: core.isReady });
      const metadata = (spec: { name: string; type: string; shape: Array<number | string> }) => ({
        name: spec.name,
        datatype: V2_DATATYPE[spec.type] ?? spec.type,
        shape: spec.shape.map((d) => (typeof d === 'number' ? d : -1)),
      });
      core.reply(exchange, 200, {
        name: served.name,
        versions: core.models.versionsOf(served),
        platform: 'onnxruntime_onnx',
        inputs: model.signature.inputs.map(metadata),
        outputs: model.signature.outputs.filter((o) => o.type !== 'non-tensor').map(metadata),
      });
    },
  };
}

/** Rows [offset, offset + rows) of a batch-first tensor (a coalesced run holds other requests too). */
function sliceRows(tensor: TensorLike, offset: number, rows: number | undefined): TensorLike {
  if (rows === undefined) return tensor;
  const batch = tensor.dims[0] ?? 0;
  if (offset === 0 && rows === batch) return tensor;
  const perRow = batch > 0 ? (tensor.data as ArrayLike<unknown>).length / batch : 0;
  const data = tensor.data as { subarray?: (a: number, b: number) => unknown; slice: (a: number, b: number) => unknown };
  const sliced = data.subarray ? data.subarray(offset * perRow, (offset + rows) * perRow) : data.slice(offset * perRow, (offset + rows) * perRow);
  return { type: tensor.type, dims: [rows, ...tensor.dims.slice(1)], data: sliced };
}
