// mlops history NAME [--since 7d]: the model's audit events, newest first.
import type { CommandDef } from '../command.js';
import { validateName } from '../../registry/names.js';
import { openRegistry } from './registry-support.js';

export const historyCommand: CommandDef = {
  name: 'history',
  summary: "a model's audit events (register, promote, rollback, alias, tag, describe, delete, deploy), newest first",
  arguments: [{ name: 'name', description: 'model name', required: true }],
  options: [
    { flags: '--since <duration>', description: 'only events of this recent window (90m, 24h, 7d, 2w)' },
    { flags: '--limit <n>', description: 'at most this many events' },
  ],
  examples: ['mlops history fraud', 'mlops history fraud --since 7d --json'],
  async run(ctx, [name], options) {
    const { modelHistory } = await import('../../registry/history.js');
    const { parseDuration } = await import('../../registry/gc.js');
    const { parseLimit } = await import('../../registry/query.js');
    const registry = await openRegistry(ctx);
    validateName(name!);
    const events = await modelHistory(registry, name!, {
      now: ctx.now,
      ...(options.since !== undefined ? { sinceMs: parseDuration(String(options.since), '--since') } : {}),
      ...(options.limit !== undefined ? { limit: parseLimit(String(options.limit)) } : {}),
    });
    // A deleted model keeps its history; a name never used is not found.
    if (events.length === 0 && options.since === undefined) await registry.requireModel(name!, { names: true });
    if (ctx.ui.json) return ctx.ui.printJson(events);
    if (events.length === 0) return ctx.ui.info(`no events for ${name}${options.since ? ` in the last ${options.since}` : ''}`);
    for (const e of events) {
      const { at, by, action, model: _m, version, ...rest } = e;
      const detail = Object.entries(rest)
        .filter(([k]) => k !== 'sha256' && k !== 'reference_sha256')
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      ctx.ui.out(`${at}  ${action.padEnd(9)} ${(version || '-').padEnd(10)} by ${by}${detail ? `  ${detail}` : ''}`);
    }
  },
};
