// mlops tag NAME@VERSION k=v ... [--rm k]: edit a version's tags after registration.
import type { CommandDef } from '../command.js';
import { UsageError } from '../../errors.js';
import { parseModelRef } from '../../registry/names.js';
import { openRegistry } from './registry-support.js';

export const tagCommand: CommandDef = {
  name: 'tag',
  summary: "set or remove a version's tags (audited; the version record stays immutable)",
  arguments: [
    { name: 'ref', description: 'NAME@VERSION or NAME@ALIAS', required: true },
    { name: 'pairs', description: 'KEY=VALUE pairs to set', variadic: true },
  ],
  options: [{ flags: '--rm <key>', description: 'remove this tag (repeatable)', repeatable: true }],
  examples: ['mlops tag fraud@v1.2.0 team=risk reviewed=yes', 'mlops tag fraud@champion --rm reviewed'],
  async run(ctx, [refText, ...rest], options) {
    const { tagVersion, parseTagEdit } = await import('../../registry/lifecycle.js');
    const { name, ref } = parseModelRef(refText!);
    if (!ref) throw new UsageError(`'${refText}' names no version`, `write NAME@VERSION, e.g. mlops tag ${name}@v1.0.0 team=risk`);
    const pairs = rest.flat();
    const edit = parseTagEdit(pairs, (options.rm as string[] | undefined) ?? []);
    const registry = await openRegistry(ctx);
    const version = (await registry.resolve(name, ref)).version;
    const result = await tagVersion(registry, name, version, edit, { user: ctx.user, now: ctx.now });
    if (ctx.ui.json) return ctx.ui.printJson(result);
    const tags = Object.entries(result.tags).map(([k, v]) => `${k}=${v}`).join(' ');
    ctx.ui.success(`${result.name} ${result.version} tags: ${tags || '(none)'}`);
  },
};
