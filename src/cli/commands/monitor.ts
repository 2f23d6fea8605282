// mlops monitor check | rules: metric threshold checks for cron, and the same rules as
// a Prometheus alerting rules file.
import { resolve } from 'node:path';
import { writeFileAtomic } from '../../registry/fs.js';
import { commaList, defineCommand, type CommandDef } from '../command.js';
import type { Ctx } from '../context.js';
import { loadChannels, renderAlertEvent } from './alert-support.js';

async function rulesFrom(ctx: Ctx, file: string | undefined) {
  const { defaultRules, loadRules } = await import('../../monitor/rules.js');
  return file ? loadRules(resolve(ctx.cwd, file)) : defaultRules();
}

export const monitorCommand: CommandDef = {
  name: 'monitor',
  summary: 'metric threshold checks against Prometheus',
  subcommands: [
    defineCommand({
      name: 'check',
      summary: 'evaluate each rule against Prometheus, alert on those that fire (exit 1 if any fired or failed)',
      options: [
        { flags: '--prometheus <url>', description: 'Prometheus base URL', default: 'http://localhost:9090' },
        { flags: '--rules <file>', description: "rules YAML (default: mlops's built-in rules for serve's metrics)" },
        { flags: '--alert <channels>', description: 'channels for rules that name none (comma-separated)' },
        { flags: '--alert-config <file>', description: 'alert channels file (default: mlops.yaml in the registry)' },
        { flags: '--fail-on-no-data', description: 'also exit 1 when a rule has no data' },
        { flags: '--dry-run', description: 'evaluate and report; send no alerts' },
      ],
      examples: ['mlops monitor check --prometheus http://prometheus:9090 --rules rules.yaml', 'mlops monitor check --prometheus http://localhost:9090 --alert ops --json'],
      async run(ctx, _args, options) {
        const { checkRules } = await import('../../monitor/check.js');
        const rules = await rulesFrom(ctx, options.rules);
        const result = await checkRules({
          prometheusUrl: options.prometheus,
          rules,
          channels: await loadChannels(ctx, options.alertConfig),
          defaultChannels: commaList(options.alert),
          env: ctx.env,
          now: ctx.now,
          dryRun: Boolean(options.dryRun),
          onEvent: (event) => {
            if (event.type.startsWith('alert.')) renderAlertEvent(ctx, event as Parameters<typeof renderAlertEvent>[1]);
          },
        });
        const failed = result.fired > 0 || result.errors > 0 || (Boolean(options.failOnNoData) && result.noData > 0);
        if (ctx.ui.json) {
          ctx.ui.printJson({ ...result, rules: result.rules.map((r) => ({ ...r, values: r.values.map((v) => ({ labels: v.labels, value: v.text, crossed: v.crossed })) })) });
          return failed ? 1 : 0;
        }
        const { ui } = ctx;
        const colour = { ok: ui.c.green, firing: ui.c.red, error: ui.c.red, no_data: ui.c.yellow } as const;
        ui.table(
          result.rules.map((r) => ({ rule: r.name, status: colour[r.status](r.status), severity: r.severity, condition: `${r.op} ${r.threshold}`, detail: r.message })),
          [
            { key: 'rule', header: 'RULE' },
            { key: 'status', header: 'STATUS' },
            { key: 'severity', header: 'SEVERITY' },
            { key: 'condition', header: 'CONDITION' },
            { key: 'detail', header: 'DETAIL' },
          ],
        );
        ui.info(`${result.fired} fired, ${result.errors} failed, ${result.noData} without data, of ${result.rules.length} rules (Prometheus ${result.prometheusVersion} at ${result.prometheus})`);
        if (result.alertFailures) ui.warn(`${result.alertFailures} alert deliveries failed (see above)`);
        return failed ? 1 : 0;
      },
    }),
    defineCommand({
      name: 'rules',
      summary: 'write the rules as a Prometheus alerting rules file (for promtool check rules and Prometheus)',
      options: [
        { flags: '--rules <file>', description: "rules YAML (default: mlops's built-in rules for serve's metrics)" },
        { flags: '--out <file>', description: 'write here instead of stdout' },
        { flags: '--group <name>', description: 'rule group name', default: 'mlops' },
      ],
      examples: ['mlops monitor rules > mlops-rules.yml', 'mlops monitor rules --rules rules.yaml --out /etc/prometheus/rules/mlops.yml'],
      async run(ctx, _args, options) {
        const { renderPrometheusRules } = await import('../../monitor/rules-file.js');
        const rules = await rulesFrom(ctx, options.rules);
        const text = renderPrometheusRules(rules, { group: options.group, source: options.rules || 'mlops defaults' });
        if (!options.out) {
          if (ctx.ui.json) ctx.ui.printJson({ rules: rules.length, text });
          else ctx.ui.out(text.trimEnd());
          return;
        }
        const out = resolve(ctx.cwd, options.out);
        await writeFileAtomic(out, text);
        if (ctx.ui.json) ctx.ui.printJson({ rules: rules.length, out });
        else ctx.ui.success(`wrote ${rules.length} rules to ${out} (check: promtool check rules ${out})`);
      },
    }),
  ],
};
