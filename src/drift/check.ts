// checkDrift: compares a current data file with reference data, column by column, and decides
// whether the dataset drifted, with the false-alarm rate under control. Returns a DriftReport.
// How the tests are chosen and why the defaults: options.ts. Reading: read.ts; planning: plan.ts;
// per-feature statistics: features.ts; this file holds the verdict.
import { UsageError } from '../errors.js';
import type { DataFileInfo, ParsedData } from './data.js';
import { categoricalFeature, integerCounts, missingShareTest, numericFeature, type FeatureDraft } from './features.js';
import { LOW_CARDINALITY, MIN_SAMPLE, autoTest, describeRule, fitsKind, resolveOptions, testLabel, type DriftCheckOptions } from './options.js';
import { parseBoth } from './parse-both.js';
import { fileLabel, planColumns } from './plan.js';
import { sniffFile } from './sniff.js';
import { adjustPValues } from './stats.js';
import type { DatasetSummary, DriftReport, FeatureDrift, MissingTest } from './types.js';

export { CORRECTIONS, DEFAULT_MAX_ROWS, DEFAULT_MAX_ROWS_PEAK_MB, DEFAULT_THRESHOLDS, LOW_CARDINALITY, MIN_SAMPLE, DRIFT_TEST_OPTIONS, DRIFT_TESTS, type DriftCheckOptions } from './options.js';

function summarize(info: DataFileInfo, data: ParsedData): DatasetSummary {
  return {
    path: info.path,
    format: info.format,
    gzip: info.gzip,
    rows: data.rows,
    sampledRows: data.sampledRows,
    shadowRowsSkipped: data.shadowRows,
    otherRowsSkipped: data.otherRows,
  };
}

/** "tested on a uniform sample of N of M rows", when a file had more rows than --max-rows. */
function sampleNote(role: string, data: ParsedData): string | undefined {
  if (data.sampledRows >= data.rows) return undefined;
  return `${role}: tested on a uniform sample of ${data.sampledRows} of ${data.rows} rows (--max-rows ${data.sampledRows}); missing-value shares use every row`;
}

/** Compares the current data with the reference data; throws UsageError / NotFoundError on bad input. */
export async function checkDrift(options: DriftCheckOptions): Promise<DriftReport> {
  const resolved = resolveOptions(options);
  const progress = (message: string): void => options.onEvent?.({ type: 'progress', message });

  const [referenceInfo, currentInfo] = await Promise.all([
    sniffFile(options.reference, 'reference', 'reference', options.env),
    sniffFile(options.current, 'current', 'current', options.env),
  ]);
  const plan = planColumns(referenceInfo, currentInfo, options);
  plan.reference.maxRows = resolved.maxRows;
  plan.current.maxRows = resolved.maxRows;
  plan.reference.env = options.env;
  plan.current.env = options.env;
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
    // Few distinct integers: chi-square on the value counts (see options.ts).
    const lowCardinality =
      kind === 'numeric' && resolved.test === 'auto' ? integerCounts(ref.sorted!, cur.sorted!, LOW_CARDINALITY) : undefined;
    if (lowCardinality) {
      const draft = categoricalFeature(
        name,
        { ...ref, kind: 'categorical', counts: lowCardinality[0] },
        { ...cur, kind: 'categorical', counts: lowCardinality[1] },
        'chi2',
        resolved.thresholds.chi2,
      );
      draft.kind = 'numeric';
      draft.note = `integer column with ${new Set([...lowCardinality[0], ...lowCardinality[1]].map(([v]) => v)).size} distinct values (at most ${LOW_CARDINALITY}): chi-square on the value counts`;
      return draft;
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

  // Missing-value shares: a test per feature where either file has a missing value.
  const missingTests = plan.compared.map((_, index) => {
    const refMissing = reference.columns[index]!.missing;
    const curMissing = current.columns[index]!.missing;
    if (refMissing + curMissing === 0) return undefined;
    return missingShareTest(refMissing, reference.rows, curMissing, current.rows);
  });

  // One multiple-testing family: the value tests with p-values and the missing-share tests.
  const family: number[] = [];
  const valueIndex = drafts.map((draft) => (draft.pValue !== null ? family.push(draft.pValue) - 1 : -1));
  const missingIndex = missingTests.map((test) => (test ? family.push(test.pValue) - 1 : -1));
  const adjusted = adjustPValues(family, resolved.correction);
  const alpha = resolved.thresholds.ks;

  const warnings: string[] = [];
  const features: FeatureDrift[] = drafts.map((draft, index) => {
    const adjustedPValue = valueIndex[index]! >= 0 ? adjusted[valueIndex[index]!]! : null;
    let drifted = adjustedPValue !== null ? adjustedPValue <= draft.threshold : draft.statistic >= draft.threshold;
    const notes = draft.note ? [draft.note] : [];
    if (drifted && adjustedPValue !== null && resolved.minEffect !== null) {
      const effect = draft.stats.kind === 'numeric' ? draft.stats.wassersteinNormalized : draft.stats.jensenShannon;
      if (effect < resolved.minEffect) {
        drifted = false;
        notes.push(`significant, but its effect ${effect.toPrecision(3)} is below --min-effect ${resolved.minEffect}`);
      }
    }
    const shares = missingTests[index];
    let missingTest: MissingTest | undefined;
    if (shares) {
      const missingAdjusted = adjusted[missingIndex[index]!]!;
      missingTest = { ...shares, adjustedPValue: missingAdjusted, drifted: missingAdjusted <= alpha };
      if (missingTest.drifted) {
        notes.push(`missing values went from ${percent(shares.referenceShare)} to ${percent(shares.currentShare)} of rows`);
        drifted = true;
      }
    }
    const smallSample = Math.min(draft.sampleSize.reference, draft.sampleSize.current) < MIN_SAMPLE;
    if (smallSample) {
      const which = draft.sampleSize.current < MIN_SAMPLE ? 'current' : 'reference';
      warnings.push(
        `'${draft.name}': only ${draft.sampleSize[which]} non-missing ${which} values; ${testLabel(draft.test)} needs at least ${MIN_SAMPLE} to find anything but a gross difference`,
      );
    }
    const note = notes.join('; ');
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
      ...(missingTest ? { missingTest } : {}),
      ...(smallSample ? { smallSample } : {}),
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

  const notes = [sampleNote('reference', reference), sampleNote('current', current), ...plan.notes].filter((n): n is string => n !== undefined);
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
      maxRows: resolved.maxRows,
      description: describeRule(resolved, kinds, missingTests.some(Boolean)),
    },
    summary: { features: features.length, drifted: driftedFeatures.length, share, driftedFeatures },
    features,
    notes,
    warnings,
  };
}

function percent(share: number): string {
  return `${(share * 100).toPrecision(3).replace(/\.?0+$/, '')}%`;
}
