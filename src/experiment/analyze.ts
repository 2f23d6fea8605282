// `mlops ab report`: read a prediction log (with its rotated files), count each variant's
// requests, join the feedback lines, and compare the variants with the fitting test.
import { NotFoundError, UsageError, messageOf } from '../errors.js';
import { predictionLogFiles, readPredictionLog } from '../prediction-log/index.js';
import { ShadowComparer, type ShadowStats } from './shadows.js';
import { samplesForMeans, samplesForProportions, twoProportionTest, welchTTest, type TestResult } from './stats.js';

export interface AnalyzeOptions {
  /** Experiment name (the `experiment` field of the log); needed when the log holds several. */
  experiment?: string;
  /** Significance level, default 0.05. */
  alpha?: number;
  /** Power for the sample-size estimate, default 0.8. */
  power?: number;
  /** The baseline variant; default: the one with the most requests. */
  control?: string;
  /** Fewer labelled outcomes than this per variant: no test is run yet. Default 30. */
  minSamples?: number;
}

export interface VariantStats {
  variant: string;
  versions: string[];
  /** Distinct logged requests (with --log-sample below 1: the sampled ones). */
  requests: number;
  rows: number;
  /** Labels joined through POST /feedback. */
  labelled: number;
  correct: number;
  accuracy?: number;
  precision?: number;
  recall?: number;
  f1?: number;
  /** Numeric outcomes joined through POST /feedback. */
  outcomes: number;
  meanOutcome?: number;
  sdOutcome?: number;
}

export interface Comparison {
  metric: 'accuracy' | 'mean_outcome';
  test: 'two-proportion z-test' | "Welch's t-test";
  control: string;
  treatment: string;
  controlValue: number;
  treatmentValue: number;
  /** treatment - control */
  difference: number;
  /** (1 - alpha) confidence interval of the difference. */
  ci: [number, number];
  pValue: number;
  /** alpha after the Bonferroni correction for several treatments. */
  alpha: number;
  significant: boolean;
  /** Labelled outcomes per variant for `power` at the observed difference (undefined when none observed). */
  neededPerVariant?: number;
  /** Requests per variant still to go, at each variant's feedback rate. */
  moreRequestsPerVariant?: number;
  verdict: string;
}

export interface AbReport {
  log: string;
  files: string[];
  experiment: string;
  /** Every experiment name in the log. */
  experiments: string[];
  model?: string;
  alpha: number;
  power: number;
  positiveLabel?: string;
  variants: VariantStats[];
  comparisons: Comparison[];
  /** One line: "v2.0.0 better, p=0.003" / "not enough data yet: ...". */
  verdict: string;
  /** Lines that were not JSON, or not prediction/feedback rows. */
  skippedLines: number;
  /** Primary vs shadow, per shadow version of the experiment's model (rows joined by request id). */
  shadows: ShadowStats[];
}

interface Accumulator {
  variant: string;
  versions: Set<string>;
  requestIds: Set<string>;
  rows: number;
  labels: Array<{ prediction: string; label: string }>;
  outcomes: number[];
}

const labelText = (value: unknown) => (value === true ? '1' : value === false ? '0' : String(value).trim());

