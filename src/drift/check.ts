// checkDrift: compares a current data file with reference data, column by column, and decides
// whether the dataset drifted, with the false-alarm rate under control. Returns a DriftReport.
// How the tests are chosen and why the defaults: options.ts. Reading: read.ts; planning: plan.ts;
// per-feature statistics: features.ts; this file holds the verdict.
import { UsageError } from '../errors.js';
import type { DataFileInfo, ParsedData } from './data.js';
import { categoricalFeature, numericFeature, type FeatureDraft } from './features.js';
import { autoTest, describeRule, fitsKind, resolveOptions, testLabel, type DriftCheckOptions } from './options.js';
import { parseBoth } from './parse-both.js';
import { fileLabel, planColumns } from './plan.js';
import { sniffFile } from './sniff.js';
import { adjustPValues } from './stats.js';
import type { DatasetSummary, DriftReport, FeatureDrift } from './types.js';

export { CORRECTIONS, DEFAULT_THRESHOLDS, DRIFT_TEST_OPTIONS, DRIFT_TESTS, type DriftCheckOptions } from './options.js';

function summarize(info: DataFileInfo, data: ParsedData): DatasetSummary {
  return { path: info.path, format: info.format, gzip: info.gzip, rows: data.rows, shadowRowsSkipped: data.shadowRows, otherRowsSkipped: data.otherRows };
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
