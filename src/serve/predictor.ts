// What every protocol does with a tabular request once it is parsed: run it (coalesced
// by the model's batcher), count out-of-distribution features, then, after the answer
// is on its way, log it, remember it for feedback and copy it to the shadows.
import { messageOf } from '../errors.js';
import type { LogSink, PredictionRow } from '../prediction-log/index.js';
import type { OnServeEvent } from './events.js';
import type { FeedbackMemory } from './feedback.js';
import { HttpError } from './http.js';
import type { Rows } from './inputs.js';
import type { ServeMetrics } from './metrics.js';
import { answerRows, outputsRow, type BatchResult, type LoadedModel } from './model.js';
import type { Route, Served } from './models.js';
import type { ServePlan } from './options.js';
import { shadowSampled } from './routing.js';
import { createTypedArray, fillTyped } from './tensors.js';

const MAX_PENDING_SHADOW_ROWS = 10_000;
const SHADOW_EVENT_INTERVAL_MS = 60_000;

export interface PredictorDeps {
  plan: ServePlan;
  metrics: ServeMetrics;
  feedback: FeedbackMemory;
  log?: LogSink;
  onEvent: OnServeEvent;
  now: () => Date;
  random: () => number;
}

export class Predictor {
  private pendingShadowRows = 0;
  private readonly shadowEventAt = new Map<string, number>();

  constructor(private readonly deps: PredictorDeps) {}

  async infer(route: Route, rows: Rows): Promise<BatchResult> {
    this.countOutOfDistribution(route, rows);
    let result: BatchResult;
    try {
      result = await route.model.predictRows(rows.data, rows.rows);
    } catch (error) {
      throw new HttpError(500, `inference failed in ${route.model.name} ${route.model.version}: ${messageOf(error).split('\n')[0]}`, 'inference');
    }
    route.metrics.predictions.inc(rows.rows);
    if (result.offset === 0) route.metrics.latency.observe(result.seconds);
    return result;
  }

  private countOutOfDistribution(route: Route, rows: Rows): void {
    const { oodMin, oodMax, featureNames } = route.model;
    if (!oodMin || !oodMax) return;
    const flat = rows.flat;
    if (flat) {
      const width = oodMin.length;
      for (let i = 0; i < flat.length; i++) {
        const value = flat[i]!;
        const f = i % width;
        if (value < oodMin[f]! || value > oodMax[f]!) route.metrics.ood(featureNames[f]!);
      }
      return;
    }
    for (const row of rows.raw) {
      for (let i = 0; i < oodMin.length; i++) {
        const value = row[i]!;
        if (value < oodMin[i]! || value > oodMax[i]!) route.metrics.ood(featureNames[i]!);
      }
    }
  }

  /** Log, remember for feedback, and copy to shadows: all after the answer is on its way. */
  afterPrediction(served: Served, route: Route, rows: Rows, result: BatchResult, requestId: string, time: string, predictions: unknown[], clientRequestId?: string): void {
    const log = this.deps.log;
    const sampled = log !== undefined && this.deps.plan.log !== undefined && (this.deps.plan.log.sample >= 1 || this.deps.random() < this.deps.plan.log.sample);
    if (sampled) {
      const base = { request_id: requestId, ...(clientRequestId ? { client_request_id: clientRequestId } : {}), time, model: route.model.name, version: route.model.version, variant: route.variant, ...(route.experiment ? { experiment: route.experiment } : {}) };
      log.write(logLines(base, rows, result, false, predictions));
    }
    this.deps.feedback.remember(requestId, { model: route.model.name, version: route.model.version, variant: route.variant, ...(route.experiment ? { experiment: route.experiment } : {}), predictions, metrics: route.metrics, answered: false });
    const shadows = served.liveShadow && shadowSampled(requestId, served.liveShadow.fraction) ? [...served.shadows, served.liveShadow.model] : served.shadows;
    if (shadows.length) setImmediate(() => this.runShadows(shadows, route, rows, result, requestId, sampled));
  }

