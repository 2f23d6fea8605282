// checkDrift: compares a current data file with reference data, column by column, and decides
// whether the dataset drifted, with the false-alarm rate under control. Returns a DriftReport.
//
// How `--test auto` chooses, and the defaults (README text):
//
//   * Numeric columns: two-sample Kolmogorov-Smirnov test. The p-value is computed as
//     scipy.stats.ks_2samp does by default: exact when both samples have at most 10,000
//     values, the asymptotic (kstwo) distribution above. A column is numeric when every
//     value in the reference's first 1,000 rows is a number (empty, NA and NaN are missing).
//   * Categorical columns (any other text, JSON strings and booleans): chi-square test of
//     homogeneity on the category counts. Categories seen fewer than 5 times in both files
//     together are pooled into one "other" category first, so sparse cells do not make the
//     chi-square approximation raise false alarms.
//   * The per-feature p-values are adjusted for testing many features at once
//     (--correction bh: Benjamini-Hochberg, the default; bonferroni; none). A feature has
//     drifted when its adjusted p-value is <= --threshold (default 0.01).
//   * The dataset has drifted when at least one feature has drifted. --drift-share S makes the
//     rule stricter: at least a share S of the features must have drifted.
//   * Why these defaults: with no drift at all, "any feature drifted after BH at 0.01" raises
//     an alarm in about 1% of checks whatever the number of features (BH then bounds the
//     chance of any rejection by alpha). Measured on clean data, 20 features x 1,000 rows:
//     0.5% of 1,000 checks at alpha 0.01, but 5.3% at alpha 0.05, over a 5% budget. It still
//     finds a 0.2-SD mean shift in one of 20 features with 5,000 rows in 200 of 200 checks,
//     and names the right feature (test/unit/drift-power.test.ts checks both targets).
//     Per-feature KS at 0.05 with no correction alarms on 62% of clean checks (1 - 0.95^20).
//   * --test psi | wasserstein | jensenshannon: distance thresholds, no p-values (and so no
//     correction): PSI >= 0.1 on the reference deciles (bin proportions floored at 1e-4),
//     Wasserstein / reference SD >= 0.1, Jensen-Shannon distance (base 2) >= 0.1. Forcing a
//     test that does not fit a column's type (ks or wasserstein on categories, chi2 on
//     numbers) uses the auto test for that column and says so in its note.
//   * Every numeric feature also reports mean shift (in reference SDs), PSI and normalised
//     Wasserstein; they inform, they do not vote.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { NotFoundError, UsageError } from '../errors.js';
import { ksProbability } from './ks.js';
import {
  parseDataFile,
  sniffFile,
  type ColumnKind,
  type ColumnRequest,
  type DataFileInfo,
  type ParseRequest,
  type ParsedColumn,
  type ParsedData,
} from './read.js';
import {
  adjustPValues,
  chiSquare,
  ecdfDistances,
  jensenShannon,
  jensenShannonNumeric,
  moments,
  meanShift,
  psi,
  psiNumeric,
  quantile,
  upperBound,
  type Correction,
} from './stats.js';
import type {
  CategoricalHistogram,
  DatasetSummary,
  DriftReport,
  DriftTest,
  DriftTestOption,
  FeatureDrift,
  NumericHistogram,
} from './types.js';
import type { WorkerReply } from './parse-worker.js';

export interface DriftCheckOptions {
  /** Reference data file: CSV with a header, JSON lines, or a prediction log; gzip or not (sniffed). */
  reference: string;
  current: string;
  /** Compare only these columns. */
  features?: string[];
  /** The model's feature names, in input order (names prediction-log positions). */
  expectedColumns?: string[];
  /** The model's input width: prediction logs and the compared columns must match it. */
  expectedWidth?: number;
  /** Columns to treat as categories even when their values look numeric. */
  categorical?: string[];
  test?: DriftTestOption;
  /** alpha for ks / chi2 (default 0.01); the distance for psi, wasserstein, jensenshannon (default 0.1). */
  threshold?: number;
  correction?: Correction;
  /** Dataset drift when drifted features / features >= driftShare; default: any drifted feature. */
  driftShare?: number;
  /**
   * Practical significance for the p-value tests: a significant feature drifts only when its
   * effect also reaches this (Wasserstein / reference SD for numbers, Jensen-Shannon distance for
   * categories). With large samples KS is significant for tiny shifts; this keeps cron quiet.
   */
  minEffect?: number;
  /** Prediction logs: only this model's rows (one server can log several models). */
  model?: string;
  /** Prediction logs: only rows logged at or after this time. */
  since?: Date;
  onEvent?: (event: { type: 'progress'; message: string }) => void;
}

