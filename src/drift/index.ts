// The drift capability: checkDrift (files in, DriftReport out), the HTML report, and the
// statistics behind it (KS, chi-square, distances, corrections) as pure functions, exported
// for drift's own tests and benchmarks: no other capability imports them.
export {
  checkDrift,
  CORRECTIONS,
  DEFAULT_MAX_ROWS,
  DEFAULT_MAX_ROWS_PEAK_MB,
  DEFAULT_THRESHOLDS,
  LOW_CARDINALITY,
  MIN_SAMPLE,
  DRIFT_TEST_OPTIONS,
  DRIFT_TESTS,
  type DriftCheckOptions,
} from './check.js';
export { renderHtmlReport } from './html.js';
export { ksPValue, ksProbability, ksStatistic, ksTwoSample, KS_EXACT_MAX_N, type KsMethod, type KsResult } from './ks.js';
export { kolmogorovSf } from './kolmogorov.js';
export { sortFloat64 } from './sort.js';
export {
  adjustPValues,
  benjaminiHochberg,
  binCounts,
  bonferroni,
  chiSquare,
  chiSquareSf,
  ecdfDistances,
  jensenShannon,
  jensenShannonNumeric,
  meanShift,
  moments,
  psi,
  psiNumeric,
  PSI_FLOOR,
  QUANTILE_BINS,
  quantileEdges,
  wasserstein,
  wassersteinNormalized,
  type ChiSquareResult,
  type Correction,
  type Moments,
} from './stats.js';
export type { ColumnKind, DataFormat } from './data.js';
export type {
  CategoricalHistogram,
  CategoricalStats,
  DatasetSummary,
  DriftReport,
  DriftRule,
  DriftTest,
  DriftTestOption,
  FeatureDrift,
  Histogram,
  NumericHistogram,
  NumericStats,
} from './types.js';
