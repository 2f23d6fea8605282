// What reaches a terminal: control bytes from files and peers escaped, our own colours
// kept, with and without colour; and ordinary machine conditions mapped to their codes.
import fc from 'fast-check';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Ui, printable, printableJson, visibleLength } from '../../src/cli/ui.ts';
import { DiskFullError, ExitCode, UsageError, fromSystemError } from '../../src/errors.ts';

// eslint-disable-next-line no-control-regex
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

function capture(env: Record<string, string>): { ui: Ui; text: () => string } {
  let text = '';
  const sink = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  const ui = new Ui({ stdout: sink, stderr: sink, stdinIsTTY: false, env, json: false, quiet: false });
  return { ui, text: () => text };
}

describe('printable', () => {
  it('escapes ESC, BEL, CR, C1 and bidi overrides, keeps tab and newline', () => {
    expect(printable('a\u001b]0;pwn\u0007b')).toBe('a\\x1b]0;pwn\\x07b');
    expect(printable('x\ry\u009b31m\u202e')).toBe('x\\ry\\x9b31m\\u202e');
    expect(printable('tab\tline\n')).toBe('tab\tline\n');
  });

  it('leaves no raw control character in any string (400 seeded runs)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (text) => {
        expect(printable(text).replace(/[\t\n]/g, '')).not.toMatch(RAW);
      }),
      { seed: 15, numRuns: 400 },
    );
  });

  it('JSON output escapes what JSON.stringify leaves raw (DEL, C1)', () => {
    const text = printableJson({ header: 'a\u009b31m\u007f' });
    expect(text).not.toMatch(RAW);
    expect(JSON.parse(text)).toEqual({ header: 'a\u009b31m\u007f' });
  });
});

describe('Ui', () => {
  it('escapes a hostile header in errors, hints and tables without colour', () => {
    const { ui, text } = capture({ NO_COLOR: '1' });
    ui.err(`error: column amount\u001b]0;pwn\u0007 is missing`);
    ui.table([{ name: '\u001b[31mred' }], [{ key: 'name', header: 'NAME' }]);
    expect(text()).not.toMatch(RAW);
    expect(text()).toContain('amount\\x1b]0;pwn\\x07');
  });

  it('with colour keeps its own codes and still escapes a file\'s ESC [31m', () => {
    const { ui, text } = capture({ FORCE_COLOR: '1' });
    ui.err(`${ui.c.red('error:')} header \u001b[31mx\u001b]0;t\u0007`);
    expect(text()).toContain('\u001b[31merror:\u001b[39m');
    expect(text()).toContain('header \\x1b[31mx\\x1b]0;t\\x07');
    expect(text().replace(/\u001b\[(31|39)m/g, '')).not.toMatch(RAW);
  });

  it('measures a cell as it is printed, so columns line up', () => {
    expect(visibleLength('\u001b[31m')).toBe('\\x1b[31m'.length);
  });
});

describe('fromSystemError', () => {
  it('maps a full disk to exit 4 and a long name to exit 2, raw or wrapped', () => {
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', path: '/r/x' });
    expect(fromSystemError(enospc)).toBeInstanceOf(DiskFullError);
    expect(fromSystemError(enospc)!.exitCode).toBe(ExitCode.tool);
    expect(fromSystemError(new Error('upload failed', { cause: Object.assign(new Error('quota'), { code: 'EDQUOT' }) }))).toBeInstanceOf(DiskFullError);
    expect(fromSystemError(new UsageError('cannot write x: ENOSPC: no space left on device'))).toBeInstanceOf(DiskFullError);
    const long = fromSystemError(Object.assign(new Error('ENAMETOOLONG: name too long'), { code: 'ENAMETOOLONG', path: `/r/${'a'.repeat(300)}` }));
    expect(long?.exitCode).toBe(ExitCode.usage);
    expect(long?.message).toMatch(/too long/);
    expect(fromSystemError(new TypeError('x is undefined'))).toBeUndefined();
  });

  it('maps a raw permission, read-only or path errno to a documented code naming the path', () => {
    const errno = (code: string, path: string) => Object.assign(new Error(`${code}: x, mkdir '${path}'`), { code, path });
    expect(fromSystemError(errno('EACCES', '/srv/r'))).toMatchObject({ exitCode: 4, message: 'permission denied: /srv/r' });
    expect(fromSystemError(errno('EPERM', '/sys/r'))?.exitCode).toBe(4);
    expect(fromSystemError(errno('EROFS', '/mnt/ro'))?.exitCode).toBe(4);
    expect(fromSystemError(errno('ENOTDIR', '/f/r'))?.exitCode).toBe(2);
    expect(fromSystemError(errno('ENOENT', '/gone'))?.exitCode).toBe(3);
    // A message mlops already wrote keeps its own code.
    expect(fromSystemError(Object.assign(new UsageError('cannot read x'), { code: 'EACCES' }))).toBeUndefined();
  });
});