export const DRIFT_TESTS: readonly DriftTest[] = ['ks', 'psi', 'wasserstein', 'chi2', 'jensenshannon'];
export const DRIFT_TEST_OPTIONS: readonly DriftTestOption[] = ['auto', ...DRIFT_TESTS];
export const CORRECTIONS: readonly Correction[] = ['bh', 'bonferroni', 'none'];

/** Defaults per test; see the comment at the top for why alpha is 0.01. */
export const DEFAULT_THRESHOLDS: Readonly<Record<DriftTest, number>> = {
  ks: 0.01,
  chi2: 0.01,
  psi: 0.1,
  wasserstein: 0.1,
  jensenshannon: 0.1,
};

const P_VALUE_TESTS = new Set<DriftTest>(['ks', 'chi2']);
/** Pooled count under which a category joins "other" before chi-square (Cochran's rule of 5). */
const RARE_CATEGORY_COUNT = 5;
const NUMERIC_HISTOGRAM_BINS = 30;
const TOP_CATEGORIES = 20;
/** Below this total size, starting worker threads costs more than it saves (~40 ms each). */
const WORKER_MIN_BYTES = 4 * 1024 * 1024;

function fitsKind(test: DriftTest, kind: ColumnKind): boolean {
  if (test === 'ks' || test === 'wasserstein') return kind === 'numeric';
  if (test === 'chi2') return kind === 'categorical';
  return true;
}

function autoTest(kind: ColumnKind): DriftTest {
  return kind === 'numeric' ? 'ks' : 'chi2';
}

function testLabel(test: DriftTest): string {
  return { ks: 'KS', chi2: 'chi-square', psi: 'PSI', wasserstein: 'Wasserstein/SD', jensenshannon: 'Jensen-Shannon' }[test];
}

interface ResolvedOptions {
  test: DriftTestOption;
  correction: Correction;
  thresholds: Record<DriftTest, number>;
  driftShare: number | null;
  minEffect: number | null;
}

function resolveOptions(options: DriftCheckOptions): ResolvedOptions {
  const test = options.test ?? 'auto';
  if (!DRIFT_TEST_OPTIONS.includes(test)) {
    throw new UsageError(`unknown test '${String(test)}'`, `use one of: ${DRIFT_TEST_OPTIONS.join(', ')}`);
  }
  const correction = options.correction ?? 'bh';
  if (!CORRECTIONS.includes(correction)) {
    throw new UsageError(`unknown correction '${String(correction)}'`, `use one of: ${CORRECTIONS.join(', ')}`);
  }
  const thresholds = { ...DEFAULT_THRESHOLDS };
  if (options.threshold !== undefined) {
    const value = options.threshold;
    const pValueFamily = test === 'auto' || P_VALUE_TESTS.has(test);
    if (!Number.isFinite(value) || value <= 0 || (pValueFamily && value >= 1)) {
      throw new UsageError(
        `threshold ${value} is out of range for --test ${test}`,
        pValueFamily ? 'give a p-value level between 0 and 1, e.g. 0.01' : 'give a positive distance, e.g. 0.1',
      );
    }
    if (pValueFamily) {
      thresholds.ks = value;
      thresholds.chi2 = value;
    } else {
      thresholds[test as DriftTest] = value;
    }
  }
  let driftShare: number | null = null;
  if (options.driftShare !== undefined) {
    if (!Number.isFinite(options.driftShare) || options.driftShare <= 0 || options.driftShare > 1) {
      throw new UsageError(`drift share ${options.driftShare} is out of range`, 'give a share of features between 0 and 1, e.g. 0.5');
    }
    driftShare = options.driftShare;
  }
  if (options.expectedWidth !== undefined && !(Number.isInteger(options.expectedWidth) && options.expectedWidth > 0)) {
    throw new UsageError(`expected width ${options.expectedWidth} is not a positive integer`);
  }
  let minEffect: number | null = null;
  if (options.minEffect !== undefined) {
    if (!Number.isFinite(options.minEffect) || options.minEffect < 0) {
      throw new UsageError(`minimum effect ${options.minEffect} is out of range`, 'give a distance of at least 0, e.g. 0.05 (Wasserstein in reference SDs)');
    }
    minEffect = options.minEffect;
  }
  return { test, correction, thresholds, driftShare, minEffect };
}

