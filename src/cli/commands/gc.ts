// mlops gc [--dry-run] [--grace 1h]: remove blobs no version record references.
import type { CommandDef } from '../command.js';
import { openRegistry } from './registry-support.js';

export const gcCommand: CommandDef = {
  name: 'gc',
  summary: 'remove blobs no version references (blobs younger than the grace period are kept: safe beside a running register)',
  options: [
    { flags: '--dry-run', description: 'list what would be removed; change nothing' },
    { flags: '--grace <duration>', description: 'never remove a blob younger than this (30m, 1h, 2d)', default: '1h' },
  ],
  examples: ['mlops gc --dry-run', 'mlops gc', 'mlops gc --grace 0s   # only when no register can be running'],
  async run(ctx, _args, options) {
    const { collectGarbage, parseDuration } = await import('../../registry/gc.js');
    const graceMs = parseDuration(String(options.grace ?? '1h'), '--grace');
    const result = await collectGarbage(await openRegistry(ctx), { now: ctx.now, graceMs, dryRun: Boolean(options.dryRun) });
    if (ctx.ui.json) return ctx.ui.printJson(result);
    for (const r of result.removed) ctx.ui.out(`${result.dry_run ? 'would remove' : 'removed'} blobs/sha256/${r.sha256} (${r.size} bytes)`);
    if (result.kept.length) ctx.ui.info(`kept ${result.kept.length} unreferenced blob${result.kept.length === 1 ? '' : 's'} (younger than ${options.grace ?? '1h'} or named by a running register)`);
    ctx.ui.success(`${result.dry_run ? 'would free' : 'freed'} ${result.freed_bytes} bytes: ${result.removed.length} of ${result.blobs} blobs unreferenced, ${result.referenced} in use`);
  },
};
