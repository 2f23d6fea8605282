// The shape of a command, declared as data: commander and --help are built from these
// declarations. The README's tables are written by hand; test/unit/readme-coverage.test.ts
// checks that every declared flag and environment variable appears in them.
import { UsageError } from '../errors.js';
import type { Ctx } from './context.js';

export interface OptionDef {
  /** commander flags, e.g. '--to <status>' or '--metric <key=value...>' */
  flags: string;
  description: string;
  default?: string | boolean | number | string[];
  choices?: readonly string[];
  /** Repeatable flag collected into an array (--tag a=1 --tag b=2). */
  repeatable?: boolean;
}

export interface ArgumentDef {
  name: string;
  description: string;
  required?: boolean;
  variadic?: boolean;
}

export interface CommandDef {
  name: string;
  summary: string;
  arguments?: ArgumentDef[];
  options?: OptionDef[];
  examples?: string[];
  subcommands?: CommandDef[];
  /** Returns the exit code (0 when omitted: a run() with no return is a Promise<void>). Import heavy capabilities inside. */
  run?: (ctx: Ctx, args: string[], options: Record<string, unknown>) => Promise<number | undefined> | Promise<void>;
}

/** Parse repeated key=value flags into a record. */
export function keyValues(values: unknown, flag: string): Record<string, string> {
  const list = Array.isArray(values) ? values : values === undefined ? [] : [values];
  const out: Record<string, string> = {};
  for (const item of list.map(String)) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`${flag} '${item}' is not key=value`, `write ${flag} name=value`);
    out[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
  }
  return out;
}

/** Parse repeated key=value flags whose values must be numbers. */
export function numericKeyValues(values: unknown, flag: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, raw] of Object.entries(keyValues(values, flag))) {
    const value = Number(raw);
    if (raw === '' || !Number.isFinite(value)) throw new UsageError(`${flag} ${key}=${raw}: '${raw}' is not a number`, `write ${flag} ${key}=0.93`);
    out[key] = value;
  }
  return out;
}

/** A comma-separated list flag (--features a,b,c) as an array without empty items. */
export function commaList(value: unknown): string[] | undefined {
  if (value === undefined || value === null || value === false) return undefined;
  const items = (Array.isArray(value) ? value : [value]).flatMap((v) => String(v).split(',')).map((s) => s.trim()).filter(Boolean);
  return items.length ? items : undefined;
}

/** A numeric flag within [min, max]; undefined when not given. */
export function numberFlag(value: unknown, flag: string, { min = -Infinity, max = Infinity, integer = false, example }: { min?: number; max?: number; integer?: boolean; example?: string }): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  const ok = String(value).trim() !== '' && Number.isFinite(n) && n >= min && n <= max && (!integer || Number.isInteger(n));
  if (!ok) {
    const kind = integer ? 'a whole number' : 'a number';
    const range = max === Infinity ? (min === -Infinity ? '' : ` of at least ${min}`) : ` from ${min} to ${max}`;
    throw new UsageError(`${flag} ${String(value)} must be ${kind}${range}`, `e.g. ${flag} ${example ?? (Number.isFinite(min) ? Math.max(min, 1) : 1)}`);
  }
  return n;
}
