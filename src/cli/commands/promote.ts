// mlops promote NAME VERSION --to production: gated stage change (plan, then apply).
import { commaList, defineCommand } from '../command.js';
import { CheckFailedError } from '../../errors.js';
import { parseRequirement, preparePromotion, promote, type PromotionPlan } from '../../registry/promote.js';
import type { Ctx } from '../context.js';
import { openRegistry } from './registry-support.js';

function render(ctx: Ctx, plan: PromotionPlan, applied: boolean): void {
  const { ui } = ctx;
  for (const gate of plan.gates) ui.info(`${gate.passed ? ui.c.green('pass') : ui.c.red('FAIL')}  ${gate.message}`);
  if (!plan.passed) return;
  if (plan.changes.length === 0) {
    ui.info(`${plan.name} ${plan.version} is already ${plan.to}; nothing to do`);
    return;
  }
  for (const change of plan.changes) {
    const text = `${plan.name} ${change.version}: ${change.from} -> ${change.to}`;
    if (applied) ui.success(text);
    else ui.out(`would change ${text}`);
  }
}

export const promoteCommand = defineCommand({
  name: 'promote',
  summary: 'move a version to production (archiving the old one), staging or archived',
  arguments: [
    { name: 'name', description: 'model name', required: true },
    { name: 'version', description: 'the version to promote', required: true },
  ],
  options: [
    { flags: '--to <status>', description: 'target status', default: 'production', choices: ['production', 'staging', 'archived'] },
    { flags: '--require <condition>', description: "gate on this version's metric, e.g. 'accuracy>=0.9' (repeatable)", repeatable: true },
    { flags: '--no-regress <metrics>', description: 'refuse if any of these metrics (comma-separated) is worse than production' },
    { flags: '--against <ref>', description: '--no-regress compares with this alias or version instead of production (e.g. champion)' },
    { flags: '--dry-run', description: 'print the plan and the gate results; change nothing' },
  ],
  examples: [
    'mlops promote fraud v1.2.0',
    "mlops promote fraud v1.2.0 --require 'accuracy>=0.9' --require 'auc_roc>=0.85' --no-regress f1_score",
    'mlops promote fraud v1.1.0 --to archived',
    'mlops promote fraud v1.2.0 --dry-run --json',
  ],
  async run(ctx, { name, version }, options) {
    const registry = await openRegistry(ctx);
    const request = {
      name,
      version,
      to: options.to,
      require: (options.require ?? []).map(parseRequirement),
      // commander turns --no-regress into `regress`: true by default, a string when given.
      noRegress: typeof options.regress === 'string' ? commaList(options.regress) : undefined,
      ...(options.against !== undefined ? { against: String(options.against) } : {}),
    };
    if (options.dryRun) {
      const plan = await preparePromotion(registry, request);
      if (ctx.ui.json) ctx.ui.printJson({ dry_run: true, ...plan });
      else render(ctx, plan, false);
      return plan.passed ? 0 : 1;
    }
    try {
      const plan = await promote(registry, request, { user: ctx.user, now: ctx.now, onEvent: (e) => ctx.ui.warn(e.message) });
      if (ctx.ui.json) ctx.ui.printJson(plan);
      else render(ctx, plan, true);
    } catch (error) {
      if (error instanceof CheckFailedError && error.details && !ctx.ui.json) render(ctx, error.details as PromotionPlan, false);
      throw error;
    }
  },
});