// ---------------------------------------------------------------------------------------------
// Which columns to compare, and where they are in each file

interface ColumnPlan {
  compared: Array<{ name: string; kind: ColumnKind }>;
  reference: ParseRequest;
  current: ParseRequest;
}

function isNamed(info: DataFileInfo): boolean {
  return info.format !== 'prediction-log';
}

function fileLabel(info: DataFileInfo): string {
  return `${info.role} data ${info.path}`;
}

function listColumns(columns: readonly string[]): string {
  const shown = columns.slice(0, 12).join(', ');
  return columns.length > 12 ? `${shown}, ... (${columns.length} in all)` : shown;
}

function planColumns(reference: DataFileInfo, current: DataFileInfo, options: DriftCheckOptions): ColumnPlan {
  const { expectedColumns, expectedWidth } = options;
  if (expectedColumns && expectedWidth !== undefined && expectedColumns.length !== expectedWidth) {
    throw new UsageError(`the model lists ${expectedColumns.length} columns but takes ${expectedWidth} inputs`, 'check the model signature');
  }
  const namedFile = [reference, current].find(isNamed);
  // The full, ordered column list: it names the positions of prediction-log features.
  let base: string[];
  let baseSource: string;
  if (expectedColumns) {
    base = [...expectedColumns];
    baseSource = 'the model';
  } else if (namedFile) {
    base = [...namedFile.columns!];
    baseSource = `the ${namedFile.role} data`;
  } else {
    const width = expectedWidth ?? reference.width ?? current.width;
    if (width === undefined) {
      throw new UsageError(
        `${fileLabel(reference)} has no prediction rows in its first lines (only shadow rows?)`,
        'pass a prediction log with live traffic, or reference data as CSV',
        'empty_data',
      );
    }
    base = Array.from({ length: width }, (_, i) => `feature_${i}`);
    baseSource = expectedWidth !== undefined ? 'the model' : `the ${reference.width !== undefined ? 'reference' : 'current'} data`;
  }
  if (expectedWidth !== undefined && !options.features && base.length !== expectedWidth) {
    throw new UsageError(
      `${baseSource} has ${base.length} columns but the model takes ${expectedWidth} inputs`,
      "pass data with exactly the model's input columns, or choose them with --features",
      'width_mismatch',
    );
  }
  for (const info of [reference, current]) {
    if (!isNamed(info) && info.width !== undefined && info.width !== base.length) {
      throw new UsageError(
        `${fileLabel(info)} has ${info.width} features per row, ${baseSource} has ${base.length} columns`,
        'compare a prediction log only with data of the same model input width',
        'width_mismatch',
      );
    }
  }

  let names: string[];
  if (options.features) {
    names = [...new Set(options.features.map((name) => name.trim()))];
    if (names.length === 0 || names.some((name) => name === '')) {
      throw new UsageError('--features is empty', 'name the columns to compare, separated by commas');
    }
    for (const name of names) {
      const available = namedFile && !expectedColumns ? namedFile.columns! : base;
      if (!available.includes(name)) {
        const where = namedFile && !expectedColumns ? fileLabel(namedFile) : baseSource;
        throw new UsageError(`no column '${name}' in ${where}`, `columns: ${listColumns(available)}`, 'missing_column');
      }
    }
  } else {
    names = base;
  }
  for (const name of options.categorical ?? []) {
    if (!names.includes(name)) {
      throw new UsageError(`categorical column '${name}' is not among the compared columns`, `columns: ${listColumns(names)}`, 'missing_column');
    }
  }

  // CSV headers are known now; a missing JSON-lines key is found while reading.
  for (const info of [reference, current]) {
    if (info.format !== 'csv') continue;
    for (const name of names) {
      if (!info.columns!.includes(name)) {
        const looksHeaderless = info.columns!.every((column) => /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(column));
        throw new UsageError(
          `${fileLabel(info)} has no column '${name}'`,
          looksHeaderless
            ? 'its first line looks like data: add a header line with the column names'
            : `its columns: ${listColumns(info.columns!)}; compare a subset with --features`,
          'missing_column',
        );
      }
    }
  }

  const forcedCategorical = new Set(options.categorical ?? []);
  const compared = names.map((name) => {
    let kind: ColumnKind = 'numeric';
    if (forcedCategorical.has(name)) kind = 'categorical';
    else if (isNamed(reference) && reference.columns!.includes(name)) {
      kind = reference.categoricalColumns.has(name) ? 'categorical' : 'numeric';
    } else if (isNamed(current) && current.categoricalColumns.has(name) && isNamed(reference)) {
      kind = 'categorical';
    }
    return { name, kind };
  });

  const request = (info: DataFileInfo): ParseRequest => {
    const columns: ColumnRequest[] = compared.map(({ name, kind }) => ({
      name,
      kind,
      source: info.format === 'csv' ? info.columns!.indexOf(name) : info.format === 'jsonl' ? name : base.indexOf(name),
    }));
    if (isNamed(info)) return { info, columns };
    return { info, columns, width: base.length, widthSource: baseSource, model: options.model, since: options.since?.getTime() };
  };
  return { compared, reference: request(reference), current: request(current) };
}

