// Everything the terminal sees: JSON documents on stdout, logs and spinners on stderr,
// tables, colour. chalk and ora live here only.
import { Chalk, type ChalkInstance } from 'chalk';
import { randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { Env } from '../config.js';

export interface UiOptions {
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean };
  stdinIsTTY: boolean;
  env: Env;
  json: boolean;
  quiet: boolean;
  color?: boolean;
}

export interface Spinner {
  update(text: string): void;
  succeed(text?: string): void;
  fail(text?: string): void;
  stop(): void;
}

export interface Column {
  key: string;
  header: string;
  align?: 'left' | 'right';
}

/** Interactive = both ends are terminals and this is not CI: spinners and prompts only then. */
export function isInteractive(options: Pick<UiOptions, 'stdout' | 'stdinIsTTY' | 'env'>): boolean {
  return Boolean(options.stdout.isTTY) && options.stdinIsTTY && !options.env.CI;
}

function colorLevel(options: UiOptions): 0 | 1 {
  if (options.color === false) return 0;
  if (options.env.NO_COLOR !== undefined && options.env.NO_COLOR !== '') return 0;
  if (options.env.FORCE_COLOR !== undefined) return options.env.FORCE_COLOR === '0' ? 0 : 1;
  return options.stderr.isTTY || options.stdout.isTTY ? 1 : 0;
}

// Text from files and remote peers reaches this module inside messages, hints and table
// cells. Every write escapes control characters (C0 but tab and newline, DEL, C1, bidi
// overrides), so a CSV header holding ESC ]0;...BEL cannot retitle or recolour the
// terminal. Our own colours survive because chalk's ESC is written as a random
// per-process token that no file can contain, and turned back into ESC after escaping.
const ESC_TOKEN = `\uE000${randomBytes(6).toString('hex')}\uE001`;
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

function escapeChar(char: string): string {
  const code = char.charCodeAt(0);
  if (char === '\r') return '\\r';
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** The text with every control character written as a visible escape (\x1b, \x07, \r ...). */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, escapeChar);
}

/** What reaches the terminal: escaped text, then our own colour codes restored. */
function terminalText(text: string): string {
  return text
    .split(ESC_TOKEN)
    .map((piece) => printable(piece))
    .join('\u001b');
}

/** A JSON document safe for a terminal: JSON.stringify leaves DEL, C1 and bidi characters raw. */
export function printableJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(UNPRINTABLE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

// Only our own colour codes are invisible; a file's ESC is printed escaped, and counted so.
const ANSI = new RegExp(`${ESC_TOKEN}\\[[0-9;]*m`, 'g');
export function visibleLength(text: string): number {
  return printable(text.replace(ANSI, '')).length;
}

type Paint = (text: string) => string;
/** The styles mlops uses; add one here when a command needs it. */
export interface Colors {
  bold: Paint & { cyan: Paint };
  dim: Paint;
  cyan: Paint;
  yellow: Paint;
  green: Paint & { bold: Paint };
  red: Paint & { bold: Paint };
}

/** chalk, with ESC written as the token so that terminalText() can tell our colours from a file's bytes. */
function tokenColors(level: 0 | 1): Colors {
  const chalk = new Chalk({ level });
  const paint = (style: ChalkInstance): Paint => (text: string) => style(text).replaceAll('\u001b', ESC_TOKEN);
  return {
    bold: Object.assign(paint(chalk.bold), { cyan: paint(chalk.bold.cyan) }),
    dim: paint(chalk.dim),
    cyan: paint(chalk.cyan),
    yellow: paint(chalk.yellow),
    green: Object.assign(paint(chalk.green), { bold: paint(chalk.green.bold) }),
    red: Object.assign(paint(chalk.red), { bold: paint(chalk.red.bold) }),
  };
}

export class Ui {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly interactive: boolean;
  readonly c: Colors;

  constructor(private readonly options: UiOptions) {
    this.json = options.json;
    this.quiet = options.quiet;
    this.interactive = isInteractive(options);
    this.c = tokenColors(colorLevel(options));
  }

  /** Write a result line to stdout. */
  out(text = ''): void {
    this.options.stdout.write(`${terminalText(text)}\n`);
  }

  /** Write to stderr regardless of --quiet (errors, warnings). */
  err(text: string): void {
    this.options.stderr.write(`${terminalText(text)}\n`);
  }

  /** Progress and narration: stderr, silenced by --quiet. */
  info(text: string): void {
    if (!this.quiet) this.err(text);
  }

  warn(text: string): void {
    this.err(`${this.c.yellow('warning:')} ${text}`);
  }

  success(text: string): void {
    if (!this.quiet) this.err(`${this.c.green('✔')} ${text}`);
  }

  printJson(value: unknown): void {
    this.options.stdout.write(`${printableJson(value)}\n`);
  }

  table(rows: Array<Record<string, string>>, columns: Column[]): void {
    const widths = columns.map((col) => Math.max(visibleLength(col.header), ...rows.map((r) => visibleLength(r[col.key] ?? ''))));
    const pad = (text: string, i: number) => {
      const gap = ' '.repeat(Math.max(0, widths[i]! - visibleLength(text)));
      return columns[i]!.align === 'right' ? gap + text : text + gap;
    };
    this.out(columns.map((col, i) => this.c.bold(pad(col.header, i))).join('  ').trimEnd());
    for (const row of rows) this.out(columns.map((col, i) => pad(row[col.key] ?? '', i)).join('  ').trimEnd());
  }

  /** An ora spinner on a terminal; plain lines on stderr elsewhere (CI logs stay readable). */
  async spinner(text: string): Promise<Spinner> {
    if (this.quiet || this.json || !this.interactive) {
      this.info(text);
      return {
        update: (t) => this.info(`  ${t}`),
        succeed: (t) => this.success(t ?? text),
        fail: (t) => this.err(`${this.c.red('✖')} ${t ?? text}`),
        stop: () => undefined,
      };
    }
    const { default: ora } = await import('ora');
    const spinner = ora({ text: terminalText(text), stream: this.options.stderr as NodeJS.WritableStream }).start();
    return {
      update: (t) => {
        spinner.text = terminalText(t);
      },
      succeed: (t) => spinner.succeed(terminalText(t ?? text)),
      fail: (t) => spinner.fail(terminalText(t ?? text)),
      stop: () => spinner.stop(),
    };
  }
}
