// POST /feedback: the predictions of recent requests kept in memory (bounded by rows), and
// the join of a label or outcome to one of them, written as a feedback row to the log.
import type { FeedbackRow, LogSink } from '../prediction-log/index.js';
import type { VariantMetrics } from './metrics.js';
import { RecentRing } from './recent-ring.js';

type RouteOf = Omit<Recent, 'predictions' | 'answered'>;

/** A remembered prediction, waiting for its label or outcome. */
export interface Recent {
  model: string;
  version: string;
  variant: string;
  experiment?: string;
  predictions: unknown[];
  metrics: VariantMetrics;
  answered: boolean;
}

/** Answer of a feedback lookup, shared with the cluster primary (plain JSON). */
export interface FeedbackAnswer {
  status: number;
  body: Record<string, unknown>;
}

export interface FeedbackDeps {
  /** Predicted rows kept for feedback. */
  capacity: number;
  log?: LogSink;
  now: () => Date;
}

export class FeedbackMemory {
  /**
   * The remembered predictions, in typed arrays (src/serve/recent-ring.ts): bounded by
   * rows, oldest out first. A Map of per-request objects here made every scavenge copy
   * and scan 100,000 entries (test/bench/feedback-gc.bench.mjs: GC 2.8-3.4 s vs
   * 270-336 ms per 400,000 requests, pauses up to 218-387 ms vs 18-39 ms).
   */
  private readonly recent: RecentRing<RouteOf>;
  /** One descriptor per (model, version, variant): what a remembered request points at. */
  private readonly routes = new Map<VariantMetrics, RouteOf>();

  constructor(private readonly deps: FeedbackDeps) {
    this.recent = new RecentRing<RouteOf>(deps.capacity);
  }

  remember(requestId: string, entry: Recent): void {
    let route = this.routes.get(entry.metrics);
    if (!route || route.experiment !== entry.experiment) {
      route = { model: entry.model, version: entry.version, variant: entry.variant, ...(entry.experiment ? { experiment: entry.experiment } : {}), metrics: entry.metrics };
      this.routes.set(entry.metrics, route);
    }
    this.recent.set(requestId, route, entry.predictions);
  }

  private lookup(requestId: string): Recent | undefined {
    const found = this.recent.get(requestId);
    return found && { ...found.route, predictions: found.predictions, answered: found.answered };
  }

  /**
   * Feedback for a request this process does not hold (another replica served it, or it
   * was evicted), after apply() found the body valid: written with `joined: false`, for
   * the readers of the logs to join by request id. 202: recorded, not yet joined.
   */
  recordUnjoined(body: Record<string, unknown>): FeedbackAnswer {
    const requestId = String(body.request_id);
    const row = typeof body.row === 'number' && Number.isInteger(body.row) && body.row >= 0 ? body.row : undefined;
    if (body.row !== undefined && row === undefined) return { status: 400, body: { error: '"row" must be a whole number >= 0 (the row of that request)' } };
    const hasLabel = body.label !== undefined && body.label !== null;
    const line: FeedbackRow = {
      type: 'feedback',
      request_id: requestId,
      time: this.deps.now().toISOString(),
      joined: false,
      ...(row !== undefined && row > 0 ? { row } : {}),
      ...(hasLabel ? { label: body.label } : { outcome: body.outcome as number }),
    };
    if (!this.deps.log) {
      return { status: 404, body: { error: `unknown request_id ${JSON.stringify(requestId.slice(0, 100))}: not served here, and this server keeps no prediction log to record it in (start it with --log)` } };
    }
    this.deps.log.write(`${JSON.stringify(line)}\n`);
    return { status: 202, body: { request_id: requestId, recorded: true, joined: false, ...(hasLabel ? { label: body.label } : { outcome: body.outcome }) } };
  }

  /** Join a label or outcome to a remembered prediction; plain JSON in and out (cluster IPC). */
  apply(body: Record<string, unknown>): FeedbackAnswer {
    const requestId = body.request_id;
    if (typeof requestId !== 'string' || requestId === '') return { status: 400, body: { error: 'send {"request_id": "...", "label": ...} or {"request_id": "...", "outcome": NUMBER}' } };
    const hasLabel = body.label !== undefined && body.label !== null;
    const hasOutcome = body.outcome !== undefined && body.outcome !== null;
    if (hasLabel === hasOutcome) return { status: 400, body: { error: 'send exactly one of "label" (a class) or "outcome" (a number)' } };
    if (hasLabel && !['string', 'number', 'boolean'].includes(typeof body.label)) return { status: 400, body: { error: '"label" must be a string, a number or a boolean' } };
    if (hasOutcome && (typeof body.outcome !== 'number' || !Number.isFinite(body.outcome))) return { status: 400, body: { error: '"outcome" must be a finite number' } };
    const entry = this.lookup(requestId);
    if (!entry) {
      return { status: 404, body: { error: `unknown request_id ${JSON.stringify(requestId.slice(0, 100))}: not served here, or older than the last ${this.deps.capacity} predicted rows kept for feedback` } };
    }
    const row = body.row ?? 0;
    if (typeof row !== 'number' || !Number.isInteger(row) || row < 0 || row >= entry.predictions.length) {
      return { status: 400, body: { error: `"row" must be an index below ${entry.predictions.length} (the rows of that request)` } };
    }
    if (entry.answered && entry.predictions.length === 1) return { status: 409, body: { error: `feedback for ${requestId} was already recorded` } };
    this.recent.markAnswered(requestId);
    const prediction = entry.predictions[row];
    const line: FeedbackRow = {
      type: 'feedback',
      request_id: requestId,
      time: this.deps.now().toISOString(),
      model: entry.model,
      version: entry.version,
      variant: entry.variant,
      ...(entry.experiment ? { experiment: entry.experiment } : {}),
      ...(entry.predictions.length > 1 ? { row } : {}),
      prediction,
    };
    if (hasLabel) {
      line.label = body.label;
      line.correct = sameLabel(prediction, body.label);
      entry.metrics.recordLabel(line.correct);
    } else {
      line.outcome = body.outcome as number;
      entry.metrics.recordOutcome();
    }
    this.deps.log?.write(`${JSON.stringify(line)}\n`);
    return { status: 200, body: { request_id: requestId, model: entry.model, version: entry.version, variant: entry.variant, prediction, ...(hasLabel ? { label: body.label, correct: line.correct } : { outcome: body.outcome }) } };
  }
}

/** Labels compare as the class they name: 1, "1" and true are the same positive class. */
export function sameLabel(prediction: unknown, label: unknown): boolean {
  const normal = (value: unknown) => (value === true ? '1' : value === false ? '0' : String(value).trim());
  return normal(prediction) === normal(label);
}
