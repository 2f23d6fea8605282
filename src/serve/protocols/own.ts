// mlops's own JSON API: POST /predict (one row as "features", or "rows") and POST /feedback.
import { predictRow, predictRows } from '../predict-answer.js';
import { rowsFromBody } from '../inputs.js';
import type { Exchange, ProtocolModule, ServeCore } from './protocol.js';

export function ownProtocol(core: ServeCore): ProtocolModule {
  async function predict(exchange: Exchange): Promise<void> {
    const { request, context } = exchange;
    const body = await core.readJsonObject(request);
    core.requireReady();
    const served = core.models.servedModel(body.model);
    const route = core.models.pick(served, body.version, core.userId(request, body, served.experiment?.sticky));
    context.model = route.metrics;
    const rows = rowsFromBody(body, route.model);
    const requestId = core.requestId(request);
    const clientRequestId = core.clientRequestId(request);
    const result = await core.predictor.infer(route, rows);
    const time = core.now().toISOString();
    const plan = route.model.plan;
    const about = { model: route.model.name, version: route.model.version, variant: route.variant, ...(route.experiment ? { experiment: route.experiment } : {}), request_id: requestId, ...(clientRequestId ? { client_request_id: clientRequestId } : {}), timestamp: time };
    let answer: Record<string, unknown>;
    let predictions: unknown[];
    if (body.features !== undefined) {
      // The design document's shape: probability is the row's class probabilities.
      const row = predictRow(plan, result.outputs, result.offset);
      predictions = [row.prediction];
      answer = { ...row, ...about };
    } else {
      const rowsAnswer = predictRows(plan, result.outputs, result.offset, rows.rows);
      predictions = rowsAnswer.predictions;
      answer = { predictions, ...(rowsAnswer.probability ? { probability: rowsAnswer.probability } : {}), ...about };
    }
    core.reply(exchange, 200, answer);
    core.predictor.afterPrediction(served, route, rows, result, requestId, time, predictions, clientRequestId);
  }

  async function feedback(exchange: Exchange): Promise<void> {
    core.authorize(exchange);
    const body = await core.readJsonObject(exchange.request);
    let answer = core.feedback.apply(body);
    if (answer.status === 404 && core.remoteFeedback) answer = await core.remoteFeedback(body);
    // Served by another replica (or forgotten here): record it unjoined; `ab report` and the
    // accuracy evaluation join it to the prediction row in that replica's log.
    if (answer.status === 404) answer = core.feedback.recordUnjoined(body);
    core.reply(exchange, answer.status, answer.body);
  }

  return {
    claims: (path) => path === '/predict' || path === '/feedback',
    async handle(exchange) {
      exchange.context.route = exchange.path;
      if (exchange.method !== 'POST') return core.notAllowed(exchange, 'POST');
      return exchange.path === '/predict' ? predict(exchange) : feedback(exchange);
    },
  };
}
