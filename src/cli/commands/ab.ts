// mlops ab report: per-variant counts and metrics from the prediction log and feedback,
// the difference with a confidence interval, a p-value and a plain verdict.
import { resolve } from 'node:path';
import { numberFlag, type CommandDef } from '../command.js';

const pct = (x: number | undefined) => (x === undefined ? '-' : `${(x * 100).toFixed(1)}%`);

export const abCommand: CommandDef = {
  name: 'ab',
  summary: 'A/B test analysis',
  subcommands: [
    {
      name: 'report',
      summary: 'compare the variants of an A/B test from the prediction log and feedback',
      options: [
        { flags: '--log <path>', description: 'the prediction log written by mlops serve --log, or a folder of them (one per replica: feedback is joined across them)', default: 'predictions.jsonl' },
        { flags: '--experiment <name>', description: 'which experiment, when the log holds several (default: the model name for --ab)' },
        { flags: '--alpha <x>', description: 'significance level', default: '0.05' },
        { flags: '--control <variant>', description: 'the baseline variant (default: the one with most requests)' },
      ],
      examples: ['mlops ab report --log predictions.jsonl', 'mlops ab report --log /var/log/mlops/predictions.jsonl --experiment fraud --json'],
      async run(ctx, _args, options) {
        const alpha = numberFlag(options.alpha, '--alpha', { min: 1e-9, max: 0.5, example: '0.05' });
        const { analyzeExperiment } = await import('../../experiment/index.js');
        const report = await analyzeExperiment(resolve(ctx.cwd, String(options.log)), {
          experiment: options.experiment as string | undefined,
          control: options.control as string | undefined,
          alpha,
        });
        if (ctx.ui.json) return ctx.ui.printJson(report);
        const { ui } = ctx;
        ui.out(ui.c.bold(`experiment ${report.experiment}${report.model ? ` (model ${report.model})` : ''}`));
        ui.table(
          report.variants.map((v) => ({
            variant: v.variant,
            requests: String(v.requests),
            labelled: String(v.labelled),
            accuracy: pct(v.accuracy),
            precision: pct(v.precision),
            recall: pct(v.recall),
            f1: pct(v.f1),
            outcome: v.meanOutcome === undefined ? '-' : v.meanOutcome.toFixed(4),
          })),
          [
            { key: 'variant', header: 'VARIANT' },
            { key: 'requests', header: 'REQUESTS', align: 'right' },
            { key: 'labelled', header: 'FEEDBACK', align: 'right' },
            { key: 'accuracy', header: 'ACCURACY', align: 'right' },
            { key: 'precision', header: 'PRECISION', align: 'right' },
            { key: 'recall', header: 'RECALL', align: 'right' },
            { key: 'f1', header: 'F1', align: 'right' },
            { key: 'outcome', header: 'MEAN OUTCOME', align: 'right' },
          ],
        );
        for (const c of report.comparisons) {
          const scale = c.metric === 'accuracy' ? 100 : 1;
          const unit = c.metric === 'accuracy' ? ' pts' : '';
          ui.out(
            `${c.treatment} vs ${c.control}: ${c.metric} ${(c.difference * scale).toFixed(2)}${unit} ` +
              `[${(c.ci[0] * scale).toFixed(2)}, ${(c.ci[1] * scale).toFixed(2)}] (${Math.round((1 - c.alpha) * 100)}% CI), ${c.test}, p=${c.pValue < 1e-4 ? c.pValue.toExponential(1) : c.pValue.toFixed(4)}`,
          );
        }
        for (const s of report.shadows) {
          const ms = (x: number | undefined) => (x === undefined ? '-' : `${x.toFixed(2)} ms`);
          ui.out(`shadow ${s.version}: ${s.compared} of ${s.rows} rows compared, agreement ${pct(s.agreement)}, mean |score diff| ${s.meanAbsScoreDiff === undefined ? '-' : s.meanAbsScoreDiff.toFixed(4)}, latency ${ms(s.meanLatencyMs)} (answer ${ms(s.primaryMeanLatencyMs)})`);
        }
        ui.out(ui.c.bold(`verdict: ${report.verdict}`));
      },
    },
  ],
};
