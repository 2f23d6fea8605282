// Per-feature statistics: the test's statistic and p-value, the informative distances, and the
// histograms the HTML report draws, for one numeric or categorical column.
import { ksProbability } from './ks.js';
import type { ParsedColumn } from './data.js';
import { chiSquare, ecdfDistances, jensenShannon, jensenShannonNumeric, meanShift, moments, psi, psiNumeric, quantile, upperBound } from './stats.js';
import type { CategoricalHistogram, DriftTest, FeatureDrift, NumericHistogram } from './types.js';

/** Pooled count under which a category joins "other" before chi-square (Cochran's rule of 5). */
const RARE_CATEGORY_COUNT = 5;
const NUMERIC_HISTOGRAM_BINS = 30;
const TOP_CATEGORIES = 20;

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

export interface FeatureDraft extends Omit<FeatureDrift, 'adjustedPValue' | 'drifted'> {
  drifted?: boolean;
}

export function numericFeature(name: string, ref: ParsedColumn, cur: ParsedColumn, test: DriftTest, threshold: number): FeatureDraft {
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

export function categoricalFeature(name: string, ref: ParsedColumn, cur: ParsedColumn, test: DriftTest, threshold: number): FeatureDraft {
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

/**
 * The value counts of a numeric column when every value is an integer and the two samples
 * together have at most `maxDistinct` distinct values; undefined otherwise (stops early).
 */
export function integerCounts(reference: Float64Array, current: Float64Array, maxDistinct: number): [Array<[string, number]>, Array<[string, number]>] | undefined {
  const distinct = new Set<number>();
  const runs = (sorted: Float64Array): Array<[string, number]> | undefined => {
    const out: Array<[string, number]> = [];
    let i = 0;
    while (i < sorted.length) {
      const value = sorted[i]!;
      if (!Number.isInteger(value)) return undefined;
      distinct.add(value);
      if (distinct.size > maxDistinct) return undefined;
      const end = upperBound(sorted, value);
      out.push([String(value), end - i]);
      i = end;
    }
    return out;
  };
  const ref = runs(reference);
  const cur = ref && runs(current);
  return ref && cur ? [ref, cur] : undefined;
}

/** The two-proportion test of the missing share (2 x 2 chi-square, no continuity correction). */
export function missingShareTest(referenceMissing: number, referenceRows: number, currentMissing: number, currentRows: number): { referenceShare: number; currentShare: number; statistic: number; pValue: number } {
  const chi = chiSquare([referenceMissing, referenceRows - referenceMissing], [currentMissing, currentRows - currentMissing]);
  return { referenceShare: referenceMissing / referenceRows, currentShare: currentMissing / currentRows, statistic: chi.statistic, pValue: chi.pValue };
}
