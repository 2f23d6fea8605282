// A GrpcBackend over real onnxruntime sessions (LoadedModel, as serve loads them): the
// fraud example's v1 and v2, and hand-encoded identity models for FP16 and BYTES. Lets
// the gRPC server be tested before it is wired into `mlops serve`.
import { randomUUID } from 'node:crypto';
import type { VersionRecord } from '../../src/registry/types.js';
import type { GrpcBackend, InferAnswer, InferCall, ModelInfo, TensorMetadata } from '../../src/serve/grpc/server.js';
import { HttpError } from '../../src/serve/http.js';
import { LoadedModel, type ModelSource } from '../../src/serve/model.js';
import { V2_DATATYPE } from '../../src/serve/tensors.js';
import { modelInputs } from '../../src/serve/v2-tensors.js';
import type { Tensor } from 'onnxruntime-node';

export interface TestBackend extends GrpcBackend {
  ready: boolean;
  calls: InferCall[];
  close(): Promise<void>;
}

/** models: name -> [[version, path to .onnx], ...]; the first version is the default. */
export async function loadBackend(models: Record<string, Array<[string, string]>>): Promise<TestBackend> {
  const loaded = new Map<string, LoadedModel[]>();
  for (const [name, versions] of Object.entries(models)) {
    const list: LoadedModel[] = [];
    for (const [version, path] of versions) {
      const source: ModelSource = { listModels: async () => [name], resolve: async () => ({}) as VersionRecord, artifactFile: async () => path };
      list.push(await LoadedModel.load(source, { name, version } as VersionRecord, { batchWindowMs: -1, batchMaxRows: 1024 }));
    }
    loaded.set(name, list);
  }
  const metadata = (spec: { name: string; type: string; shape: Array<number | string> }): TensorMetadata => ({
    name: spec.name,
    datatype: V2_DATATYPE[spec.type] ?? spec.type,
    shape: spec.shape.map((d) => (typeof d === 'number' ? d : -1)),
  });
  const backend: TestBackend = {
    ready: true,
    calls: [],
    isReady: () => backend.ready,
    models: (): ModelInfo[] =>
      [...loaded.entries()].map(([name, versions]) => ({
        name,
        ready: true,
        versions: versions.map((m) => ({ version: m.version, inputs: m.signature.inputs.map(metadata), outputs: m.signature.outputs.filter((o) => o.type !== 'non-tensor').map(metadata) })),
      })),
    async infer(call): Promise<InferAnswer> {
      backend.calls.push(call);
      const versions = loaded.get(call.model);
      const model = call.version === undefined ? versions?.[0] : versions?.find((m) => m.version === call.version);
      if (!model) throw new HttpError(404, `model ${call.model} ${call.version ?? ''} is not served here`, 'not_found');
      for (const name of call.outputs) if (!model.plan.fetch.includes(name)) throw new HttpError(400, `${model.name} has no output named ${name}`, 'validation');
      const inputs = modelInputs(model, call.inputs);
      const feeds: Record<string, Tensor> = {};
      for (const input of inputs.values()) feeds[input.spec.name] = model.tensor(input.spec.type, input.data, input.shape);
      const result = await model.runFeeds(feeds);
      const names = call.outputs.length ? call.outputs : model.plan.fetch;
      return { model: model.name, version: model.version, id: call.clientId ?? randomUUID(), parameters: { variant: 'default' }, outputs: names.map((name) => ({ name, tensor: result.outputs[name]! })) };
    },
    async close() {
      for (const versions of loaded.values()) for (const model of versions) await model.retire();
    },
  };
  return backend;
}
