// The HTTP routes Triton's and KServe's clients call besides inference: KServe V1's
// `GET /` liveness, Triton's model configuration, repository index and statistics
// extensions (cheap answers from what serve already knows), and a 404 naming the
// extension for the ones serve does not implement. Pure: route matching and answer bodies.
import type { MetricObjectWithValues, MetricValue } from 'prom-client';

/** KServe V1 `GET /` (the SDK's is_server_live). */
export const V1_LIVE = { status: 'alive' } as const;

/** Extensions named in `GET /v2` (server metadata). */
export const V2_EXTENSIONS = ['binary_tensor_data', 'model_configuration', 'statistics'] as const;

export type TritonRoute =
  | { kind: 'config'; model: string; version?: string; method: 'GET' }
  | { kind: 'stats'; model?: string; version?: string; method: 'GET' }
  | { kind: 'index'; method: 'POST' }
  | { kind: 'unsupported'; extension: string; route: string };

const decode = (segment: string) => {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
};

/**
 * Which Triton extension route `path` is, if any (`route` is the metrics label). Inference,
 * metadata and readiness under /v2/models are not matched here: they stay with the V2 route.
 */
export function matchTritonRoute(path: string): (TritonRoute & { route: string }) | undefined {
  if (path === '/v2/repository/index') return { kind: 'index', method: 'POST', route: '/v2/repository/index' };
  if (path === '/v2/models/stats') return { kind: 'stats', method: 'GET', route: '/v2/models/stats' };
  let match = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?\/(config|stats)$/.exec(path);
  if (match) {
    const model = decode(match[1]!);
    const version = match[2] === undefined ? undefined : decode(match[2]);
    const kind = match[3] as 'config' | 'stats';
    return { kind, model, ...(version !== undefined ? { version } : {}), method: 'GET', route: `/v2/models/:name/${kind}` };
  }
  if (/^\/v2\/repository\/models\/[^/]+\/(load|unload)$/.test(path)) {
    return { kind: 'unsupported', extension: 'model repository load/unload (mlops serve follows the registry: use mlops promote, or restart with other models)', route: '/v2/repository/models/:name/:action' };
  }
  match = /^\/v2\/(?:models\/[^/]+\/)?trace\/setting$/.exec(path);
  if (match) return { kind: 'unsupported', extension: 'trace', route: '/v2/trace/setting' };
  if (path === '/v2/logging') return { kind: 'unsupported', extension: 'logging', route: '/v2/logging' };
  if (/^\/v2\/(system|cuda)sharedmemory(\/|$)/.test(path)) return { kind: 'unsupported', extension: 'shared memory (send tensors in the body, binary or JSON)', route: '/v2/sharedmemory' };
  if (/^\/v2\/models\/[^/]+(?:\/versions\/[^/]+)?\/generate(_stream)?$/.test(path)) return { kind: 'unsupported', extension: 'generate', route: '/v2/models/:name/generate' };
  return undefined;
}

/** The 404 body for an extension serve does not implement. */
export function unsupportedExtension(extension: string): { error: string } {
  return { error: `the ${extension} extension is not supported by mlops serve; supported: ${V2_EXTENSIONS.join(', ')}` };
}

export interface ConfigTensor {
  name: string;
  /** V2 datatype (FP32, INT64, BYTES, ...). */
  datatype: string;
  /** -1 for a variable dimension. */
  shape: number[];
}

/**
 * Triton's model configuration (the JSON form of model_config.proto's ModelConfig) for a
 * loaded ONNX version: max_batch_size 0, so `dims` are the full shapes.
 */
export function modelConfig(model: { name: string; versions: string[]; inputs: ConfigTensor[]; outputs: ConfigTensor[] }): Record<string, unknown> {
  const tensor = (t: ConfigTensor) => ({ name: t.name, data_type: `TYPE_${t.datatype === 'BYTES' ? 'STRING' : t.datatype}`, dims: t.shape });
  const numeric = model.versions.map(Number);
  return {
    name: model.name,
    platform: 'onnxruntime_onnx',
    backend: 'onnxruntime',
    // Triton's version policy takes numbers; registry versions such as v1.0.0 are not.
    ...(numeric.every(Number.isInteger) ? { version_policy: { specific: { versions: numeric } } } : {}),
    max_batch_size: 0,
    input: model.inputs.map(tensor),
    output: model.outputs.map(tensor),
    parameters: { mlops_versions: { string_value: model.versions.join(',') } },
  };
}

/** Triton's repository index: every served version, READY once loaded. */
export function repositoryIndex(models: ReadonlyArray<{ name: string; versions: string[] }>, ready: boolean, readyOnly = false): Array<Record<string, string>> {
  if (readyOnly && !ready) return [];
  return models.flatMap((model) => model.versions.map((version) => ({ name: model.name, version, state: ready ? 'READY' : 'LOADING', reason: '' })));
}

type Metric = MetricObjectWithValues<MetricValue<string>>;

/**
 * Triton's statistics from serve's Prometheus series (a worker's, or the cluster's sum):
 * inference_count = rows predicted (mlops_predictions_total), execution_count and
 * compute_infer = inference runs and their total time (mlops_prediction_latency_seconds).
 * What serve does not measure (queue, compute_input/output, last_inference) is 0.
 */
export function modelStatistics(metrics: readonly Metric[], served: ReadonlyArray<{ name: string; versions: string[] }>, filter: { model?: string; version?: string } = {}): { model_stats: Array<Record<string, unknown>> } {
  const byKey = new Map<string, { rows: number; runs: number; seconds: number }>();
  const entry = (model: string, version: string) => {
    const key = `${model}\u0000${version}`;
    let found = byKey.get(key);
    if (!found) byKey.set(key, (found = { rows: 0, runs: 0, seconds: 0 }));
    return found;
  };
  for (const metric of metrics) {
    for (const value of metric.values) {
      const model = String(value.labels.model ?? '');
      const version = String(value.labels.version ?? '');
      if (metric.name === 'mlops_predictions_total') entry(model, version).rows += value.value;
      else if (metric.name === 'mlops_prediction_latency_seconds' && (value as { metricName?: string }).metricName === 'mlops_prediction_latency_seconds_count') entry(model, version).runs += value.value;
      else if (metric.name === 'mlops_prediction_latency_seconds' && (value as { metricName?: string }).metricName === 'mlops_prediction_latency_seconds_sum') entry(model, version).seconds += value.value;
    }
  }
  const zero = { count: 0, ns: 0 };
  const model_stats = served
    .filter((model) => filter.model === undefined || model.name === filter.model)
    .flatMap((model) => model.versions.filter((version) => filter.version === undefined || version === filter.version).map((version) => ({ name: model.name, version })))
    .map(({ name, version }) => {
      const { rows, runs, seconds } = byKey.get(`${name}\u0000${version}`) ?? { rows: 0, runs: 0, seconds: 0 };
      const ns = Math.round(seconds * 1e9);
      return {
        name,
        version,
        last_inference: 0,
        inference_count: rows,
        execution_count: runs,
        inference_stats: { success: { count: runs, ns }, fail: zero, queue: zero, compute_input: zero, compute_infer: { count: runs, ns }, compute_output: zero, cache_hit: zero },
        batch_stats: [],
      };
    });
  return { model_stats };
}
