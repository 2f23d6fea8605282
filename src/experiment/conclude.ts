// `mlops experiment conclude`: the `ab report` analysis of a live experiment's logs (every
// replica's), and, only when it names a winner on a large enough sample, the end of the
// experiment: the winner promoted (through promote and its gates) and the experiment stopped.
import { CheckFailedError, NotFoundError, UsageError } from '../errors.js';
import { experimentOf, stopExperiment, type ExperimentMeta, type LiveExperiment } from '../registry/experiment-state.js';
import { promote, type PromotionPlan, type Requirement } from '../registry/promote.js';
import type { Registry } from '../registry/registry.js';
import { analyzeExperiment, type AbReport, type Comparison } from './analyze.js';

export interface ConcludeOptions {
  log: string;
  metric?: 'accuracy' | 'mean_outcome';
  minSamples?: number;
  alpha?: number;
  promoteWinner?: boolean;
  require?: Requirement[];
  noRegress?: string[];
}

export interface ConcludeResult {
  model: string;
  experiment: LiveExperiment;
  report: AbReport;
  verdict: string;
  winner?: string;
  /** The promotion made (with --promote-winner and a winner that was not production). */
  promotion?: PromotionPlan;
  stopped: boolean;
  /** Labelled samples per variant still to collect (when there is no winner yet). */
  neededPerVariant?: number;
  moreRequestsPerVariant?: number;
}

/** The winner of the comparisons, or undefined: a treatment significantly better than the control, or the control better than every treatment. */
export function pickWinner(report: AbReport, metric: Comparison['metric']): string | undefined {
  const comparisons = report.comparisons.filter((c) => c.metric === metric);
  const treatments = report.variants.length - 1;
  if (treatments < 1 || comparisons.length < treatments) return undefined; // some comparison is still waiting for data
  const better = comparisons.filter((c) => c.significant && c.difference > 0).sort((a, b) => b.treatmentValue - a.treatmentValue);
  if (better.length) return better[0]!.treatment;
  if (comparisons.every((c) => c.significant && c.difference < 0)) return comparisons[0]!.control;
  return undefined;
}

export async function concludeExperiment(registry: Registry, name: string, options: ConcludeOptions, meta: ExperimentMeta): Promise<ConcludeResult> {
  const metric = options.metric ?? 'accuracy';
  if (metric !== 'accuracy' && metric !== 'mean_outcome')
    throw new UsageError(`--metric ${String(metric)} is not one ab report tests`, 'use --metric accuracy (labels) or --metric mean_outcome (numeric outcomes)');
  const { state } = await registry.readState(name);
  const experiment = experimentOf(state);
  if (!experiment) throw new NotFoundError(`${name} has no experiment running`, `see it with \`mlops experiment show ${name}\``, 'experiment_not_found');
  const report = await analyzeExperiment(options.log, {
    experiment: experiment.name,
    ...(options.minSamples !== undefined ? { minSamples: options.minSamples } : {}),
    ...(options.alpha !== undefined ? { alpha: options.alpha } : {}),
  });
  const winner = pickWinner(report, metric);
  const comparison = report.comparisons.find((c) => c.metric === metric);
  const waiting = {
    ...(comparison?.neededPerVariant !== undefined ? { neededPerVariant: comparison.neededPerVariant } : {}),
    ...(comparison?.moreRequestsPerVariant !== undefined ? { moreRequestsPerVariant: comparison.moreRequestsPerVariant } : {}),
  };
  const base = { model: name, experiment, report, verdict: report.verdict, stopped: false, ...waiting };
  if (!winner) {
    const metricNote = report.comparisons.length && !comparison ? ` (the log has ${report.comparisons[0]!.metric}, not ${metric})` : '';
    throw new CheckFailedError(
      `no winner in ${name}'s experiment yet: ${report.verdict}${metricNote}`,
      waiting.moreRequestsPerVariant
        ? `keep it running: about ${waiting.moreRequestsPerVariant.toLocaleString('en')} more requests per variant (${waiting.neededPerVariant?.toLocaleString('en')} labelled each)`
        : 'keep it running and collect more feedback, or stop it: mlops experiment stop ' + name,
      'no_winner',
      base,
    );
  }
  const version = report.variants.find((v) => v.variant === winner)?.versions[0] ?? experiment.variants.find((v) => v.name === winner)?.version ?? winner;
  let promotion: PromotionPlan | undefined;
  if (options.promoteWinner && state.production !== version) {
    promotion = await promote(
      registry,
      { name, version, to: 'production', ...(options.require ? { require: options.require } : {}), ...(options.noRegress ? { noRegress: options.noRegress } : {}) },
      { user: meta.user, now: meta.now },
    );
  }
  await stopExperiment(registry, name, meta, `concluded: ${winner} (${report.verdict})`);
  await registry.audit({
    at: meta.now().toISOString(),
    by: meta.user,
    action: 'experiment',
    model: name,
    version,
    event: 'conclude',
    winner,
    verdict: report.verdict,
    promoted: promotion !== undefined,
  });
  return { ...base, winner: version, ...(promotion ? { promotion } : {}), stopped: true };
}
