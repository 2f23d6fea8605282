// mlops drift-check: compare current data with the reference stored at registration
// (or a --reference file). Exit 0 no drift, 1 drift, 2 bad input or a sample too small to
// say "no drift", 3 not found.
import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { parseDuration } from '../../durations.js';
import type { DriftReport } from '../../drift/types.js';
import { parseModelRef } from '../../registry/names.js';
import { Registry } from '../../registry/registry.js';
import { featureWidth } from '../../model/signature.js';
import { writeFileAtomic } from '../../registry/fs.js';
import { commaList, numberFlag, type CommandDef } from '../command.js';
import type { Ctx } from '../context.js';
import { loadChannels, renderAlertEvent, reportDeliveries } from './alert-support.js';

/** `--since 1h` (before now) or `--since 2026-11-25T00:00:00Z`. */
function sinceTime(text: string, now: Date): Date {
  const ms = parseDuration(text);
  if (ms !== undefined) return new Date(now.getTime() - ms);
  const at = Date.parse(text);
  if (Number.isNaN(at) || !/^\d{4}-\d{2}-\d{2}/.test(text)) throw new UsageError(`--since ${text} is neither a duration nor a time`, 'e.g. --since 1h, --since 30m or --since 2026-11-25T08:00:00Z');
  return new Date(at);
}

/** A URL (s3://...) is passed on as is; anything else is a path relative to the working folder. */
function dataLocation(cwd: string, text: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : resolve(cwd, text);
}

interface Target {
  model?: string;
  version?: string;
  reference: string;
  expectedColumns?: string[];
  expectedWidth?: number;
}

async function resolveTarget(ctx: Ctx, refText: string | undefined, referenceFlag: string | undefined): Promise<Target> {
  if (!refText) {
    if (!referenceFlag) throw new UsageError('drift-check needs a model (NAME[@VERSION]) or --reference FILE', 'e.g. mlops drift-check fraud --current today.csv');
    return { reference: dataLocation(ctx.cwd, referenceFlag) };
  }
  const { name, ref } = parseModelRef(refText);
  const registry = await Registry.open(ctx.registryDir, { env: ctx.env });
  const record = await registry.resolve(name, ref ?? 'production');
  const stored = referenceFlag ? undefined : await registry.referenceFile(record);
  if (!referenceFlag && !stored) {
    throw new UsageError(`${name} ${record.version} has no reference data`, `register it with --reference-data, or pass --reference FILE`, 'no_reference');
  }
  return {
    model: name,
    version: record.version,
    reference: referenceFlag ? dataLocation(ctx.cwd, referenceFlag) : stored!,
    expectedColumns: record.reference_data?.columns.map((c) => c.name),
    expectedWidth: featureWidth(record.signature),
  };
}