// ---------------------------------------------------------------------------------------------
// Reading both files, in parallel worker threads when the compiled worker is there

function reviveError(reply: Extract<WorkerReply, { ok: false }>): Error {
  const { name, message, hint, code } = reply.error;
  if (name === 'UsageError') return new UsageError(message, hint, code);
  if (name === 'NotFoundError') return new NotFoundError(message, hint, code);
  const error = new Error(message);
  if (reply.error.stack) error.stack = reply.error.stack;
  return error;
}

function parseInWorker(url: URL, request: ParseRequest, workers: Worker[]): Promise<ParsedData> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(url, { workerData: request });
    workers.push(worker);
    let settled = false;
    worker.once('message', (reply: WorkerReply) => {
      settled = true;
      if (reply.ok) resolve(reply.result);
      else reject(reviveError(reply));
    });
    worker.once('error', (error) => {
      if (!settled) {
        settled = true;
        reject(error);
      }
    });
    worker.once('exit', (code) => {
      if (!settled) {
        settled = true;
        reject(new Error(`the drift reader thread stopped with exit code ${code}`));
      }
    });
  });
}

/**
 * Reads both files at once. Two worker threads, one per file (each parses and sorts its file):
 * 1.8 s against 2.8 s in this thread for 2 x 150 MB of CSV (the bench data, 2 shared cores).
 */