export async function analyzeExperiment(logPath: string, options: AnalyzeOptions = {}): Promise<AbReport> {
  const alpha = options.alpha ?? 0.05;
  const power = options.power ?? 0.8;
  if (!(alpha > 0 && alpha < 1)) throw new UsageError(`--alpha ${alpha} must be between 0 and 1`, 'e.g. --alpha 0.05');
  const files = await predictionLogFiles(logPath);
  if (files.length === 0) {
    throw new NotFoundError(`no prediction log at ${logPath}`, 'pass the file given to `mlops serve --log` (rotated files log.1, log.2 ... are read too)');
  }

  const byExperiment = new Map<string, Map<string, Accumulator>>();
  const models = new Map<string, Set<string>>();
  const seenFeedback = new Set<string>();
  // Feedback another replica recorded (joined: false) waits for its prediction row, from any log.
  const predictionsByKey = new Map<string, { experiment: string; variant: string; prediction: unknown }>();
  const unjoined: Array<{ key: string; label?: unknown; outcome?: unknown }> = [];
  let skippedLines = 0;
  const shadowComparer = new ShadowComparer();
  const accumulator = (experiment: string, variant: string) => {
    let variants = byExperiment.get(experiment);
    if (!variants) byExperiment.set(experiment, (variants = new Map()));
    let found = variants.get(variant);
    if (!found) variants.set(variant, (found = { variant, versions: new Set(), requestIds: new Set(), rows: 0, labels: [], outcomes: [] }));
    return found;
  };

  try {
    for await (const entry of readPredictionLog(logPath)) {
      if (entry.kind === 'invalid') {
        if (entry.reason === 'not JSON') skippedLines++;
        continue;
      }
      const row = entry.row;
      shadowComparer.add(entry);
      if (row.shadow === true) continue;
      if (entry.kind === 'feedback' && entry.row.joined === false) {
        unjoined.push({ key: `${String(entry.row.request_id)}:${String(entry.row.row ?? 0)}`, label: entry.row.label, outcome: entry.row.outcome });
        continue;
      }
      const experiment = row.experiment;
      const variant = row.variant;
      if (typeof experiment !== 'string' || typeof variant !== 'string') continue;
      if (typeof row.model === 'string') {
        if (!models.has(experiment)) models.set(experiment, new Set());
        models.get(experiment)!.add(row.model);
      }
      const acc = accumulator(experiment, variant);
      if (typeof row.version === 'string') acc.versions.add(row.version);
      if (entry.kind === 'feedback') {
        const feedback = entry.row;
        const key = `${String(feedback.request_id)}:${String(feedback.row ?? 0)}`;
        if (seenFeedback.has(key)) continue;
        seenFeedback.add(key);
        if (feedback.label !== undefined && feedback.label !== null) acc.labels.push({ prediction: labelText(feedback.prediction), label: labelText(feedback.label) });
        else if (typeof feedback.outcome === 'number' && Number.isFinite(feedback.outcome)) acc.outcomes.push(feedback.outcome);
        else skippedLines++;
      } else {
        acc.rows++;
        if (typeof row.request_id === 'string') {
          acc.requestIds.add(row.request_id);
          if ('prediction' in row) predictionsByKey.set(`${row.request_id}:${String(row.row ?? 0)}`, { experiment, variant, prediction: row.prediction });
        }
      }
    }
  } catch (error) {
    throw new UsageError(`cannot read ${logPath}: ${messageOf(error)}`, 'check the path and permissions');
  }

  for (const feedback of unjoined) {
    const prediction = predictionsByKey.get(feedback.key);
    if (!prediction || seenFeedback.has(feedback.key)) continue;
    seenFeedback.add(feedback.key);
    const acc = accumulator(prediction.experiment, prediction.variant);
    if (feedback.label !== undefined && feedback.label !== null) acc.labels.push({ prediction: labelText(prediction.prediction), label: labelText(feedback.label) });
    else if (typeof feedback.outcome === 'number' && Number.isFinite(feedback.outcome)) acc.outcomes.push(feedback.outcome);
  }

  const experiments = [...byExperiment.keys()].sort();
  if (experiments.length === 0) {
    throw new UsageError(`${logPath} has no A/B experiment rows`, 'serve with an experiment (--ab NAME@v1=90,NAME@v2=10 or serve.yaml) and --log, then send traffic and feedback');
  }
  let experiment = options.experiment;
  if (experiment === undefined) {
    if (experiments.length > 1) throw new UsageError(`${logPath} holds several experiments: ${experiments.join(', ')}`, 'choose one with --experiment NAME');
    experiment = experiments[0]!;
  } else if (!byExperiment.has(experiment)) {
    throw new NotFoundError(`no experiment named ${experiment} in ${logPath}`, `experiments in the log: ${experiments.join(', ')}`);
  }

  const accumulators = [...byExperiment.get(experiment)!.values()].sort((a, b) => a.variant.localeCompare(b.variant));
  const allLabels = accumulators.flatMap((a) => a.labels);
  const classes = [...new Set(allLabels.flatMap((l) => [l.label, l.prediction]))];
  const binary = classes.every((c) => c === '0' || c === '1');
  const positiveLabel = allLabels.length && binary ? '1' : undefined;
  const variants = accumulators.map((acc) => summarize(acc, classes, binary));

  const minSamples = options.minSamples ?? 30;
  const control = options.control ?? [...variants].sort((a, b) => b.requests - a.requests || a.variant.localeCompare(b.variant))[0]?.variant;
  const baseline = variants.find((v) => v.variant === control);
  if (!baseline) throw new NotFoundError(`no variant named ${control} in experiment ${experiment}`, `variants: ${variants.map((v) => v.variant).join(', ')}`);
  const treatments = variants.filter((v) => v !== baseline);
  const correctedAlpha = treatments.length > 1 ? alpha / treatments.length : alpha;
  const comparisons: Comparison[] = [];
  const waiting: string[] = [];
  for (const treatment of treatments) {
    const comparison = compare(baseline, treatment, accumulators, correctedAlpha, power, minSamples);
    if (typeof comparison === 'string') waiting.push(comparison);
    else comparisons.push(comparison);
  }

  let verdict: string;
  if (treatments.length === 0) verdict = `only one variant (${baseline.variant}) has traffic in the log`;
  else if (comparisons.length === 0) verdict = waiting.join('; ');
  else verdict = [...comparisons.map((c) => c.verdict), ...waiting].join('; ');

  const modelNames = [...(models.get(experiment) ?? [])];
  return {
    log: logPath,
    files,
    experiment,
    experiments,
    ...(modelNames.length === 1 ? { model: modelNames[0] } : {}),
    alpha,
    power,
    ...(positiveLabel ? { positiveLabel } : {}),
    variants,
    comparisons,
    verdict,
    skippedLines,
    shadows: shadowComparer.summary(new Set(modelNames)),
  };
}