function render(ctx: Ctx, report: DriftReport, target: Target): void {
  const { ui } = ctx;
  const pct = (share: number) => `${Number((share * 100).toPrecision(3))}%`;
  const fmt = (n: number | null) => (n === null ? '-' : n === 0 ? '0' : Math.abs(n) < 1e-3 ? n.toExponential(2) : n.toFixed(4));
  ui.table(
    report.features.map((f) => ({
      feature: f.name,
      test: f.test,
      statistic: fmt(f.statistic),
      p: fmt(f.pValue),
      adjusted: fmt(f.adjustedPValue),
      threshold: String(f.threshold),
      effect: fmt(f.stats.kind === 'numeric' ? f.stats.wassersteinNormalized : f.stats.jensenShannon),
      missing: f.missingTest ? `${pct(f.missingTest.referenceShare)} -> ${pct(f.missingTest.currentShare)}${f.missingTest.drifted ? ' (drift)' : ''}` : '-',
      verdict: f.drifted ? ui.c.red('drift') : f.smallSample ? ui.c.yellow('too few') : ui.c.green('ok'),
    })),
    [
      { key: 'feature', header: 'FEATURE' },
      { key: 'test', header: 'TEST' },
      { key: 'statistic', header: 'STATISTIC', align: 'right' },
      { key: 'p', header: 'P-VALUE', align: 'right' },
      { key: 'adjusted', header: 'ADJUSTED', align: 'right' },
      { key: 'threshold', header: 'THRESHOLD', align: 'right' },
      { key: 'effect', header: 'EFFECT', align: 'right' },
      { key: 'missing', header: 'MISSING' },
      { key: 'verdict', header: 'VERDICT' },
    ],
  );
  const subject = target.model ? `${target.model} ${target.version}` : 'the data';
  ui.out('');
  ui.out(
    report.drift
      ? ui.c.red.bold(`DRIFT in ${subject}: ${report.summary.drifted} of ${report.summary.features} features (${report.summary.driftedFeatures.join(', ')})`)
      : ui.c.green.bold(`no drift in ${subject}: ${report.summary.drifted} of ${report.summary.features} features drifted`),
  );
  ui.info(`${report.rule.description}; reference ${report.reference.rows} rows, current ${report.current.rows} rows`);
  ui.info('EFFECT: Wasserstein distance in reference SDs (numbers), Jensen-Shannon distance base 2, 0..1 (categories)');
  for (const note of report.notes) ui.info(`note: ${note}`);
  for (const feature of report.features) {
    if (feature.note) ui.info(`note: '${feature.name}': ${feature.note}`);
  }
  for (const warning of report.warnings) ui.warn(warning);
}

