// The Open Inference Protocol V2 over HTTP (KServe V2, Triton): GET /v2, model metadata
// and readiness, POST /v2/models/NAME[/versions/V]/infer with typed tensors in JSON or in
// the binary tensor data extension (what tritonclient.http sends by default), and the
// Triton extensions its client calls (model config, repository index, statistics).
import { HttpError, readBody } from '../http.js';
import { V2_DATATYPE } from '../tensors.js';
import { matchTritonRoute, modelConfig, modelStatistics, repositoryIndex, unsupportedExtension, V2_EXTENSIONS } from '../triton-extensions.js';
import { HEADER_LENGTH, checkInferContentType, decodeInferInputs, encodeInferAnswer, splitInferBody } from '../v2-binary.js';
import { requestedOutputs } from '../v2-tensors.js';
import type { Exchange, ProtocolModule, ServeCore } from './protocol.js';
import { decodePathPart } from './paths.js';
import { runV2 } from './v2-infer.js';

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

const MODEL_PATH = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/ready|\/infer)?$/;

const tensorMetadata = (spec: { name: string; type: string; shape: Array<number | string> }) => ({
  name: spec.name,
  datatype: V2_DATATYPE[spec.type] ?? spec.type,
  shape: spec.shape.map((d) => (typeof d === 'number' ? d : -1)),
});

export function oipV2Protocol(core: ServeCore): ProtocolModule {
  async function infer(exchange: Exchange, name: string, version: string | undefined): Promise<void> {
    const { request, response, context } = exchange;
    // An unknown model or version is a 404 whatever the body holds.
    core.requireReady();
    const served = core.models.servedModel(name);
    if (version !== undefined) core.models.pick(served, version, undefined);
    checkInferContentType(request.headers['content-type'], request.headers['content-encoding']);
    const { header, binary } = splitInferBody(await readBody(request, core.plan.maxBodyBytes), request.headers[HEADER_LENGTH]);
    if (header.id !== undefined && typeof header.id !== 'string') throw new HttpError(400, '"id" must be a string', 'validation');
    if (header.parameters !== undefined && !isObject(header.parameters)) throw new HttpError(400, '"parameters" must be an object', 'validation');
    const inputs = decodeInferInputs(header, binary);
    // "id" is the client's (echoed, as the protocol asks); the feedback key is the server's.
    const requestId = core.requestId(request);
    const clientId = typeof header.id === 'string' && header.id !== '' ? header.id.slice(0, 128) : core.clientRequestId(request);
    let wanted: ReturnType<typeof requestedOutputs> = [];
    const run = await runV2(core, { name, version, inputs, userId: core.userId(request, header, served.experiment?.sticky), clientId, requestId }, (route) => {
      context.model = route.metrics;
      wanted = requestedOutputs(header.outputs, header.parameters as Record<string, unknown> | undefined, route.model.plan.fetch, route.model.name);
    });
    const answer = encodeInferAnswer(
      {
        model_name: run.model.name,
        model_version: run.model.version,
        id: clientId ?? requestId,
        parameters: { request_id: requestId, variant: run.route.variant, ...(run.route.experiment ? { experiment: run.route.experiment } : {}) },
      },
      wanted.map(({ name: output, binary: asBinary }) => ({ name: output, tensor: run.output(output), binary: asBinary })),
    );
    context.status = 200;
    if (core.isDraining && !response.headersSent) response.setHeader('connection', 'close');
    if (!response.headersSent && !response.destroyed) {
      response.writeHead(200, {
        'content-type': answer.contentType,
        'content-length': answer.body.length,
        ...(answer.headerLength !== undefined ? { 'inference-header-content-length': String(answer.headerLength) } : {}),
      });
      response.end(answer.body);
    }
    run.after();
  }

  /** Triton's extensions: cheap answers from what serve knows, or a 404 naming the extension. */
  async function triton(exchange: Exchange, route: NonNullable<ReturnType<typeof matchTritonRoute>>): Promise<void> {
    const { method, context } = exchange;
    context.route = route.route;
    if (route.kind === 'unsupported') return core.reply(exchange, 404, unsupportedExtension(route.extension));
    if (method !== route.method) return core.notAllowed(exchange, route.method);
    const served = () => core.models.names().map((name) => ({ name, versions: core.models.versionsOf(core.models.servedModel(name)) }));
    if (route.kind === 'index') {
      const body = await readBody(exchange.request, core.plan.maxBodyBytes);
      let readyOnly = false;
      if (body.length > 0) {
        try {
          readyOnly = (JSON.parse(body.toString('utf8')) as { ready?: unknown })?.ready === true;
        } catch {
          throw new HttpError(400, 'the repository index request must be empty or a JSON object such as {"ready": true}', 'malformed_json');
        }
      }
      return core.reply(exchange, 200, repositoryIndex(served(), core.isReady, readyOnly));
    }
    if (route.kind === 'stats') {
      if (route.model !== undefined) core.models.pick(core.models.servedModel(route.model), route.version, undefined);
      const series = await core.metrics.json();
      return core.reply(exchange, 200, modelStatistics(series, served(), { ...(route.model !== undefined ? { model: route.model } : {}), ...(route.version !== undefined ? { version: route.version } : {}) }));
    }
    const servedModel = core.models.servedModel(route.model);
    const model = core.models.pick(servedModel, route.version, undefined).model;
    core.reply(exchange, 200, modelConfig({ name: servedModel.name, versions: core.models.versionsOf(servedModel), inputs: model.signature.inputs.map(tensorMetadata), outputs: model.signature.outputs.filter((o) => o.type !== 'non-tensor').map(tensorMetadata) }));
  }

  return {
    claims: (path) => path === '/v2' || path.startsWith('/v2/'),
    async handle(exchange) {
      const { path, method, context } = exchange;
      if (path === '/v2') {
        context.route = '/v2';
        if (method !== 'GET') return core.notAllowed(exchange, 'GET');
        return core.reply(exchange, 200, { name: 'mlops', version: core.plan.serverVersion, extensions: [...V2_EXTENSIONS] });
      }
      const extension = matchTritonRoute(path);
      if (extension) return triton(exchange, extension);
      const match = MODEL_PATH.exec(path);
      if (!match) {
        context.route = 'unknown';
        return core.reply(exchange, 404, { error: `no route ${method} ${path.slice(0, 200)}; see /v2/models/NAME[/versions/V][/ready|/infer|/config|/stats]` });
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
      core.reply(exchange, 200, {
        name: served.name,
        versions: core.models.versionsOf(served),
        platform: 'onnxruntime_onnx',
        inputs: model.signature.inputs.map(tensorMetadata),
        outputs: model.signature.outputs.filter((o) => o.type !== 'non-tensor').map(tensorMetadata),
      });
    },
  };
}
