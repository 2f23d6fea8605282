// The typed result of a drift check (DriftReport): what `mlops drift-check --json` prints as-is
// and what renderHtmlReport draws. Every number in it is finite, so it survives JSON.
import type { Correction } from './stats.js';
import type { ColumnKind, DataFormat } from './data.js';

/** The statistical tests a feature can be checked with. */
export type DriftTest = 'ks' | 'psi' | 'wasserstein' | 'chi2' | 'jensenshannon';
/** What the user asks for: one test for every column, or a choice per column. */
export type DriftTestOption = 'auto' | DriftTest;

export interface DatasetSummary {
  path: string;
  /** What the data is, for people, when the path alone does not say (a registry blob). */
  description?: string;
  format: DataFormat;
  gzip: boolean;
  /** Data rows read (prediction logs: not counting shadow rows). */
  rows: number;
  /**
   * Rows the statistics were computed on: `rows`, or a uniform random sample of --max-rows of
   * them when the file has more (missing-value shares still count every row).
   */
  sampledRows: number;
  /** Prediction-log rows marked "shadow": traffic copies for a shadow model, skipped. */
  shadowRowsSkipped: number;
  /** Prediction-log lines passed over: feedback lines, other models' rows, rows before --since. */
  otherRowsSkipped: number;
}

export interface DriftRule {
  /** The --test option as given ('auto' chooses per column, see check.ts). */
  test: DriftTestOption;
  correction: Correction;
  /** Threshold of each test as used: alpha for p-value tests, a distance for the others. */
  thresholds: Record<DriftTest, number>;
  /** null: the dataset drifts when any feature drifts; else when the drifted share reaches it. */
  driftShare: number | null;
  /**
   * null: a significant p-value is enough. Else a p-value test's feature drifts only when its
   * effect also reaches this: Wasserstein / reference SD (numeric), Jensen-Shannon (categorical).
   */
  minEffect: number | null;
  /** Rows kept per file (a uniform sample beyond). */
  maxRows: number;
  /** The rule in one sentence, for people. */
  description: string;
}

export interface NumericStats {
  kind: 'numeric';
  referenceMean: number;
  currentMean: number;
  /** Population standard deviations (ddof 0). */
  referenceStd: number;
  currentStd: number;
  /** (current mean - reference mean) / reference SD. Informative only. */
  meanShift: number;
  /** Population stability index on the reference deciles. Informative unless it is the test. */
  psi: number;
  /** Wasserstein distance / reference SD. Informative unless it is the test. */
  wassersteinNormalized: number;
  /** KS statistic sup |F_ref - F_cur|. */
  ksStatistic: number;
}

export interface CategoricalStats {
  kind: 'categorical';
  referenceCategories: number;
  currentCategories: number;
  /** Categories seen in the current data but never in the reference. */
  newCategories: number;
  psi: number;
  jensenShannon: number;
}

export interface NumericHistogram {
  kind: 'numeric';
  /** bins + 1 ascending edges; values outside [first, last] are counted in the end bins. */
  edges: number[];
  reference: number[];
  current: number[];
}

export interface CategoricalHistogram {
  kind: 'categorical';
  /** The most frequent categories; the rest are summed in `otherReference` / `otherCurrent`. */
  categories: string[];
  reference: number[];
  current: number[];
  otherReference: number;
  otherCurrent: number;
}

export type Histogram = NumericHistogram | CategoricalHistogram;

export interface FeatureDrift {
  name: string;
  kind: ColumnKind;
  test: DriftTest;
  /** The test's statistic: D for ks, chi-square for chi2, the distance for the others. */
  statistic: number;
  /** Raw p-value of ks / chi2; null for distance tests. */
  pValue: number | null;
  /** p-value after the multiple-testing correction; null for distance tests. */
  adjustedPValue: number | null;
  /** The value compared: adjustedPValue <= threshold, or statistic >= threshold. */
  threshold: number;
  drifted: boolean;
  /** ks: 'exact' or 'asymptotic' (as scipy's method='auto' decides); chi2: degrees of freedom. */
  method?: 'exact' | 'asymptotic';
  dof?: number;
  /** Non-missing values compared. */
  sampleSize: { reference: number; current: number };
  missing: { reference: number; current: number };
  stats: NumericStats | CategoricalStats;
  histogram: Histogram;
  /** Why the test differs from the one asked for, or other remarks. */
  note?: string;
  /**
   * Two-proportion test of the share of missing values (a 2 x 2 chi-square without continuity
   * correction), in the same multiple-testing family as the value tests. Present when either
   * file has a missing value in this column. `drifted` above includes its verdict.
   */
  missingTest?: MissingTest;
  /** Fewer non-missing values than the test needs in either file (see MIN_SAMPLE): inconclusive unless it drifted. */
  smallSample?: boolean;
}

export interface MissingTest {
  /** Missing values / rows, over every row read. */
  referenceShare: number;
  currentShare: number;
  statistic: number;
  pValue: number;
  adjustedPValue: number;
  drifted: boolean;
}

export interface DriftReport {
  /** Bumped when a field changes meaning. */
  schemaVersion: 1;
  /** The dataset verdict. */
  drift: boolean;
  reference: DatasetSummary;
  current: DatasetSummary;
  rule: DriftRule;
  summary: {
    features: number;
    drifted: number;
    /** drifted / features */
    share: number;
    driftedFeatures: string[];
  };
  features: FeatureDrift[];
  /** Things a reader should know that change no verdict: sampling, ignored columns. */
  notes: string[];
  /** Things that make the verdict weaker: samples too small for their test (exit 2 when no drift). */
  warnings: string[];
}
