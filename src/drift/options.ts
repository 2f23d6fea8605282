// drift-check's options: the tests, corrections and default thresholds, validated once into
// ResolvedOptions, and the rule described in one sentence for the output.
//
// How `--test auto` chooses, and the defaults (README text):
//
//   * Numeric columns: two-sample Kolmogorov-Smirnov test. The p-value is computed as
//     scipy.stats.ks_2samp does by default: exact when both samples have at most 10,000
//     values, the asymptotic (kstwo) distribution above. A column is numeric when every
//     value in the reference's first 1,000 rows is a number (empty, NA and NaN are missing).
//   * Integer columns with at most 5 distinct values (LOW_CARDINALITY, in both files together;
//     Evidently's threshold too) get the chi-square test on their value counts instead: with
//     that many ties KS loses power (a shifted 4-valued column: KS p 1.8e-5, chi-square 6.6e-8).
//   * Categorical columns (any other text, JSON strings and booleans): chi-square test of
//     homogeneity on the category counts. Categories seen fewer than 5 times in both files
//     together are pooled into one "other" category first, so sparse cells do not make the
//     chi-square approximation raise false alarms.
//   * Missing values: when either file has a missing value in a column, a two-proportion test
//     of the missing share (2 x 2 chi-square without continuity correction, the same p-value
//     as the pooled z-test) joins the family; a feature drifts when its values or its missing
//     share drift. Shares count every row read, sampled or not.
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
//     and names the right feature (test/stats/drift-power.test.ts checks both targets).
//     Per-feature KS at 0.05 with no correction alarms on 62% of clean checks (1 - 0.95^20).
//   * --test psi | wasserstein | jensenshannon: distance thresholds, no p-values (and so no
//     correction): PSI >= 0.1 on the reference deciles (bin proportions floored at 1e-4),
//     Wasserstein / reference SD >= 0.1, Jensen-Shannon distance (base 2) >= 0.1. Forcing a
//     test that does not fit a column's type (ks or wasserstein on categories, chi2 on
//     numbers) uses the auto test for that column and says so in its note.
//   * Small samples: below MIN_SAMPLE (30) non-missing values in either file, a test can only
//     see gross differences; such a feature is flagged smallSample, a warning is printed, and
//     when nothing drifted the exit code is 2 (bad input) rather than 0: "ok" on one row of
//     data would be a false all-clear. 30 is the usual rule of thumb; at 30 vs 30 KS detects
//     a 1-SD shift about 90% of the time at alpha 0.01, and a chi-square's expected cells
//     reach 5 for categories of 1/6 share or more.
//   * Bounded memory: each file keeps at most --max-rows rows (default DEFAULT_MAX_ROWS), a
//     uniform reservoir sample beyond that, said in the output ("tested on a uniform sample of
//     N of M rows"); files that fit are read exactly.
//   * Every numeric feature also reports mean shift (in reference SDs), PSI and normalised
//     Wasserstein; they inform, they do not vote.
import { UsageError } from '../errors.js';
import type { ColumnKind } from './data.js';
import type { Correction } from './stats.js';
import type { DriftTest, DriftTestOption } from './types.js';

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
  /** Rows kept per file; a uniform sample beyond (default DEFAULT_MAX_ROWS). */
  maxRows?: number;
  /** Prediction logs: only this model's rows (one server can log several models). */
  model?: string;
  /** Prediction logs: only rows logged at or after this time. */
  since?: Date;
  onEvent?: (event: { type: 'progress'; message: string }) => void;
  /** For s3:// data: the environment holding AWS_* and AWS_ENDPOINT_URL_S3 (the registry's S3 settings). */
  env?: Readonly<Record<string, string | undefined>>;
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

/** Integer columns with at most this many distinct values get chi-square in --test auto. */
export const LOW_CARDINALITY = 5;
/** Fewer non-missing values than this in either file: the feature's test is flagged as too small. */
export const MIN_SAMPLE = 30;
/**
 * Rows kept per file. Peak RSS measured with 20 numeric columns, both files 3M rows of gzip CSV
 * (over the cap): 473 MB at 1,000,000, 798 MB at 2,000,000 (8 bytes a value in two worker
 * threads, the sort's scratch, Node's baseline). 1M leaves room under 1 GB for string columns,
 * and KS on 1M values already sees a 0.005-SD shift. test/e2e/drift-memory.test.ts holds it.
 */
export const DEFAULT_MAX_ROWS = 1_000_000;
/** The documented bound on peak memory at the default cap, for 20 columns. */
export const DEFAULT_MAX_ROWS_PEAK_MB = 1024;

export const P_VALUE_TESTS = new Set<DriftTest>(['ks', 'chi2']);
export function fitsKind(test: DriftTest, kind: ColumnKind): boolean {
  if (test === 'ks' || test === 'wasserstein') return kind === 'numeric';
  if (test === 'chi2') return kind === 'categorical';
  return true;
}

export function autoTest(kind: ColumnKind): DriftTest {
  return kind === 'numeric' ? 'ks' : 'chi2';
}

export function testLabel(test: DriftTest): string {
  return { ks: 'KS', chi2: 'chi-square', psi: 'PSI', wasserstein: 'Wasserstein/SD', jensenshannon: 'Jensen-Shannon' }[test];
}

export interface ResolvedOptions {
  test: DriftTestOption;
  correction: Correction;
  thresholds: Record<DriftTest, number>;
  driftShare: number | null;
  minEffect: number | null;
  maxRows: number;
}

export function resolveOptions(options: DriftCheckOptions): ResolvedOptions {
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
  const maxRows = options.maxRows ?? DEFAULT_MAX_ROWS;
  if (!Number.isInteger(maxRows) || maxRows < MIN_SAMPLE) {
    throw new UsageError(`max rows ${options.maxRows} is out of range`, `give a whole number of rows of at least ${MIN_SAMPLE}, e.g. ${DEFAULT_MAX_ROWS}`);
  }
  return { test, correction, thresholds, driftShare, minEffect, maxRows };
}

export function describeRule(resolved: ResolvedOptions, kinds: Set<ColumnKind>, missingTests = false): string {
  const { test, correction, thresholds, driftShare, minEffect } = resolved;
  const parts: string[] = [];
  const pValueTests = test === 'auto' || P_VALUE_TESTS.has(test);
  if (pValueTests) {
    const names = [kinds.has('numeric') ? 'KS' : '', kinds.has('categorical') ? 'chi-square' : ''].filter(Boolean).join(' and ');
    const adjusted = { bh: 'Benjamini-Hochberg adjusted', bonferroni: 'Bonferroni adjusted', none: 'unadjusted' }[correction];
    const effect = minEffect === null ? '' : ` and its effect (Wasserstein / reference SD, or Jensen-Shannon distance) is >= ${minEffect}`;
    const missing = missingTests ? ', or the share of its missing values differs (two-proportion test, same family)' : '';
    parts.push(`a feature drifts when its ${adjusted} ${names} p-value is <= ${thresholds.ks}${effect}${missing}`);
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

