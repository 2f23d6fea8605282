// The Prometheus series of /metrics (names fixed by the metrics contract in the README),
// label children cached for the hot path, and the cluster-wide aggregation of workers.
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type MetricObjectWithValues, type MetricValue } from 'prom-client';

/** From 0.1 ms: one row of a small tabular model runs in ~20 us, a whole request in ~100 us. */
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export type ErrorType = 'validation' | 'inference' | 'not_found' | 'body_too_large' | 'malformed_json' | 'unauthorized' | 'internal';

const MODEL_LABELS = ['model', 'version', 'variant'] as const;

/** The counters of one (model, version, variant), resolved once. */
export interface VariantMetrics {
  readonly labels: { model: string; version: string; variant: string };
  predictions: Counter.Internal;
  latency: Histogram.Internal<'model' | 'version' | 'variant'>;
  feedback: Counter.Internal;
  feedbackCorrect: Counter.Internal;
  outcomes: Counter.Internal;
  error(type: ErrorType): void;
  ood(feature: string): void;
  /** Count a joined label and update the accuracy gauge. */
  recordLabel(correct: boolean): void;
  /** Count a joined numeric outcome (regression targets, revenue, ...). */
  recordOutcome(): void;
}

export class ServeMetrics {
  readonly registry = new Registry();
  private readonly predictions: Counter<'model' | 'version' | 'variant'>;
  private readonly latency: Histogram<'model' | 'version' | 'variant'>;
  private readonly requests: Counter<'route' | 'method' | 'status'>;
  private readonly requestDuration: Histogram<'route' | 'method'>;
  private readonly errors: Counter<'model' | 'version' | 'variant' | 'type'>;
  private readonly ood: Counter<'model' | 'version' | 'variant' | 'feature'>;
  private readonly feedback: Counter<'model' | 'version' | 'variant'>;
  private readonly feedbackCorrect: Counter<'model' | 'version' | 'variant'>;
  private readonly accuracy: Gauge<'model' | 'version' | 'variant'>;
  private readonly outcomes: Counter<'model' | 'version' | 'variant'>;
  private readonly shadowPredictions: Counter<'model' | 'version'>;
  private readonly shadowErrors: Counter<'model' | 'version'>;
  private readonly shadowCompared: Counter<'model' | 'version'>;
  private readonly experimentWeight: Gauge<'model' | 'experiment' | 'variant' | 'version'>;
  private readonly experimentSeries = new Map<string, Array<Record<'model' | 'experiment' | 'variant' | 'version', string>>>();
  private readonly shadowAgreed: Counter<'model' | 'version'>;
  private readonly shadowScoreDiff: Counter<'model' | 'version'>;
  private readonly shadowLatency: Histogram<'model' | 'version'>;
  private readonly modelsLoaded: Gauge<'model' | 'version'>;
  private readonly variants = new Map<string, VariantMetrics>();
  private readonly requestChildren = new Map<string, Counter.Internal>();
  private readonly durationChildren = new Map<string, Histogram.Internal<'route' | 'method'>>();

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    // prom-client names three gauges *_total, which `promtool check metrics` rejects
    // ("non-counter metrics should not have _total suffix"): leave them out.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(name);
    this.predictions = new Counter({ name: 'mlops_predictions_total', help: 'Rows predicted.', labelNames: MODEL_LABELS, registers });
    this.latency = new Histogram({ name: 'mlops_prediction_latency_seconds', help: 'Duration of one inference run (a coalesced batch counts once).', labelNames: MODEL_LABELS, buckets: LATENCY_BUCKETS, registers });
    this.requests = new Counter({ name: 'mlops_requests_total', help: 'HTTP requests by route, method and status code.', labelNames: ['route', 'method', 'status'], registers });
    this.requestDuration = new Histogram({ name: 'mlops_request_duration_seconds', help: 'Duration of whole HTTP requests.', labelNames: ['route', 'method'], buckets: LATENCY_BUCKETS, registers });
    this.errors = new Counter({ name: 'mlops_errors_total', help: 'Failed prediction requests by kind.', labelNames: ['model', 'version', 'variant', 'type'], registers });
    this.ood = new Counter({ name: 'mlops_ood_inputs_total', help: "Input values outside the reference data's observed [min, max].", labelNames: ['model', 'version', 'variant', 'feature'], registers });
    this.feedback = new Counter({ name: 'mlops_feedback_total', help: 'Ground-truth labels joined through POST /feedback.', labelNames: MODEL_LABELS, registers });
    this.feedbackCorrect = new Counter({ name: 'mlops_feedback_correct_total', help: 'Joined labels equal to the prediction.', labelNames: MODEL_LABELS, registers });
    // Omitted from the workers' sum: the primary recomputes it from the two counters above.
    this.accuracy = new Gauge({ name: 'mlops_accuracy', help: 'Correct / labelled predictions so far.', labelNames: MODEL_LABELS, registers, aggregator: 'omit' });
    // Beyond the contract: numeric outcomes (POST /feedback {"outcome": x}); their values
    // are in the prediction log, where `mlops ab report` compares means.
    this.outcomes = new Counter({ name: 'mlops_outcomes_total', help: 'Numeric outcomes joined through POST /feedback.', labelNames: MODEL_LABELS, registers });
    this.shadowPredictions = new Counter({ name: 'mlops_shadow_predictions_total', help: 'Rows predicted by shadow versions (never returned).', labelNames: ['model', 'version'], registers });
    this.shadowErrors = new Counter({ name: 'mlops_shadow_errors_total', help: 'Shadow runs that failed or were dropped.', labelNames: ['model', 'version'], registers });
    // Primary vs shadow, per shadow version: agreement rate = agreed / compared, mean |score diff| = diff sum / compared.
    this.shadowCompared = new Counter({ name: 'mlops_shadow_compared_total', help: 'Rows predicted by both the answering version and a shadow.', labelNames: ['model', 'version'], registers });
    this.shadowAgreed = new Counter({ name: 'mlops_shadow_agreement_total', help: 'Compared rows where the shadow predicted the same class as the answer.', labelNames: ['model', 'version'], registers });
    this.shadowScoreDiff = new Counter({ name: 'mlops_shadow_score_abs_diff_total', help: 'Sum over compared rows of the absolute difference of scores (probabilities, or values) between shadow and answer.', labelNames: ['model', 'version'], registers });
    this.shadowLatency = new Histogram({ name: 'mlops_shadow_latency_seconds', help: 'Duration of one shadow inference run.', labelNames: ['model', 'version'], buckets: LATENCY_BUCKETS, registers });
    this.experimentWeight = new Gauge({ name: 'mlops_experiment_variant_weight', help: "Share of a model's traffic a live experiment's variant takes (0..1); join on model and variant to select an experiment's series.", labelNames: ['model', 'experiment', 'variant', 'version'], registers, aggregator: 'max' });
    this.modelsLoaded = new Gauge({ name: 'mlops_models_loaded', help: '1 while a model version is loaded.', labelNames: ['model', 'version'], registers, aggregator: 'max' });
  }

  variant(model: string, version: string, variant: string): VariantMetrics {
    const key = `${model}\u0000${version}\u0000${variant}`;
    let found = this.variants.get(key);
    if (found) return found;
    const labels = { model, version, variant };
    const errorChildren = new Map<string, Counter.Internal>();
    const oodChildren = new Map<string, Counter.Internal>();
    let labelled = 0;
    let correct = 0;
    const accuracy = this.accuracy;
    found = {
      labels,
      predictions: this.predictions.labels(labels),
      latency: this.latency.labels(labels),
      feedback: this.feedback.labels(labels),
      feedbackCorrect: this.feedbackCorrect.labels(labels),
      outcomes: this.outcomes.labels(labels),
      error: (type) => {
        let child = errorChildren.get(type);
        if (!child) errorChildren.set(type, (child = this.errors.labels({ ...labels, type })));
        child.inc();
      },
      ood: (feature) => {
        let child = oodChildren.get(feature);
        if (!child) oodChildren.set(feature, (child = this.ood.labels({ ...labels, feature })));
        child.inc();
      },
      recordLabel(isCorrect) {
        this.feedback.inc();
        labelled++;
        if (isCorrect) {
          correct++;
          this.feedbackCorrect.inc();
        }
        accuracy.labels(labels).set(correct / labelled);
      },
      recordOutcome() {
        this.outcomes.inc();
      },
    };
    // Present from the start at 0, so rate() and absent() work before the first request.
    found.predictions.inc(0);
    found.feedback.inc(0);
    found.feedbackCorrect.inc(0);
    this.variants.set(key, found);
    return found;
  }

  /**
   * Errors before a served model is known (unknown model, malformed JSON, body too large),
   * with empty model labels: a client-chosen model name as a label would let anyone
   * create series without bound.
   */
  requestError(type: ErrorType): void {
    this.errors.labels({ model: '', version: '', variant: '', type }).inc();
  }

  request(route: string, method: string, status: number, seconds: number): void {
    const key = `${route} ${method} ${status}`;
    let counter = this.requestChildren.get(key);
    if (!counter) this.requestChildren.set(key, (counter = this.requests.labels({ route, method, status: String(status) })));
    counter.inc();
    const durationKey = `${route} ${method}`;
    let histogram = this.durationChildren.get(durationKey);
    if (!histogram) this.durationChildren.set(durationKey, (histogram = this.requestDuration.labels({ route, method })));
    histogram.observe(seconds);
  }

  shadowPrediction(model: string, version: string, rows: number): void {
    this.shadowPredictions.labels({ model, version }).inc(rows);
  }

  /** One shadow run compared with the answer: rows, rows that agreed, summed |score difference|, the run's seconds. */
  shadowCompare(model: string, version: string, rows: number, agreed: number, scoreDiff: number, seconds: number): void {
    const labels = { model, version };
    this.shadowCompared.labels(labels).inc(rows);
    this.shadowAgreed.labels(labels).inc(agreed);
    this.shadowScoreDiff.labels(labels).inc(scoreDiff);
    this.shadowLatency.labels(labels).observe(seconds);
  }

  /** The live experiment's variants and weights (none: the series go away). */
  experiment(model: string, experiment: string | undefined, variants: ReadonlyArray<{ name: string; version: string; weight: number }>): void {
    for (const labels of this.experimentSeries.get(model) ?? []) this.experimentWeight.remove(labels);
    const total = variants.reduce((sum, v) => sum + v.weight, 0);
    const series = experiment && total > 0 ? variants.map((v) => ({ model, experiment, variant: v.name, version: v.version })) : [];
    series.forEach((labels, i) => this.experimentWeight.labels(labels).set(variants[i]!.weight / total));
    this.experimentSeries.set(model, series);
  }

  shadowError(model: string, version: string): void {
    this.shadowErrors.labels({ model, version }).inc();
  }

  /** Prepare the shadow series at 0 when a shadow version loads. */
  shadowLoaded(model: string, version: string): void {
    this.shadowPredictions.labels({ model, version }).inc(0);
    this.shadowErrors.labels({ model, version }).inc(0);
    this.shadowCompared.labels({ model, version }).inc(0);
    this.shadowAgreed.labels({ model, version }).inc(0);
    this.shadowScoreDiff.labels({ model, version }).inc(0);
  }

  modelLoaded(model: string, version: string): void {
    this.modelsLoaded.labels({ model, version }).set(1);
  }

  modelUnloaded(model: string, version: string): void {
    this.modelsLoaded.remove({ model, version });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** This process's series, for the primary to aggregate. */
  json(): Promise<MetricObjectWithValues<MetricValue<string>>[]> {
    return this.registry.getMetricsAsJSON();
  }
}

