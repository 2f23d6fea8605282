// mlops experiment start|set|stop|show|conclude NAME: a model's live A/B experiment and
// shadow, kept in the registry so that every `mlops serve NAME` following it routes alike.
import { resolve } from 'node:path';
import { CheckFailedError } from '../../errors.js';
import type { LiveExperiment } from '../../registry/experiment-state.js';
import { commaList, numberFlag, type CommandDef } from '../command.js';
import type { Ctx } from '../context.js';
import { openRegistry } from './registry-support.js';

const variantOption = { flags: '--variant <version=weight>', description: 'a variant and its weight: a version, a stage or @alias (repeatable; two or more)', repeatable: true };
const shadowOptions = [
  { flags: '--shadow <version>', description: 'copy a sampled fraction of requests to this version (answers unchanged)' },
  { flags: '--shadow-fraction <x>', description: 'share of requests copied to the shadow, sampled by request id (default 0.1)' },
];

function describe(experiment: LiveExperiment): string[] {
  const total = experiment.variants.reduce((s, v) => s + v.weight, 0);
  const lines = experiment.variants.map(
    (v) => `  ${v.version.padEnd(12)} weight ${String(v.weight).padStart(5)}  (${((v.weight / total) * 100).toFixed(1)}%)${v.ref !== v.version ? `  from ${v.ref}` : ''}`,
  );
  if (experiment.shadow) lines.push(`  shadow ${experiment.shadow.version} on ${(experiment.shadow.fraction * 100).toFixed(1)}% of requests`);
  lines.push(`  sticky by ${experiment.sticky ?? 'user_id'}; started ${experiment.started_at} by ${experiment.started_by}`);
  return lines;
}

async function changeFrom(options: Record<string, unknown>) {
  const { parseVariantFlag } = await import('../../registry/experiment-state.js');
  const variants = (options.variant as string[] | undefined)?.map(parseVariantFlag);
  const fraction = options.shadowFraction === undefined ? undefined : numberFlag(options.shadowFraction, '--shadow-fraction', { min: 0.0001, max: 1, example: '0.1' });
  // commander: --no-shadow makes `shadow` false; --shadow V makes it a string.
  const shadow = options.shadow === false ? null : typeof options.shadow === 'string' ? options.shadow : undefined;
  return {
    ...(variants ? { variants } : {}),
    ...(shadow !== undefined ? { shadow } : {}),
    ...(fraction !== undefined ? { shadowFraction: fraction } : {}),
    ...(typeof options.sticky === 'string' ? { sticky: options.sticky } : {}),
  };
}

function printChange(ctx: Ctx, text: string, experiment: LiveExperiment | undefined, result: unknown): void {
  if (ctx.ui.json) return ctx.ui.printJson(result);
  ctx.ui.success(text);
  if (experiment) for (const line of describe(experiment)) ctx.ui.out(line);
}