async function parseBoth(reference: ParseRequest, current: ParseRequest, totalBytes: number): Promise<[ParsedData, ParsedData]> {
  const workerUrl = new URL('./parse-worker.js', import.meta.url);
  // Running from TypeScript sources (tests) there is no compiled worker: read in this thread.
  if (totalBytes < WORKER_MIN_BYTES || !existsSync(fileURLToPath(workerUrl))) {
    return Promise.all([parseDataFile(reference), parseDataFile(current)]);
  }
  const workers: Worker[] = [];
  try {
    return await Promise.all([parseInWorker(workerUrl, reference, workers), parseInWorker(workerUrl, current, workers)]);
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

// ---------------------------------------------------------------------------------------------
// Per-feature statistics

function firstFinite(sorted: Float64Array): number {
  for (let i = 0; i < sorted.length; i++) if (Number.isFinite(sorted[i]!)) return sorted[i]!;
  return 0;
}

function lastFinite(sorted: Float64Array): number {
  for (let i = sorted.length - 1; i >= 0; i--) if (Number.isFinite(sorted[i]!)) return sorted[i]!;
  return 0;
}

/** Equal-width bins over the central 99% of both samples; the tails fall into the end bins. */
function numericHistogram(reference: Float64Array, current: Float64Array): NumericHistogram {
  const clampFinite = (value: number, fallback: number): number => (Number.isFinite(value) ? value : fallback);
  let lo = Math.min(
    clampFinite(quantile(reference, 0.005), firstFinite(reference)),
    clampFinite(quantile(current, 0.005), firstFinite(current)),
  );
  let hi = Math.max(
    clampFinite(quantile(reference, 0.995), lastFinite(reference)),
    clampFinite(quantile(current, 0.995), lastFinite(current)),
  );
  if (!(hi > lo)) {
    lo -= 0.5;
    hi += 0.5;
  }
  const edges = Array.from({ length: NUMERIC_HISTOGRAM_BINS + 1 }, (_, i) => lo + ((hi - lo) * i) / NUMERIC_HISTOGRAM_BINS);
  const count = (sorted: Float64Array): number[] => {
    const counts: number[] = [];
    let previous = 0;
    for (let i = 1; i < NUMERIC_HISTOGRAM_BINS; i++) {
      const upto = upperBound(sorted, edges[i]!);
      counts.push(upto - previous);
      previous = upto;
    }
    counts.push(sorted.length - previous);
    return counts;
  };
  return { kind: 'numeric', edges, reference: count(reference), current: count(current) };
}

function finiteOr(value: number, fallback = 0): number {
  return Number.isFinite(value) ? value : fallback;
}

interface FeatureDraft extends Omit<FeatureDrift, 'adjustedPValue' | 'drifted'> {
  drifted?: boolean;
}

function numericFeature(name: string, ref: ParsedColumn, cur: ParsedColumn, test: DriftTest, threshold: number): FeatureDraft {
  const a = ref.sorted!;
  const b = cur.sorted!;
  const refMoments = ref.moments ?? moments(a);
  const curMoments = cur.moments ?? moments(b);
  const distances = ecdfDistances(a, b);
  const ks = test === 'ks' ? ksProbability(distances.ks, a.length, b.length) : undefined;
  const psiValue = psiNumeric(a, b);
  const wasserstein = refMoments.std > 0 ? distances.wasserstein / refMoments.std : distances.wasserstein;
  const base = {
    name,
    kind: 'numeric' as const,
    test,
    threshold,
    sampleSize: { reference: a.length, current: b.length },
    missing: { reference: ref.missing, current: cur.missing },
    stats: {
      kind: 'numeric' as const,
      referenceMean: finiteOr(refMoments.mean),
      currentMean: finiteOr(curMoments.mean),
      referenceStd: finiteOr(refMoments.std),
      currentStd: finiteOr(curMoments.std),
      meanShift: finiteOr(meanShift(refMoments, curMoments)),
      psi: psiValue,
      wassersteinNormalized: finiteOr(wasserstein),
      ksStatistic: distances.ks,
    },
    histogram: numericHistogram(a, b),
  };
  switch (test) {
    case 'ks':
      return { ...base, statistic: ks!.statistic, pValue: ks!.pValue, method: ks!.method };
    case 'psi':
      return { ...base, statistic: psiValue, pValue: null };
    case 'wasserstein':
      return { ...base, statistic: finiteOr(wasserstein), pValue: null };
    case 'jensenshannon':
      return { ...base, statistic: jensenShannonNumeric(a, b), pValue: null };
    default:
      throw new Error(`test ${test} does not apply to numeric columns`);
  }
}

function categoricalFeature(name: string, ref: ParsedColumn, cur: ParsedColumn, test: DriftTest, threshold: number): FeatureDraft {
  const refMap = new Map(ref.counts!);
  const curMap = new Map(cur.counts!);
  const categories = [...new Set([...refMap.keys(), ...curMap.keys()])];
  categories.sort((x, y) => (refMap.get(y) ?? 0) + (curMap.get(y) ?? 0) - ((refMap.get(x) ?? 0) + (curMap.get(x) ?? 0)) || (x < y ? -1 : 1));
  const refCounts = categories.map((c) => refMap.get(c) ?? 0);
  const curCounts = categories.map((c) => curMap.get(c) ?? 0);

  // Chi-square on rare categories pooled into one (see the comment at the top).
  const pooledRef: number[] = [];
  const pooledCur: number[] = [];
  let rareRef = 0;
  let rareCur = 0;
  categories.forEach((_, i) => {
    if (refCounts[i]! + curCounts[i]! < RARE_CATEGORY_COUNT) {
      rareRef += refCounts[i]!;
      rareCur += curCounts[i]!;
    } else {
      pooledRef.push(refCounts[i]!);
      pooledCur.push(curCounts[i]!);
    }
  });
  if (rareRef + rareCur > 0) {
    pooledRef.push(rareRef);
    pooledCur.push(rareCur);
  }
  const chi = chiSquare(pooledRef, pooledCur);
  const psiValue = psi(refCounts, curCounts);
  const js = jensenShannon(refCounts, curCounts);
  const top = categories.slice(0, TOP_CATEGORIES);
  const sum = (values: number[]): number => values.reduce((s, v) => s + v, 0);
  const histogram: CategoricalHistogram = {
    kind: 'categorical',
    categories: top,
    reference: refCounts.slice(0, TOP_CATEGORIES),
    current: curCounts.slice(0, TOP_CATEGORIES),
    otherReference: sum(refCounts.slice(TOP_CATEGORIES)),
    otherCurrent: sum(curCounts.slice(TOP_CATEGORIES)),
  };
  const base = {
    name,
    kind: 'categorical' as const,
    test,
    threshold,
    sampleSize: { reference: sum(refCounts), current: sum(curCounts) },
    missing: { reference: ref.missing, current: cur.missing },
    stats: {
      kind: 'categorical' as const,
      referenceCategories: refMap.size,
      currentCategories: curMap.size,
      newCategories: [...curMap.keys()].filter((c) => !refMap.has(c)).length,
      psi: psiValue,
      jensenShannon: js,
    },
    histogram,
  };
  switch (test) {
    case 'chi2':
      return { ...base, statistic: chi.statistic, pValue: chi.pValue, dof: chi.dof };
    case 'psi':
      return { ...base, statistic: psiValue, pValue: null };
    case 'jensenshannon':
      return { ...base, statistic: js, pValue: null };
    default:
      throw new Error(`test ${test} does not apply to categorical columns`);
  }
}

function summarize(info: DataFileInfo, data: ParsedData): DatasetSummary {
  return { path: info.path, format: info.format, gzip: info.gzip, rows: data.rows, shadowRowsSkipped: data.shadowRows, otherRowsSkipped: data.otherRows };
}

function describeRule(resolved: ResolvedOptions, kinds: Set<ColumnKind>): string {
  const { test, correction, thresholds, driftShare, minEffect } = resolved;
  const parts: string[] = [];
  const pValueTests = test === 'auto' || P_VALUE_TESTS.has(test);
  if (pValueTests) {
    const names = [kinds.has('numeric') ? 'KS' : '', kinds.has('categorical') ? 'chi-square' : ''].filter(Boolean).join(' and ');
    const adjusted = { bh: 'Benjamini-Hochberg adjusted', bonferroni: 'Bonferroni adjusted', none: 'unadjusted' }[correction];
    const effect = minEffect === null ? '' : ` and its effect (Wasserstein / reference SD, or Jensen-Shannon distance) is >= ${minEffect}`;
    parts.push(`a feature drifts when its ${adjusted} ${names} p-value is <= ${thresholds.ks}${effect}`);
  } else {
    parts.push(`a feature drifts when its ${testLabel(test)} is >= ${thresholds[test]}`);
  }
  parts.push(
    driftShare === null
      ? 'the dataset drifts when any feature drifts'
      : `the dataset drifts when at least ${Math.round(driftShare * 1000) / 10}% of the features drift`,
  );
  return parts.join('; ');
}

/** Compares the current data with the reference data; throws UsageError / NotFoundError on bad input. */
export async function checkDrift(options: DriftCheckOptions): Promise<DriftReport> {
  const resolved = resolveOptions(options);
  const progress = (message: string): void => options.onEvent?.({ type: 'progress', message });

  const [referenceInfo, currentInfo] = await Promise.all([
    sniffFile(options.reference, 'reference'),
    sniffFile(options.current, 'current'),
  ]);
  const plan = planColumns(referenceInfo, currentInfo, options);
  progress(`reading ${plan.compared.length} columns from ${options.reference} (${referenceInfo.format}) and ${options.current} (${currentInfo.format})`);
  const started = performance.now();
  const [reference, current] = await parseBoth(plan.reference, plan.current, referenceInfo.size + currentInfo.size);
  progress(`read ${reference.rows} reference rows and ${current.rows} current rows in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const drafts: FeatureDraft[] = plan.compared.map(({ name, kind }, index) => {
    const ref = reference.columns[index]!;
    const cur = current.columns[index]!;
    for (const [column, info] of [
      [ref, referenceInfo],
      [cur, currentInfo],
    ] as const) {
      const present = column.kind === 'numeric' ? column.sorted!.length : column.counts!.length;
      if (present === 0) {
        throw new UsageError(
          `${fileLabel(info)}: column '${name}' has no values (all ${column.missing} are missing)`,
          'fix the data, or leave the column out with --features',
          'empty_column',
        );
      }
    }
    const requested = resolved.test === 'auto' ? autoTest(kind) : resolved.test;
    const test = fitsKind(requested, kind) ? requested : autoTest(kind);
    const threshold = resolved.thresholds[test];
    const draft =
      kind === 'numeric'
        ? numericFeature(name, ref, cur, test, threshold)
        : categoricalFeature(name, ref, cur, test, threshold);
    if (test !== requested) {
      draft.note = `${testLabel(requested)} does not apply to ${kind} columns; used ${testLabel(test)}`;
    }
    return draft;
  });

  // Multiple-testing correction across the p-value tests only.
  const withP = drafts.filter((draft) => draft.pValue !== null);
  const adjusted = adjustPValues(
    withP.map((draft) => draft.pValue!),
    resolved.correction,
  );
  const adjustedOf = new Map(withP.map((draft, i) => [draft, adjusted[i]!]));
  const features: FeatureDrift[] = drafts.map((draft) => {
    const adjustedPValue = adjustedOf.get(draft) ?? null;
    let drifted = adjustedPValue !== null ? adjustedPValue <= draft.threshold : draft.statistic >= draft.threshold;
    let note = draft.note;
    if (drifted && adjustedPValue !== null && resolved.minEffect !== null) {
      const effect = draft.stats.kind === 'numeric' ? draft.stats.wassersteinNormalized : draft.stats.jensenShannon;
      if (effect < resolved.minEffect) {
        drifted = false;
        note = [note, `significant, but its effect ${effect.toPrecision(3)} is below --min-effect ${resolved.minEffect}`].filter(Boolean).join('; ');
      }
    }
    // Key order is the JSON order: the verdict first, the bulky histogram last.
    return {
      name: draft.name,
      kind: draft.kind,
      test: draft.test,
      statistic: draft.statistic,
      pValue: draft.pValue,
      adjustedPValue,
      threshold: draft.threshold,
      drifted,
      ...(draft.method ? { method: draft.method } : {}),
      ...(draft.dof !== undefined ? { dof: draft.dof } : {}),
      sampleSize: draft.sampleSize,
      missing: draft.missing,
      stats: draft.stats,
      ...(note ? { note } : {}),
      histogram: draft.histogram,
    };
  });

  const driftedFeatures = features.filter((f) => f.drifted).map((f) => f.name);
  const share = features.length > 0 ? driftedFeatures.length / features.length : 0;
  const drift =
    driftedFeatures.length > 0 && (resolved.driftShare === null || share >= resolved.driftShare - 1e-12);
  progress(`${driftedFeatures.length} of ${features.length} features drifted`);

  const kinds = new Set(plan.compared.map((c) => c.kind));
  return {
    schemaVersion: 1,
    drift,
    reference: summarize(referenceInfo, reference),
    current: summarize(currentInfo, current),
    rule: {
      test: resolved.test,
      correction: resolved.correction,
      thresholds: resolved.thresholds,
      driftShare: resolved.driftShare,
      minEffect: resolved.minEffect,
      description: describeRule(resolved, kinds),
    },
    summary: { features: features.length, drifted: driftedFeatures.length, share, driftedFeatures },
    features,
  };
}
