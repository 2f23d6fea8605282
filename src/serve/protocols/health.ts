// Liveness, readiness and Prometheus metrics: /healthz, /readyz, /v2/health/live,
// /v2/health/ready, /metrics.
import { sendText } from '../http.js';
import type { ProtocolModule, ServeCore } from './protocol.js';

const PATHS = new Set(['/healthz', '/v2/health/live', '/readyz', '/v2/health/ready', '/metrics']);

export function healthProtocol(core: ServeCore): ProtocolModule {
  return {
    claims: (path) => PATHS.has(path),
    async handle(exchange) {
      const { path, method, context, response } = exchange;
      context.route = path;
      if (path === '/metrics') {
        if (method !== 'GET') return core.notAllowed(exchange, 'GET');
        const text = core.clusterMetrics ? await core.clusterMetrics() : await core.metrics.text();
        context.status = 200;
        if (core.isDraining && !response.headersSent) response.setHeader('connection', 'close');
        sendText(response, 200, text, core.metrics.contentType);
        return;
      }
      if (method !== 'GET' && method !== 'HEAD') return core.notAllowed(exchange, 'GET');
      if (path === '/healthz' || path === '/v2/health/live') return core.reply(exchange, 200, path === '/healthz' ? { status: 'ok' } : { live: true });
      if (core.isReady) return core.reply(exchange, 200, { ready: true, models: core.models.describe() });
      return core.reply(exchange, 503, { ready: false, error: core.isDraining ? 'draining: the server is shutting down' : 'not ready: models are loading' });
    },
  };
}
