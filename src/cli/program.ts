// The commander program: global flags, and one subcommand per CommandDef in the table
// below. Command modules keep heavy imports inside run(), so `mlops --help` stays fast.
import { Command, Option } from 'commander';
import type { CommandDef } from './command.js';
import type { Ctx, GlobalOptions } from './context.js';
import { COMMANDS } from './commands/index.js';

export interface ProgramHooks {
  /** Builds the Ctx once the global flags are known. */
  makeCtx: (globals: GlobalOptions) => Ctx;
  /** Receives each command's exit code. */
  setExitCode: (code: number) => void;
  writeOut: (text: string) => void;
  writeErr: (text: string) => void;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function addCommand(parent: Command, def: CommandDef, hooks: ProgramHooks): void {
  const command = parent.command(def.name).description(def.summary);
  for (const arg of def.arguments ?? []) {
    const spelled = `${arg.name}${arg.variadic ? '...' : ''}`;
    command.argument(arg.required ? `<${spelled}>` : `[${spelled}]`, arg.description);
  }
  for (const opt of def.options ?? []) {
    const option = new Option(opt.flags, opt.description);
    if (opt.choices) option.choices(opt.choices as string[]);
    if (opt.repeatable) option.argParser(collect);
    if (opt.default !== undefined) option.default(opt.default);
    command.addOption(option);
  }
  if (def.examples?.length) {
    command.addHelpText('after', `\nExamples:\n${def.examples.map((e) => `  $ ${e}`).join('\n')}\n`);
  }
  for (const sub of def.subcommands ?? []) addCommand(command, sub, hooks);
  const run = def.run;
  if (run) {
    command.action(async (...params: unknown[]) => {
      const cmd = params[params.length - 1] as Command;
      const options = cmd.opts();
      const globals = cmd.optsWithGlobals() as GlobalOptions;
      const args = (params.slice(0, -2) as Array<string | string[] | undefined>).flatMap((a) => (a === undefined ? [] : Array.isArray(a) ? a : [a]));
      const ctx = hooks.makeCtx(globals);
      const code = await run(ctx, args, options);
      hooks.setExitCode(code ?? 0);
    });
  }
}

export function buildProgram(hooks: ProgramHooks, commands: readonly CommandDef[] = COMMANDS): Command {
  const program = new Command('mlops')
    .description('Take ONNX models from a training run into production and keep them healthy there.')
    .option('--registry <dir>', 'registry folder (env MLOPS_REGISTRY; default ./mlops-registry)')
    .option('--json', 'print the result as one JSON document on stdout')
    .option('--no-color', 'no colour (also NO_COLOR=1)')
    .option('-q, --quiet', 'print only results and errors')
    .showSuggestionAfterError(true)
    .configureOutput({ writeOut: hooks.writeOut, writeErr: hooks.writeErr })
    .exitOverride()
    .addHelpText(
      'after',
      `
Examples:
  $ mlops init
  $ mlops register fraud model.onnx --metric accuracy=0.93 --reference-data train.csv
  $ mlops promote fraud v1.0.0 --to production --require 'accuracy>=0.9'
  $ mlops serve --port 8000
  $ mlops drift-check fraud --current today.csv
  $ mlops demo

\`mlops --version\` prints the version.
Exit codes: 0 ok, 1 a check found a problem, 2 usage or bad input, 3 not found,
4 external tool missing or failed, 130 interrupted.
`,
    );
  for (const def of commands) addCommand(program, def, hooks);
  // Subcommands inherit exitOverride and output settings from the root.
  const inherit = (cmd: Command) => {
    for (const sub of cmd.commands) {
      sub.exitOverride().configureOutput({ writeOut: hooks.writeOut, writeErr: hooks.writeErr }).showSuggestionAfterError(true);
      inherit(sub);
    }
  };
  inherit(program);
  return program;
}