export const driftCheckCommand: CommandDef = {
  name: 'drift-check',
  summary: 'compare current data with the reference data (exit 0 no drift, 1 drift, 2 bad input or too few rows, 3 not found)',
  arguments: [{ name: 'model', description: 'NAME or NAME@VERSION whose stored reference data to use (default: production)' }],
  options: [
    { flags: '--current <file>', description: 'current data: CSV with header, JSON lines, Parquet, or a serve prediction log (.gz too)' },
    { flags: '--reference <file>', description: "reference data instead of the version's stored sample" },
    { flags: '--features <names>', description: 'only these columns (comma-separated)' },
    { flags: '--categorical <names>', description: 'treat these columns as categories (comma-separated)' },
    { flags: '--test <test>', description: 'auto chooses per column; or one test for all', default: 'auto', choices: ['auto', 'ks', 'psi', 'wasserstein', 'chi2', 'jensenshannon'] },
    { flags: '--threshold <x>', description: 'alpha for ks/chi2 (default 0.01), distance for psi/wasserstein/jensenshannon (default 0.1)' },
    { flags: '--correction <method>', description: 'multiple-testing correction of p-values', default: 'bh', choices: ['bh', 'bonferroni', 'none'] },
    { flags: '--drift-share <x>', description: 'dataset drift only when at least this share of features drifted (default: any drifted feature)' },
    { flags: '--min-effect <x>', description: 'a significant feature drifts only if its effect reaches this too: Wasserstein in reference SDs (numbers) or Jensen-Shannon distance (categories), e.g. 0.05' },
    { flags: '--max-rows <n>', description: 'rows kept per file; a uniform random sample beyond, said in the output (default 1000000: under 1 GB peak for 20 columns)' },
    { flags: '--since <time>', description: 'prediction logs: only rows logged since then (a duration such as 1h or 24h, or an ISO time)' },
    { flags: '--report <file>', description: 'also write a self-contained HTML report' },
    { flags: '--record', description: "append this run's summary to the model's drift history in the registry (see mlops drift history)" },
    { flags: '--alert <channels>', description: 'on drift, alert these channels from mlops.yaml (comma-separated)' },
    { flags: '--alert-config <file>', description: 'alert channels file (default: mlops.yaml in the registry)' },
  ],
  examples: [
    'mlops drift-check fraud --current today.csv',
    'mlops drift-check fraud@v1.2.0 --current predictions.jsonl.gz --json',
    'mlops drift-check --reference train.csv --current today.csv --test psi --threshold 0.2',
    'mlops drift-check fraud --current today.csv --report drift.html --alert ops',
    'mlops drift-check fraud --current predictions.jsonl --since 1h --record   # hourly cron on the serve log',
    'mlops drift-check --reference train.parquet --current today.parquet --max-rows 200000',
  ],
  async run(ctx, [refText], options) {
    if (!options.current) throw new UsageError('--current FILE is required', 'e.g. mlops drift-check fraud --current today.csv');
    if (options.record && !refText) throw new UsageError('--record needs a model: the history is kept per model', 'e.g. mlops drift-check fraud --current today.csv --record');
    const target = await resolveTarget(ctx, refText, options.reference as string | undefined);
    // Channels are checked before the (possibly long) check: a typo should not cost a run.
    const alertNames = commaList(options.alert);
    let channels: Awaited<ReturnType<typeof loadChannels>> = [];
    if (alertNames) {
      const { selectChannels } = await import('../../alerts/config.js');
      channels = selectChannels(await loadChannels(ctx, options.alertConfig as string | undefined), alertNames, '--alert');
    }
    const { checkDrift, renderHtmlReport } = await import('../../drift/index.js');
    const spinner = await ctx.ui.spinner('checking drift');
    let report: DriftReport;
    try {
      report = await checkDrift({
        reference: target.reference,
        current: dataLocation(ctx.cwd, String(options.current)),
        features: commaList(options.features),
        categorical: commaList(options.categorical),
        expectedColumns: target.expectedColumns,
        expectedWidth: target.expectedWidth,
        test: options.test as DriftReport['rule']['test'],
        threshold: numberFlag(options.threshold, '--threshold', { min: 0, example: '0.01' }),
        correction: options.correction as DriftReport['rule']['correction'],
        driftShare: numberFlag(options.driftShare, '--drift-share', { min: 0, max: 1, example: '0.5' }),
        minEffect: numberFlag(options.minEffect, '--min-effect', { min: 0, example: '0.05' }),
        maxRows: numberFlag(options.maxRows, '--max-rows', { min: 30, integer: true, example: '1000000' }),
        model: target.model,
        since: options.since === undefined ? undefined : sinceTime(String(options.since), ctx.now()),
        onEvent: (event) => spinner.update(event.message),
      });
      spinner.stop();
      if (target.model && !options.reference) report.reference.description = `reference data of ${target.model} ${target.version}, stored at registration`;
    } catch (error) {
      spinner.fail('drift check failed');
      throw error;
    }
    if (options.report) {
      const path = resolve(ctx.cwd, String(options.report));
      await writeFileAtomic(path, renderHtmlReport(report));
      ctx.ui.info(`wrote ${path}`);
    }
    let recorded: string | undefined;
    if (options.record && target.model) {
      const { historyRecord, recordRun } = await import('../../drift/history.js');
      recorded = await recordRun(ctx.registryDir, historyRecord(report, target.model, target.version ?? null, ctx.now()));
      ctx.ui.info(`recorded in ${recorded}`);
    }
    if (ctx.ui.json) ctx.ui.printJson({ model: target.model ?? null, version: target.version ?? null, ...report, ...(recorded ? { recorded } : {}) });
    else render(ctx, report, target);
    if (report.drift && channels.length) {
      const { driftAlert } = await import('../../alerts/drift.js');
      const { sendAlert } = await import('../../alerts/send.js');
      const alert = driftAlert({
        model: target.model,
        version: target.version,
        drifted: true,
        nFeatures: report.summary.features,
        driftedFeatures: report.features.filter((f) => f.drifted).map((f) => ({ name: f.name, test: f.test, statistic: f.statistic, pValue: f.adjustedPValue ?? undefined })),
        ...(options.report ? { reportPath: resolve(ctx.cwd, String(options.report)) } : {}),
      });
      // A failed alert is reported and never changes the drift exit code.
      reportDeliveries(ctx, await sendAlert(channels, alert, { env: ctx.env, now: ctx.now, onEvent: (e) => e.type === 'alert.retry' && renderAlertEvent(ctx, e) }));
    }
    // Exit 1 on drift; else 2 when a feature's sample was too small to say "ok" (see drift/options.ts).
    return report.drift ? 1 : report.warnings.length > 0 ? 2 : 0;
  },
};
