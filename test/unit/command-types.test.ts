// defineCommand: a handler's options and arguments are typed from their declarations
// (habit 18). The type assertions are checked by `npm run typecheck` (tsconfig.test.json);
// the runtime half parses real argv through buildProgram, so the types describe what
// commander actually hands over.
import { CommanderError } from 'commander';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { defineCommand, type CommandDef } from '../../src/cli/command.js';
import type { Ctx } from '../../src/cli/context.js';
import { buildProgram } from '../../src/cli/program.js';

const seen: { args: unknown; options: unknown }[] = [];

const exampleCommand = defineCommand({
  name: 'example',
  summary: 'every kind of flag',
  arguments: [
    { name: 'model-name', description: 'required', required: true },
    { name: 'version', description: 'optional' },
    { name: 'extras', description: 'the rest', variadic: true },
  ],
  options: [
    { flags: '--to <status>', description: 'a choice with a default', default: 'production', choices: ['staging', 'production'] },
    { flags: '--stage <status>', description: 'a choice without default', choices: ['staging', 'production'] },
    { flags: '--dry-run', description: 'a plain flag' },
    { flags: '-x, --very-quiet', description: 'with a short form' },
    { flags: '--no-watch', description: 'a negated flag' },
    { flags: '--no-regress <metrics>', description: 'a negated flag with a value' },
    { flags: '--image <repo[:tag]>', description: 'a value whose placeholder has brackets' },
    { flags: '--report [path]', description: 'an optional value' },
    { flags: '--metric <key=value...>', description: 'variadic' },
    { flags: '--tag <key=value>', description: 'repeatable', repeatable: true },
    { flags: '--namespace <ns>', description: 'with a default', default: 'default' },
  ],
  run: async (_ctx, args, options) => {
    expectTypeOf(args).toEqualTypeOf<{ modelName: string; version: string | undefined; extras: string[] }>();
    expectTypeOf(options.to).toEqualTypeOf<'staging' | 'production'>();
    expectTypeOf(options.stage).toEqualTypeOf<'staging' | 'production' | undefined>();
    expectTypeOf(options.dryRun).toEqualTypeOf<boolean | undefined>();
    expectTypeOf(options.veryQuiet).toEqualTypeOf<boolean | undefined>();
    expectTypeOf(options.watch).toEqualTypeOf<boolean>();
    expectTypeOf(options.regress).toEqualTypeOf<string | true>();
    expectTypeOf(options.image).toEqualTypeOf<string | undefined>();
    expectTypeOf(options.report).toEqualTypeOf<string | true | undefined>();
    expectTypeOf(options.metric).toEqualTypeOf<string[] | undefined>();
    expectTypeOf(options.tag).toEqualTypeOf<string[] | undefined>();
    expectTypeOf(options.namespace).toEqualTypeOf<string>();
    // @ts-expect-error a misspelt option name does not compile
    void options.dryrun;
    // @ts-expect-error nor does a misspelt argument name
    void args.modelname;
    seen.push({ args, options });
    return 0;
  },
});

// The old untyped form keeps compiling next to it.
const untypedCommand: CommandDef = {
  name: 'untyped',
  summary: 'options as a record',
  options: [{ flags: '--anything <x>', description: 'x' }],
  run: async (_ctx, args, options) => {
    seen.push({ args, options });
  },
};

async function parse(argv: string[]): Promise<{ args: unknown; options: unknown }> {
  seen.length = 0;
  const program = buildProgram({ makeCtx: () => ({}) as Ctx, setExitCode: () => undefined, writeOut: () => undefined, writeErr: () => undefined }, [
    exampleCommand,
    untypedCommand,
  ]);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) throw new Error(`commander refused ${argv.join(' ')}: ${error.message}`, { cause: error });
    throw error;
  }
  expect(seen).toHaveLength(1);
  return seen[0]!;
}

describe('defineCommand', () => {
  it('hands over defaults, and leaves absent flags undefined', async () => {
    const { args, options } = await parse(['example', 'fraud']);
    expect(args).toEqual({ modelName: 'fraud', version: undefined, extras: [] });
    expect(options).toEqual({ to: 'production', watch: true, regress: true, namespace: 'default' });
  });

  it('hands over every kind of flag as its declared type says', async () => {
    const { args, options } = await parse([
      'example',
      'fraud',
      'v1.0.0',
      'a',
      'b',
      '--to',
      'staging',
      '--stage',
      'production',
      '--dry-run',
      '-x',
      '--no-watch',
      '--no-regress',
      'auc',
      '--image',
      'repo:1',
      '--report',
      '--metric',
      'a=1',
      'b=2',
      '--tag',
      't=1',
      '--tag',
      'u=2',
      '--namespace',
      'ml',
    ]);
    expect(args).toEqual({ modelName: 'fraud', version: 'v1.0.0', extras: ['a', 'b'] });
    expect(options).toEqual({
      to: 'staging',
      stage: 'production',
      dryRun: true,
      veryQuiet: true,
      watch: false,
      regress: 'auc',
      image: 'repo:1',
      report: true,
      metric: ['a=1', 'b=2'],
      tag: ['t=1', 'u=2'],
      namespace: 'ml',
    });
    expect((await parse(['example', 'fraud', '--report', 'r.html'])).options).toMatchObject({ report: 'r.html' });
  });

  it('leaves the untyped form as it was', async () => {
    expect(await parse(['untyped', '--anything', 'y'])).toEqual({ args: [], options: { anything: 'y' } });
  });
});
