// mlops describe NAME[@VERSION] "text": edit a description after registration.
import type { CommandDef } from '../command.js';
import { parseModelRef } from '../../registry/names.js';
import { openRegistry } from './registry-support.js';

export const describeCommand: CommandDef = {
  name: 'describe',
  summary: 'set the description of a version (NAME@VERSION) or of the model (NAME); audited',
  arguments: [
    { name: 'ref', description: 'NAME, NAME@VERSION or NAME@ALIAS', required: true },
    { name: 'text', description: 'the new description', required: true },
  ],
  examples: ['mlops describe fraud "Card-fraud scorer for EU traffic"', 'mlops describe fraud@v1.2.0 "retrained on March data"'],
  async run(ctx, [refText, text]) {
    const { describe } = await import('../../registry/lifecycle.js');
    const { name, ref } = parseModelRef(refText!);
    const registry = await openRegistry(ctx);
    const version = ref ? (await registry.resolve(name, ref)).version : undefined;
    const result = await describe(registry, name, version, text!, { user: ctx.user, now: ctx.now });
    if (ctx.ui.json) return ctx.ui.printJson(result);
    ctx.ui.success(`described ${result.name}${result.version ? ` ${result.version}` : ''}`);
  },
};
