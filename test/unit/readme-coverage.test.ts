// The README is the user's reference: every flag the commander program declares and
// every MLOPS_* variable in ENV_VARS must appear in it, so a new flag cannot ship
// undocumented. The flags come from the real program (buildProgram over COMMANDS).
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import type { Ctx } from '../../src/cli/context.js';
import { buildProgram } from '../../src/cli/program.js';
import { ENV_VARS } from '../../src/config.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** Every long flag of the program, as `command path: --flag`. */
function declaredFlags(): { command: string; flag: string }[] {
  const program = buildProgram({
    makeCtx: () => ({}) as Ctx,
    setExitCode: () => undefined,
    writeOut: () => undefined,
    writeErr: () => undefined,
  });
  const flags: { command: string; flag: string }[] = [];
  const walk = (command: Command, path: string) => {
    for (const option of command.options) if (option.long) flags.push({ command: path, flag: option.long });
    for (const sub of command.commands) walk(sub, path ? `${path} ${sub.name()}` : sub.name());
  };
  walk(program, '');
  return flags;
}

/** The flag as a whole word: `--port` must not be satisfied by `--port-file`. */
function mentions(text: string, word: string): boolean {
  const escaped = word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`${escaped}(?![\\w-])`).test(text);
}

describe('README coverage', () => {
  it("finds the program's flags (the walk itself works)", () => {
    const flags = declaredFlags();
    expect(flags.length).toBeGreaterThan(50);
    expect(flags).toContainEqual({ command: '', flag: '--registry' });
    expect(flags).toContainEqual({ command: 'promote', flag: '--to' });
    expect(mentions('use --port-file here', '--port')).toBe(false);
    expect(mentions('use `--port 8000`', '--port')).toBe(true);
  });

  it('mentions every declared command flag', () => {
    const missing = declaredFlags()
      .filter(({ flag }) => !mentions(README, flag))
      .map(({ command, flag }) => `mlops ${command ? `${command} ` : ''}${flag}`);
    expect(missing).toEqual([]);
  });

  it('mentions every environment variable in ENV_VARS', () => {
    const missing = Object.keys(ENV_VARS).filter((name) => !mentions(README, name));
    expect(missing).toEqual([]);
  });
});