function summarize(acc: Accumulator, classes: string[], binary: boolean): VariantStats {
  const labelled = acc.labels.length;
  const correct = acc.labels.filter((l) => l.prediction === l.label).length;
  const stats: VariantStats = {
    variant: acc.variant,
    versions: [...acc.versions].sort(),
    requests: acc.requestIds.size,
    rows: acc.rows,
    labelled,
    correct,
    outcomes: acc.outcomes.length,
  };
  if (labelled > 0) {
    stats.accuracy = correct / labelled;
    // Binary labels: of the positive class "1"; more classes: macro average over classes.
    const positives = binary ? ['1'] : classes;
    const scores = positives.map((positive) => {
      const tp = acc.labels.filter((l) => l.prediction === positive && l.label === positive).length;
      const fp = acc.labels.filter((l) => l.prediction === positive && l.label !== positive).length;
      const fn = acc.labels.filter((l) => l.prediction !== positive && l.label === positive).length;
      const precision = tp + fp > 0 ? tp / (tp + fp) : 0;
      const recall = tp + fn > 0 ? tp / (tp + fn) : 0;
      return { precision, recall, f1: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0 };
    });
    const average = (key: 'precision' | 'recall' | 'f1') => scores.reduce((sum, s) => sum + s[key], 0) / scores.length;
    stats.precision = average('precision');
    stats.recall = average('recall');
    stats.f1 = average('f1');
  }
  if (acc.outcomes.length > 0) {
    const meanOutcome = acc.outcomes.reduce((a, b) => a + b, 0) / acc.outcomes.length;
    stats.meanOutcome = meanOutcome;
    stats.sdOutcome = acc.outcomes.length > 1 ? Math.sqrt(acc.outcomes.reduce((s, x) => s + (x - meanOutcome) ** 2, 0) / (acc.outcomes.length - 1)) : 0;
  }
  return stats;
}

