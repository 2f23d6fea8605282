// `mlops serve`'s GrpcBackend: the gRPC service answered by the same ServeCore as HTTP,
// so routing (A/B, named versions), batching, metrics, the prediction log, feedback and
// shadows are the same whichever protocol a client speaks.
import { randomUUID } from 'node:crypto';
import { HttpError } from '../http.js';
import type { VariantMetrics } from '../metrics.js';
import type { ServeCore } from '../protocols/protocol.js';
import { runV2 } from '../protocols/v2-infer.js';
import { V2_DATATYPE } from '../tensors.js';
import type { GrpcBackend, ModelInfo, TensorMetadata } from './server.js';

const metadata = (spec: { name: string; type: string; shape: Array<number | string> }): TensorMetadata => ({
  name: spec.name,
  datatype: V2_DATATYPE[spec.type] ?? spec.type,
  shape: spec.shape.map((d) => (typeof d === 'number' ? d : -1)),
});

export function serveGrpcBackend(core: ServeCore): GrpcBackend {
  return {
    isReady: () => core.isReady,
    models(): ModelInfo[] {
      if (!core.isReady) return [];
      return core.models.names().map((name) => {
        const served = core.models.servedModel(name);
        return {
          name,
          ready: core.isReady,
          versions: core.models.versionsOf(served).map((version) => {
            const model = core.models.pick(served, version, undefined).model;
            return { version, inputs: model.signature.inputs.map(metadata), outputs: model.signature.outputs.filter((o) => o.type !== 'non-tensor').map(metadata) };
          }),
        };
      });
    },
    async infer(call) {
      let variantMetrics: VariantMetrics | undefined;
      try {
        const requestId = randomUUID();
        const run = await runV2(core, { name: call.model, version: call.version, inputs: call.inputs, userId: call.userId, clientId: call.clientId, requestId }, (route) => {
          variantMetrics = route.metrics;
          for (const name of call.outputs) {
            if (!route.model.plan.fetch.includes(name)) throw new HttpError(400, `${route.model.name} has no output named ${JSON.stringify(name.slice(0, 100))}; its outputs: ${route.model.plan.fetch.join(', ')}`, 'validation');
          }
        });
        const names = call.outputs.length ? call.outputs : run.model.plan.fetch;
        const answer = {
          model: run.model.name,
          version: run.model.version,
          id: call.clientId ?? requestId,
          parameters: { request_id: requestId, variant: run.route.variant, ...(run.route.experiment ? { experiment: run.route.experiment } : {}) },
          outputs: names.map((name) => ({ name, tensor: run.output(name) })),
        };
        run.after();
        return answer;
      } catch (error) {
        if (error instanceof HttpError && error.status !== 503) {
          if (variantMetrics) variantMetrics.error(error.type);
          else core.metrics.requestError(error.type);
        }
        throw error;
      }
    },
  };
}
