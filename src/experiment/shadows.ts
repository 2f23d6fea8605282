// Primary vs shadow in the prediction log, for `ab report`: each shadow row is joined to
// the answered row of the same request id and row, and compared as serve's metrics do
// (agreement of predicted classes, mean absolute score difference, latency).
import type { LogEntry } from '../prediction-log/index.js';

export interface ShadowStats {
  model: string;
  version: string;
  /** Shadow rows in the log. */
  rows: number;
  /** Shadow rows joined to their answered row. */
  compared: number;
  /** Share of compared rows with the same prediction (undefined when the rows carry none). */
  agreement?: number;
  /** Mean |score difference| (probabilities, else the numeric prediction). */
  meanAbsScoreDiff?: number;
  meanLatencyMs?: number;
  /** The answering versions' mean latency on the same requests. */
  primaryMeanLatencyMs?: number;
}

interface Seen {
  prediction: string | undefined;
  score: number[] | undefined;
  latency: number | undefined;
}

const predictionText = (row: Record<string, unknown>) => ('prediction' in row ? JSON.stringify(row.prediction) : undefined);

/** The row's scores: the first output holding a list of numbers (probabilities), else a numeric prediction. */
function scoreOf(row: Record<string, unknown>): number[] | undefined {
  const outputs = row.outputs;
  if (outputs && typeof outputs === 'object') {
    for (const value of Object.values(outputs as Record<string, unknown>)) {
      if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'number')) return value as number[];
    }
  }
  return typeof row.prediction === 'number' ? [row.prediction] : undefined;
}

export class ShadowComparer {
  private readonly primary = new Map<string, Seen>();
  private readonly shadows: Array<{ key: string; model: string; version: string } & Seen> = [];

  add(entry: LogEntry): void {
    if (entry.kind !== 'prediction') return;
    const row = entry.row as Record<string, unknown>;
    if (typeof row.request_id !== 'string') return;
    const key = `${row.request_id}:${String(row.row ?? 0)}`;
    const seen: Seen = { prediction: predictionText(row), score: scoreOf(row), latency: typeof row.latency_ms === 'number' ? row.latency_ms : undefined };
    if (row.shadow === true) {
      if (typeof row.model === 'string' && typeof row.version === 'string') this.shadows.push({ key, model: row.model, version: row.version, ...seen });
    } else {
      this.primary.set(key, seen);
    }
  }

  /** Per shadow version (of `models` when given), sorted by model and version. */
  summary(models?: ReadonlySet<string>): ShadowStats[] {
    const groups = new Map<
      string,
      {
        model: string;
        version: string;
        rows: number;
        compared: number;
        predicted: number;
        agreed: number;
        scored: number;
        diff: number;
        latency: number[];
        primaryLatency: number[];
      }
    >();
    for (const shadow of this.shadows) {
      if (models && models.size && !models.has(shadow.model)) continue;
      const id = `${shadow.model}\u0000${shadow.version}`;
      let g = groups.get(id);
      if (!g)
        groups.set(id, (g = { model: shadow.model, version: shadow.version, rows: 0, compared: 0, predicted: 0, agreed: 0, scored: 0, diff: 0, latency: [], primaryLatency: [] }));
      g.rows++;
      if (shadow.latency !== undefined) g.latency.push(shadow.latency);
      const primary = this.primary.get(shadow.key);
      if (!primary) continue;
      g.compared++;
      if (primary.latency !== undefined) g.primaryLatency.push(primary.latency);
      if (primary.prediction !== undefined && shadow.prediction !== undefined) {
        g.predicted++;
        if (primary.prediction === shadow.prediction) g.agreed++;
      }
      if (primary.score && shadow.score && primary.score.length === shadow.score.length) {
        g.scored++;
        g.diff += primary.score.reduce((sum, x, i) => sum + Math.abs(x - shadow.score![i]!), 0) / primary.score.length;
      }
    }
    const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined);
    return [...groups.values()]
      .sort((a, b) => a.model.localeCompare(b.model) || a.version.localeCompare(b.version))
      .map((g) => {
        const latency = mean(g.latency);
        const primaryLatency = mean(g.primaryLatency);
        return {
          model: g.model,
          version: g.version,
          rows: g.rows,
          compared: g.compared,
          ...(g.predicted ? { agreement: g.agreed / g.predicted } : {}),
          ...(g.scored ? { meanAbsScoreDiff: g.diff / g.scored } : {}),
          ...(latency !== undefined ? { meanLatencyMs: latency } : {}),
          ...(primaryLatency !== undefined ? { primaryMeanLatencyMs: primaryLatency } : {}),
        };
      });
  }
}