const fmtP = (p: number) => (p < 0.001 ? 'p<0.001' : `p=${p < 0.01 ? p.toFixed(3) : p.toFixed(2)}`);
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** A finished comparison, or why it cannot be made yet. */
function compare(control: VariantStats, treatment: VariantStats, accumulators: Accumulator[], alpha: number, power: number, minSamples: number): Comparison | string {
  const useLabels = control.labelled + treatment.labelled >= control.outcomes + treatment.outcomes;
  const n = useLabels ? Math.min(control.labelled, treatment.labelled) : Math.min(control.outcomes, treatment.outcomes);
  const what = useLabels ? 'labelled predictions' : 'outcomes';
  const have = (v: VariantStats) => (useLabels ? v.labelled : v.outcomes);
  if (n < Math.max(2, minSamples)) {
    return `not enough data yet for ${treatment.variant} vs ${control.variant}: ${have(control)} and ${have(treatment)} ${what} (at least ${minSamples} each before testing)`;
  }
  // Feedback per request, to turn labelled samples into requests still to serve.
  const rate = (v: VariantStats) => (v.requests > 0 ? Math.min(1, have(v) / v.requests) : 1);
  // The test that fits the metric: two proportions for labels, Welch's t for numeric outcomes.
  let test: { metric: Comparison['metric']; test: Comparison['test']; controlValue: number; treatmentValue: number; result: TestResult; needed: number };
  if (useLabels) {
    test = {
      metric: 'accuracy',
      test: 'two-proportion z-test',
      controlValue: control.accuracy!,
      treatmentValue: treatment.accuracy!,
      result: twoProportionTest(control.correct, control.labelled, treatment.correct, treatment.labelled, alpha),
      needed: samplesForProportions(control.accuracy!, treatment.accuracy!, alpha, power),
    };
  } else {
    const outcomes = (v: VariantStats) => accumulators.find((a) => a.variant === v.variant)!.outcomes;
    const result = welchTTest(outcomes(control), outcomes(treatment), alpha);
    const sd = Math.sqrt(((control.sdOutcome ?? 0) ** 2 + (treatment.sdOutcome ?? 0) ** 2) / 2);
    test = { metric: 'mean_outcome', test: "Welch's t-test", controlValue: control.meanOutcome!, treatmentValue: treatment.meanOutcome!, result, needed: samplesForMeans(result.difference, sd, alpha, power) };
  }
  const { result, needed } = test;
  const comparison: Omit<Comparison, 'verdict'> = {
    metric: test.metric,
    test: test.test,
    control: control.variant,
    treatment: treatment.variant,
    controlValue: test.controlValue,
    treatmentValue: test.treatmentValue,
    difference: result.difference,
    ci: result.ci,
    pValue: result.pValue,
    alpha,
    significant: result.pValue < alpha,
    ...(Number.isFinite(needed) ? { neededPerVariant: needed, moreRequestsPerVariant: moreRequests(needed, [control, treatment], have, rate) } : {}),
  };
  const metric = comparison.metric === 'accuracy' ? 'accuracy' : 'mean outcome';
  const show = (x: number) => (comparison.metric === 'accuracy' ? pct(x) : x.toPrecision(4));
  let verdict: string;
  if (comparison.significant) {
    const better = comparison.difference > 0 ? treatment.variant : control.variant;
    verdict = `${better} better, ${fmtP(comparison.pValue)} (${metric} ${show(comparison.treatmentValue)} vs ${show(comparison.controlValue)})`;
  } else if (comparison.difference === 0 || comparison.neededPerVariant === undefined) {
    verdict = `no difference between ${treatment.variant} and ${control.variant} so far (${metric} ${show(comparison.controlValue)}, ${fmtP(comparison.pValue)})`;
  } else {
    const more = comparison.moreRequestsPerVariant ?? 0;
    verdict =
      more > 0
        ? `not enough data yet: about ${more.toLocaleString('en')} more requests per variant to detect a difference of ${show(Math.abs(comparison.difference))} in ${metric} (${treatment.variant} vs ${control.variant}, ${fmtP(comparison.pValue)} now)`
        : `no significant difference between ${treatment.variant} and ${control.variant} (${fmtP(comparison.pValue)}, ${metric} ${show(comparison.treatmentValue)} vs ${show(comparison.controlValue)})`;
  }
  return { ...comparison, verdict };
}

function moreRequests(neededSamples: number, variants: VariantStats[], have: (v: VariantStats) => number, rate: (v: VariantStats) => number): number {
  return Math.max(0, ...variants.map((v) => Math.ceil(Math.max(0, neededSamples - have(v)) / Math.max(rate(v), 1e-9))));
}
