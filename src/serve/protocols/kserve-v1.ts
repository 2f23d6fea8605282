// KServe V1 (the TensorFlow Serving REST shape): GET / (liveness), GET /v1/models, GET /v1/models/NAME,
// POST /v1/models/NAME:predict with {"instances": [...]}.
import { answerRows } from '../model.js';
import { rowsFromInstances } from '../inputs.js';
import { V1_LIVE } from '../triton-extensions.js';
import type { Exchange, ProtocolModule, ServeCore } from './protocol.js';
import { decodePathPart } from './paths.js';

export function kserveV1Protocol(core: ServeCore): ProtocolModule {
  async function predict(exchange: Exchange, name: string): Promise<void> {
    const { request, context } = exchange;
    const body = await core.readJsonObject(request);
    core.requireReady();
    const served = core.models.servedModel(name);
    const route = core.models.pick(served, undefined, core.userId(request, body, served.experiment?.sticky));
    context.model = route.metrics;
    const rows = rowsFromInstances(body.instances, route.model, '"instances"');
    const requestId = core.requestId(request);
    const result = await core.predictor.infer(route, rows);
    const { predictions } = answerRows(route.model.plan, result.outputs, result.offset, rows.rows);
    core.reply(exchange, 200, { predictions }, { 'x-request-id': requestId, 'x-model-version': route.model.version, 'x-variant': route.variant });
    core.predictor.afterPrediction(served, route, rows, result, requestId, core.now().toISOString(), predictions, core.clientRequestId(request));
  }

  return {
    claims: (path) => path === '/' || path === '/v1/models' || path.startsWith('/v1/models/'),
    async handle(exchange) {
      const { path, method, context } = exchange;
      if (path === '/') {
        // The KServe SDK's is_server_live (V1).
        context.route = '/';
        if (method !== 'GET' && method !== 'HEAD') return core.notAllowed(exchange, 'GET');
        return core.reply(exchange, 200, V1_LIVE);
      }
      if (path === '/v1/models') {
        context.route = '/v1/models';
        if (method !== 'GET') return core.notAllowed(exchange, 'GET');
        return core.reply(exchange, 200, { models: core.models.names() });
      }
      const raw = path.slice('/v1/models/'.length);
      if (raw.endsWith(':predict')) {
        context.route = '/v1/models/:name:predict';
        if (method !== 'POST') return core.notAllowed(exchange, 'POST');
        return predict(exchange, decodePathPart(raw.slice(0, -':predict'.length), 'model name'));
      }
      context.route = '/v1/models/:name';
      if (method !== 'GET') return core.notAllowed(exchange, 'GET');
      const served = core.models.servedModel(decodePathPart(raw, 'model name'));
      core.reply(exchange, 200, { name: served.name, ready: core.isReady, versions: core.models.versionsOf(served) });
    },
  };
}