  private runShadows(shadows: readonly LoadedModel[], route: Route, rows: Rows, primary: BatchResult, requestId: string, sampled: boolean): void {
    const answer = answerRows(route.model.plan, primary.outputs, primary.offset, rows.rows);
    for (const shadow of shadows) {
      if (this.pendingShadowRows + rows.rows > MAX_PENDING_SHADOW_ROWS) {
        this.shadowFailed(shadow, 'dropped: the shadow is more than 10,000 rows behind');
        continue;
      }
      let data = rows.data;
      const width = shadow.width;
      if (width === undefined || width !== rows.raw[0]?.length) {
        this.shadowFailed(shadow, `it expects ${width ?? 'non-tabular'} features per row, the request had ${rows.raw[0]?.length}`);
        continue;
      }
      if (shadow.input.type !== rows.type) {
        data = createTypedArray(shadow.input.type, rows.rows * width);
        const problem = rows.raw.map((row, r) => fillTyped(shadow.input.type, data, r * width, row, (i) => `[${r}][${i}]`)).find(Boolean);
        if (problem) {
          this.shadowFailed(shadow, problem);
          continue;
        }
      }
      this.pendingShadowRows += rows.rows;
      shadow
        .predictRows(data, rows.rows)
        .then((result) => {
          this.deps.metrics.shadowPrediction(shadow.name, shadow.version, rows.rows);
          const shadowAnswer = answerRows(shadow.plan, result.outputs, result.offset, rows.rows);
          const compared = compareAnswers(answer, shadowAnswer);
          this.deps.metrics.shadowCompare(shadow.name, shadow.version, rows.rows, compared.agreed, compared.scoreDiff, result.seconds);
          if (!sampled || !this.deps.log) return;
          const time = this.deps.now().toISOString();
          this.deps.log.write(logLines({ request_id: requestId, time, model: shadow.name, version: shadow.version, variant: 'shadow', ...(route.experiment ? { experiment: route.experiment } : {}) }, rows, result, true, shadowAnswer.predictions));
        })
        .catch((error: unknown) => this.shadowFailed(shadow, messageOf(error).split('\n')[0]!))
        .finally(() => {
          this.pendingShadowRows -= rows.rows;
        });
    }
  }

  private shadowFailed(shadow: LoadedModel, reason: string): void {
    this.deps.metrics.shadowError(shadow.name, shadow.version);
    const key = `${shadow.name}@${shadow.version}`;
    const last = this.shadowEventAt.get(key);
    const now = Date.now();
    if (last === undefined || now - last > SHADOW_EVENT_INTERVAL_MS) {
      this.shadowEventAt.set(key, now);
      this.deps.onEvent({ type: 'shadow_error', level: 'warn', message: `shadow ${key} failed (clients are not affected): ${reason}`, model: shadow.name, version: shadow.version });
    }
  }
}

const scoreOf = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);

/** Rows where the predicted class is the same, and the summed |score difference| (probability, else numeric prediction). */
export function compareAnswers(primary: { predictions: unknown[]; probabilities?: unknown[] }, shadow: { predictions: unknown[]; probabilities?: unknown[] }): { agreed: number; scoreDiff: number } {
  let agreed = 0;
  let scoreDiff = 0;
  for (let i = 0; i < primary.predictions.length; i++) {
    if (JSON.stringify(primary.predictions[i]) === JSON.stringify(shadow.predictions[i])) agreed++;
    const a = primary.probabilities?.[i];
    const b = shadow.probabilities?.[i];
    if (Array.isArray(a) && Array.isArray(b)) {
      let sum = 0;
      for (let k = 0; k < a.length; k++) sum += Math.abs(Number(a[k]) - Number(b[k] ?? 0));
      scoreDiff += a.length ? sum / a.length : 0;
      continue;
    }
    const x = scoreOf(a) ?? scoreOf(primary.predictions[i]);
    const y = scoreOf(b) ?? scoreOf(shadow.predictions[i]);
    if (x !== undefined && y !== undefined) scoreDiff += Math.abs(x - y);
  }
  return { agreed, scoreDiff };
}

/** The prediction-log lines of one inference: one JSON line per row (shadow rows marked). */
function logLines(
  base: Pick<PredictionRow, 'request_id' | 'client_request_id' | 'time' | 'model' | 'version' | 'variant' | 'experiment'>,
  rows: Rows,
  result: BatchResult,
  shadow = false,
  predictions?: unknown[],
): string {
  const latency = Math.round(result.seconds * 1e6) / 1000;
  let lines = '';
  for (let i = 0; i < rows.rows; i++) {
    const entry: PredictionRow = {
      ...base,
      ...(rows.rows > 1 ? { row: i } : {}),
      features: rows.raw[i] as number[],
      outputs: outputsRow(result.outputs, result.offset + i),
      ...(predictions ? { prediction: predictions[i] } : {}),
      latency_ms: latency,
      ...(shadow ? { shadow: true as const } : {}),
    };
    lines += `${JSON.stringify(entry)}\n`;
  }
  return lines;
}