export const experimentCommand: CommandDef = {
  name: 'experiment',
  summary: "a model's live A/B experiment and shadow, followed by every `mlops serve NAME`",
  subcommands: [
    {
      name: 'start',
      summary: 'start routing traffic between versions (sticky per user) and optionally shadow one',
      arguments: [{ name: 'name', description: 'model name', required: true }],
      options: [
        variantOption,
        ...shadowOptions,
        { flags: '--name <experiment>', description: "the experiment's name in logs and the sticky hash (default: the model's)" },
        { flags: '--sticky <field>', description: 'the body field naming the user (then parameters.FIELD, then the X-User-Id header)', default: 'user_id' },
      ],
      examples: [
        'mlops experiment start fraud --variant v1.0.0=90 --variant v1.1.0=10',
        'mlops experiment start fraud --variant production=90 --variant @challenger=10 --shadow v1.2.0 --shadow-fraction 0.1',
      ],
      async run(ctx, [name], options) {
        const registry = await openRegistry(ctx);
        const { startExperiment } = await import('../../registry/experiment-state.js');
        const change = await changeFrom(options);
        const result = await startExperiment(
          registry,
          name!,
          { ...change, variants: change.variants ?? [], ...(typeof options.name === 'string' ? { experimentName: options.name } : {}) },
          { user: ctx.user, now: ctx.now },
        );
        printChange(ctx, `${name}: experiment started`, result.experiment, result);
      },
    },
    {
      name: 'set',
      summary: 're-weight the variants (users keep theirs unless their bucket moves) or change the shadow',
      arguments: [{ name: 'name', description: 'model name', required: true }],
      options: [variantOption, ...shadowOptions, { flags: '--no-shadow', description: 'remove the shadow' }],
      examples: [
        'mlops experiment set fraud --variant v1.0.0=50 --variant v1.1.0=50',
        'mlops experiment set fraud --shadow v1.2.0 --shadow-fraction 0.1',
        'mlops experiment set fraud --no-shadow',
      ],
      async run(ctx, [name], options) {
        const registry = await openRegistry(ctx);
        const { setExperiment } = await import('../../registry/experiment-state.js');
        const result = await setExperiment(registry, name!, await changeFrom(options), { user: ctx.user, now: ctx.now });
        printChange(ctx, `${name}: experiment changed`, result.experiment, result);
      },
    },
    {
      name: 'stop',
      summary: 'stop the experiment: production takes all the traffic again',
      arguments: [{ name: 'name', description: 'model name', required: true }],
      examples: ['mlops experiment stop fraud'],
      async run(ctx, [name]) {
        const registry = await openRegistry(ctx);
        const { stopExperiment } = await import('../../registry/experiment-state.js');
        const result = await stopExperiment(registry, name!, { user: ctx.user, now: ctx.now });
        printChange(ctx, `${name}: experiment stopped; production takes all the traffic`, undefined, result);
      },
    },
    {
      name: 'show',
      summary: "the model's running experiment, if any",
      arguments: [{ name: 'name', description: 'model name', required: true }],
      examples: ['mlops experiment show fraud', 'mlops experiment show fraud --json'],
      async run(ctx, [name]) {
        const registry = await openRegistry(ctx);
        const { showExperiment } = await import('../../registry/experiment-state.js');
        const shown = await showExperiment(registry, name!);
        if (ctx.ui.json) return ctx.ui.printJson(shown);
        if (!shown.experiment) {
          ctx.ui.out(`${name}: no experiment running; production (${shown.production ?? 'none'}) takes all the traffic`);
          return;
        }
        ctx.ui.out(ctx.ui.c.bold(`${name}: experiment ${shown.experiment.name}`));
        for (const line of describe(shown.experiment)) ctx.ui.out(line);
      },
    },
    {
      name: 'conclude',
      summary: 'analyse the logs as `ab report` does; with a significant winner, stop (and promote it); else exit 1',
      arguments: [{ name: 'name', description: 'model name', required: true }],
      options: [
        { flags: '--log <path>', description: 'the prediction log, or a folder of them (one per replica)', default: 'predictions.jsonl' },
        { flags: '--metric <name>', description: 'what decides', default: 'accuracy', choices: ['accuracy', 'mean_outcome'] },
        { flags: '--min-samples <n>', description: 'labelled outcomes per variant before any test (default 30)' },
        { flags: '--alpha <x>', description: 'significance level', default: '0.05' },
        { flags: '--promote-winner', description: 'promote the winner to production (with the gates below) before stopping' },
        { flags: '--require <condition>', description: "promotion gate, as for promote, e.g. 'accuracy>=0.9' (repeatable)", repeatable: true },
        { flags: '--no-regress <metrics>', description: 'promotion gate: refuse if any of these metrics is worse than production' },
      ],
      examples: ['mlops experiment conclude fraud --log logs/ --promote-winner', 'mlops experiment conclude fraud --log predictions.jsonl --min-samples 200 --json'],
      async run(ctx, [name], options) {
        const registry = await openRegistry(ctx);
        const { concludeExperiment } = await import('../../experiment/conclude.js');
        const { parseRequirement } = await import('../../registry/promote.js');
        const minSamples = options.minSamples === undefined ? undefined : numberFlag(options.minSamples, '--min-samples', { min: 2, max: 1e9, example: '100' });
        const alpha = numberFlag(options.alpha, '--alpha', { min: 1e-9, max: 0.5, example: '0.05' });
        try {
          const result = await concludeExperiment(
            registry,
            name!,
            {
              log: resolve(ctx.cwd, String(options.log)),
              metric: options.metric as 'accuracy' | 'mean_outcome',
              alpha,
              ...(minSamples !== undefined ? { minSamples: Math.round(minSamples) } : {}),
              promoteWinner: Boolean(options.promoteWinner),
              require: ((options.require as string[] | undefined) ?? []).map(parseRequirement),
              ...(typeof options.regress === 'string' ? { noRegress: commaList(options.regress)! } : {}),
            },
            { user: ctx.user, now: ctx.now },
          );
          if (ctx.ui.json) return ctx.ui.printJson(result);
          ctx.ui.out(`verdict: ${result.verdict}`);
          if (result.promotion) ctx.ui.success(`${name} ${result.winner} promoted to production`);
          else ctx.ui.out(`winner: ${result.winner}${options.promoteWinner ? ' (already production)' : ' (not promoted: pass --promote-winner)'}`);
          ctx.ui.success(`${name}: experiment stopped`);
        } catch (error) {
          // No winner: the verdict and the sample still needed, on stdout, then exit 1 through main.
          if (error instanceof CheckFailedError && error.code === 'no_winner' && !ctx.ui.json) {
            const details = error.details as { verdict: string } | undefined;
            if (details) ctx.ui.out(`verdict: ${details.verdict}`);
          }
          throw error;
        }
      },
    },
  ],
};
