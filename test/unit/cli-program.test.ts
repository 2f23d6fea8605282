// argv -> options: every command's declared flags parsed by the real commander program,
// with run() replaced by a recorder (habit 15's second layer). No capability runs.
import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import type { CommandDef } from '../../src/cli/command.js';
import { COMMANDS } from '../../src/cli/commands/index.js';
import type { Ctx, GlobalOptions } from '../../src/cli/context.js';
import { buildProgram } from '../../src/cli/program.js';

interface Call {
  command: string;
  args: string[];
  options: Record<string, unknown>;
  globals: GlobalOptions;
}

function recordingCommands(calls: Call[]): CommandDef[] {
  const wrap = (def: CommandDef, path: string): CommandDef => ({
    ...def,
    subcommands: def.subcommands?.map((sub) => wrap(sub, `${path} ${sub.name}`)),
    run: def.run
      ? async (ctx, args, options) => {
          calls.push({ command: path, args, options, globals: (ctx as unknown as { globals: GlobalOptions }).globals });
          return 0;
        }
      : undefined,
  });
  return COMMANDS.map((def) => wrap(def, def.name));
}

async function parse(argv: string[]): Promise<{ calls: Call[]; out: string; err: string; code?: number }> {
  const calls: Call[] = [];
  let out = '';
  let err = '';
  let code: number | undefined;
  const program = buildProgram(
    {
      makeCtx: (globals) => ({ globals }) as unknown as Ctx,
      setExitCode: (c) => (code = c),
      writeOut: (text) => (out += text),
      writeErr: (text) => (err += text),
    },
    recordingCommands(calls),
  );
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    code = error.exitCode;
  }
  return { calls, out, err, code };
}

describe('argv to options', () => {
  it('global flags work before and after the command', async () => {
    const before = await parse(['--registry', '/r', '--json', 'list', 'fraud']);
    const after = await parse(['list', 'fraud', '--registry', '/r', '--json', '--quiet', '--no-color']);
    expect(before.calls[0]).toMatchObject({ command: 'list', args: ['fraud'], globals: { registry: '/r', json: true } });
    expect(after.calls[0]!.globals).toMatchObject({ registry: '/r', json: true, quiet: true, color: false });
  });

  it('register: repeatable key=value flags, and --version belongs to the subcommand', async () => {
    const { calls } = await parse(['register', 'fraud', 'm.onnx', '--version', 'v1.2.0', '--metric', 'accuracy=0.9', '--metric', 'f1_score=0.8', '--tag', 'team=risk']);
    expect(calls[0]).toMatchObject({ args: ['fraud', 'm.onnx'], options: { version: 'v1.2.0', metric: ['accuracy=0.9', 'f1_score=0.8'], tag: ['team=risk'], referenceMaxRows: '50000' } });
  });

  it('promote: --to defaults to production, --require repeats, --no-regress takes a list', async () => {
    const plain = await parse(['promote', 'fraud', 'v1.0.0']);
    expect(plain.calls[0]!.options).toMatchObject({ to: 'production', regress: true });
    const gated = await parse(['promote', 'fraud', 'v1.0.0', '--require', 'accuracy>=0.9', '--require', 'auc_roc>=0.8', '--no-regress', 'f1_score', '--dry-run']);
    expect(gated.calls[0]!.options).toMatchObject({ require: ['accuracy>=0.9', 'auc_roc>=0.8'], regress: 'f1_score', dryRun: true });
    const bad = await parse(['promote', 'fraud', 'v1.0.0', '--to', 'heaven']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/Allowed choices are production, staging, archived/);
  });

  it('serve: variadic models, --no-watch, repeatable --shadow; numbers stay text for the command to check', async () => {
    const { calls } = await parse(['serve', 'fraud', 'churn@v1.0.0', '--no-watch', '--shadow', 'fraud@v2.0.0', '--shadow', 'fraud@v3.0.0', '--port', '0']);
    expect(calls[0]).toMatchObject({ args: ['fraud', 'churn@v1.0.0'], options: { watch: false, shadow: ['fraud@v2.0.0', 'fraud@v3.0.0'], port: '0' } });
  });

  it('drift-check, deploy, ab report, monitor check and alert test reach their run() with defaults', async () => {
    expect((await parse(['drift-check', 'fraud', '--current', 'c.csv'])).calls[0]!.options).toMatchObject({ current: 'c.csv', test: 'auto', correction: 'bh' });
    expect((await parse(['deploy', 'fraud', '--image', 'r/f', '--push'])).calls[0]!.options).toMatchObject({ image: 'r/f', push: true, namespace: 'default', scaleDownDelay: '30s', cpu: '1', memory: '1Gi', timeout: '300s' });
    expect((await parse(['ab', 'report'])).calls[0]).toMatchObject({ command: 'ab report', options: { log: 'predictions.jsonl', alpha: '0.05' } });
    expect((await parse(['monitor', 'check', '--alert', 'ops'])).calls[0]).toMatchObject({ command: 'monitor check', options: { prometheus: 'http://localhost:9090', alert: 'ops' } });
    expect((await parse(['alert', 'test', 'ops'])).calls[0]).toMatchObject({ command: 'alert test', args: ['ops'] });
  });

  it('unknown flags, missing arguments and bad choices end parsing with a commander error', async () => {
    for (const argv of [['list', '--bogus'], ['register', 'fraud'], ['drift-check', '--test', 'magic'], ['nosuch']]) {
      const result = await parse(argv);
      expect(result.calls, argv.join(' ')).toEqual([]);
      expect(result.code, argv.join(' ')).toBe(1);
      expect(result.err).toMatch(/error:/);
    }
  });

  it('every command has a summary and examples in its help', async () => {
    const walk = (defs: readonly CommandDef[], path: string[] = []): string[][] =>
      defs.flatMap((def) => (def.subcommands ? walk(def.subcommands, [...path, def.name]) : [[...path, def.name]]));
    for (const path of walk(COMMANDS)) {
      const { out } = await parse([...path, '--help']);
      expect(out, path.join(' ')).toMatch(/Examples:\n {2}\$ mlops /);
    }
  });
});
