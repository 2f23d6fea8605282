// mlops alias set NAME ALIAS VERSION | alias rm NAME ALIAS: named pointers (champion, challenger).
import type { CommandDef } from '../command.js';
import { openRegistry } from './registry-support.js';

export const aliasCommand: CommandDef = {
  name: 'alias',
  summary: 'point a named alias (champion, challenger) at a version, or remove it; NAME@ALIAS works wherever a version does',
  subcommands: [
    {
      name: 'set',
      summary: 'point ALIAS at VERSION (one compare-and-swap of the model state, one audit event)',
      arguments: [
        { name: 'name', description: 'model name', required: true },
        { name: 'alias', description: 'alias name (not production, staging, latest or archived)', required: true },
        { name: 'version', description: 'the version it points at', required: true },
      ],
      options: [
        { flags: '--expect <version>', description: "refuse unless the alias points at this version now; 'none' for unset" },
      ],
      examples: ['mlops alias set fraud champion v1.2.0', 'mlops alias set fraud challenger v1.3.0 --expect none'],
      async run(ctx, [name, alias, version], options) {
        const { setAlias } = await import('../../registry/lifecycle.js');
        const { normalizeVersion } = await import('../../registry/names.js');
        const expect = options.expect === undefined ? undefined : options.expect === 'none' ? null : normalizeVersion(String(options.expect));
        const change = await setAlias(await openRegistry(ctx), name!, alias!, version!, { user: ctx.user, now: ctx.now, expect });
        if (ctx.ui.json) return ctx.ui.printJson(change);
        ctx.ui.success(`${change.name}@${change.alias} -> ${change.version}${change.previous && change.previous !== change.version ? ` (was ${change.previous})` : ''}`);
      },
    },
    {
      name: 'rm',
      summary: 'remove an alias (the version stays)',
      arguments: [
        { name: 'name', description: 'model name', required: true },
        { name: 'alias', description: 'alias name', required: true },
      ],
      examples: ['mlops alias rm fraud challenger'],
      async run(ctx, [name, alias]) {
        const { removeAlias } = await import('../../registry/lifecycle.js');
        const change = await removeAlias(await openRegistry(ctx), name!, alias!, { user: ctx.user, now: ctx.now });
        if (ctx.ui.json) return ctx.ui.printJson(change);
        ctx.ui.success(`removed ${change.name}@${change.alias} (was ${change.previous})`);
      },
    },
  ],
};
