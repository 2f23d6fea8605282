// Everything the terminal sees: JSON documents on stdout, logs and spinners on stderr,
// tables, colour. chalk and ora live here only.
import { Chalk, type ChalkInstance } from 'chalk';
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

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
export function visibleLength(text: string): number {
  return text.replace(ANSI, '').length;
}

export class Ui {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly interactive: boolean;
  readonly c: ChalkInstance;

  constructor(private readonly options: UiOptions) {
    this.json = options.json;
    this.quiet = options.quiet;
    this.interactive = isInteractive(options);
    this.c = new Chalk({ level: colorLevel(options) });
  }

  /** Write a result line to stdout. */
  out(text = ''): void {
    this.options.stdout.write(`${text}\n`);
  }

  /** Write to stderr regardless of --quiet (errors, warnings). */
  err(text: string): void {
    this.options.stderr.write(`${text}\n`);
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
    this.options.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
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
    const spinner = ora({ text, stream: this.options.stderr as NodeJS.WritableStream }).start();
    return {
      update: (t) => {
        spinner.text = t;
      },
      succeed: (t) => spinner.succeed(t ?? text),
      fail: (t) => spinner.fail(t ?? text),
      stop: () => spinner.stop(),
    };
  }
}
