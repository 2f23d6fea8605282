// mlops drift history NAME: the drift-check runs recorded with --record, per feature over time
// (adjusted p-value and effect), as a table, JSON, or an HTML trend report.
import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { parseDuration } from '../../durations.js';
import { writeFileAtomic } from '../../registry/fs.js';
import { defineCommand, type CommandDef } from '../command.js';

export const driftCommand: CommandDef = {
  name: 'drift',
  summary: 'drift over time',
  subcommands: [
    defineCommand({
      name: 'history',
      summary: 'per-feature p-value and effect of the checks recorded with drift-check --record',
      arguments: [{ name: 'model', description: 'the model NAME', required: true }],
      options: [
        { flags: '--since <time>', description: 'only checks since then: a duration (30d, 12h) or an ISO time', default: '30d' },
        { flags: '--report <file>', description: 'also write a self-contained HTML trend report' },
      ],
      examples: ['mlops drift history fraud', 'mlops drift history fraud --since 90d --report trend.html', 'mlops drift history fraud --json'],
      async run(ctx, { model }, options) {
        if (!model) throw new UsageError('drift history needs a model NAME', 'e.g. mlops drift history fraud');
        const text = options.since;
        const ms = parseDuration(text);
        const since = ms !== undefined ? new Date(ctx.now().getTime() - ms) : /^\d{4}-\d{2}-\d{2}/.test(text) && !Number.isNaN(Date.parse(text)) ? new Date(text) : undefined;
        if (!since) throw new UsageError(`--since ${text} is neither a duration nor a time`, 'e.g. --since 30d or --since 2026-11-01');
        const { readHistory } = await import('../../drift/history.js');
        const { Registry } = await import('../../registry/registry.js');
        const registry = await Registry.open(ctx.registryDir, { env: ctx.env });
        const history = await readHistory(registry.store, model, since);
        if (options.report) {
          const { renderHistoryHtml } = await import('../../drift/history-html.js');
          const path = resolve(ctx.cwd, options.report);
          await writeFileAtomic(path, renderHistoryHtml(history));
          ctx.ui.info(`wrote ${path}`);
        }
        for (const skipped of history.skipped) ctx.ui.warn(`skipped ${skipped.file}: ${skipped.reason}`);
        if (ctx.ui.json) return ctx.ui.printJson({ model, since: since.toISOString(), records: history.records, skipped: history.skipped });
        const { ui } = ctx;
        if (history.records.length === 0) {
          ui.out(`no drift checks recorded for ${model} since ${since.toISOString()} (record them with drift-check ${model} --record)`);
          return;
        }
        const fmt = (n: number | null | undefined) => (n === null || n === undefined ? '-' : n === 0 ? '0' : Math.abs(n) < 1e-3 ? n.toExponential(1) : n.toFixed(3));
        const names = [...new Set(history.records.flatMap((r) => r.features.map((f) => f.name)))];
        // One row per run, one column per feature: "adjusted p / effect", * when it drifted.
        ui.table(
          history.records.map((r) => ({
            time: r.time.slice(0, 19).replace('T', ' '),
            verdict: r.drift ? ui.c.red('drift') : ui.c.green('ok'),
            ...Object.fromEntries(
              names.map((name) => {
                const f = r.features.find((x) => x.name === name);
                return [name, f ? `${fmt(f.adjustedPValue ?? f.pValue)} / ${fmt(f.effect)}${f.drifted ? '*' : ''}` : '-'];
              }),
            ),
          })),
          [{ key: 'time', header: 'TIME (UTC)' }, { key: 'verdict', header: 'VERDICT' }, ...names.map((name) => ({ key: name, header: name.toUpperCase(), align: 'right' as const }))],
        );
        ui.info('each cell: adjusted p-value / effect (Wasserstein in reference SDs, or Jensen-Shannon distance); * drifted');
      },
    }),
  ],
};