type MetricJson = MetricObjectWithValues<MetricValue<string>>;

/**
 * Sum the workers' series into one exposition (histograms and counters add up, process
 * metrics follow prom-client's own aggregators), and compute mlops_accuracy from the
 * summed feedback counters: an average of per-worker ratios would be wrong.
 */
export async function aggregateWorkerMetrics(perWorker: MetricJson[][]): Promise<string> {
  const withoutAccuracy = perWorker.map((metrics) => metrics.filter((m) => m.name !== 'mlops_accuracy'));
  const total = new Map<string, { labels: Record<string, string | number>; labelled: number; correct: number }>();
  const keyOf = (labels: Record<string, string | number>) => `${labels.model}\u0000${labels.version}\u0000${labels.variant}`;
  for (const metrics of withoutAccuracy) {
    for (const metric of metrics) {
      if (metric.name !== 'mlops_feedback_total' && metric.name !== 'mlops_feedback_correct_total') continue;
      for (const value of metric.values) {
        const labels = value.labels as Record<string, string | number>;
        const entry = total.get(keyOf(labels)) ?? { labels, labelled: 0, correct: 0 };
        if (metric.name === 'mlops_feedback_correct_total') entry.correct += value.value;
        else entry.labelled += value.value;
        total.set(keyOf(labels), entry);
      }
    }
  }
  const accuracy: MetricJson = {
    name: 'mlops_accuracy',
    help: 'Correct / labelled predictions so far.',
    type: 'gauge' as unknown as MetricJson['type'],
    aggregator: 'first',
    collect: () => undefined,
    values: [...total.values()].filter((e) => e.labelled > 0).map((e) => ({ labels: e.labels, value: e.correct / e.labelled })),
  };
  const registry = AggregatorRegistry.aggregate([...withoutAccuracy, [accuracy]]);
  return registry.metrics();
}
