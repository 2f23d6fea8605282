// The shape of a command, declared as data: commander and --help are built from these
// declarations. The README's tables are written by hand; test/unit/readme-coverage.test.ts
// checks that every declared flag and environment variable appears in them.
// defineCommand types a handler's options and arguments from the same declarations.
import { UsageError } from '../errors.js';
import type { Ctx } from './context.js';

export interface OptionDef {
  /** commander flags, e.g. '--to <status>' or '--metric <key=value...>' */
  flags: string;
  description: string;
  default?: string | boolean | number | readonly string[];
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
  /** Returns the exit code (0 when omitted). Import heavy capabilities inside. */
  run?: (ctx: Ctx, args: string[], options: Record<string, unknown>) => Promise<number | undefined> | Promise<void>;
}

// ---- Typed handlers: option and argument types inferred from the declarations ----
// Mirrors what commander's opts() holds (see src/cli/program.ts): long flag names in
// camelCase; --x is true when given; --no-x is a boolean defaulting to true (--no-x <value>:
// true, or the value); <value> a string (one of `choices` when declared); [value] a string,
// or true when given bare; <values...> and `repeatable` an array; without a default a flag
// may be absent (undefined). test/unit/command-types.test.ts checks both the types and argv.

/** 'dry-run' -> 'dryRun' */
type CamelCase<S extends string> = S extends `${infer Head}-${infer Tail}` ? `${Head}${Capitalize<CamelCase<Tail>>}` : S;

/** '-q, --quiet' -> '--quiet'; '--to <status>' stays. */
type LongFlags<F extends string> = F extends `-${infer Short}, ${infer Rest}` ? (Short extends `-${string}` ? F : Rest) : F;

/** ['to', '<status>'] from '--to <status>'; ['dry-run', ''] from '--dry-run'. */
type FlagParts<F extends string> = LongFlags<F> extends `--${infer Name} ${infer Value}` ? [Name, Value] : LongFlags<F> extends `--${infer Name}` ? [Name, ''] : never;

type FlagName<F extends string> = FlagParts<F>[0] extends `no-${infer Negated}` ? CamelCase<Negated> : CamelCase<FlagParts<F>[0]>;

type NegatedValue<Value extends string> = Value extends '' ? boolean : Value extends `[${string}` ? string | boolean : string | true;

type ValueOf<O extends OptionDef> = FlagParts<O['flags']>[0] extends `no-${string}`
  ? NegatedValue<FlagParts<O['flags']>[1]>
  : FlagParts<O['flags']>[1] extends ''
    ? boolean
    : FlagParts<O['flags']>[1] extends `${string}...${string}`
      ? FlagParts<O['flags']>[1] extends `[${string}`
        ? string[] | true
        : string[]
      : O extends { repeatable: true }
        ? string[]
        : O extends { choices: readonly (infer Choice extends string)[] }
          ? Choice
          : FlagParts<O['flags']>[1] extends `[${string}`
            ? string | true
            : string;

/** Present whatever argv says: a default, or a --no-x flag (commander defaults it to true). */
type AlwaysSet<O extends OptionDef> = O extends { default: string | boolean | number | readonly string[] } ? true : FlagParts<O['flags']>[0] extends `no-${string}` ? true : false;

/** The options object a handler receives, from a tuple of option declarations. */
export type OptionsOf<Options extends readonly OptionDef[]> = {
  [O in Options[number] as FlagName<O['flags']>]: AlwaysSet<O> extends true ? ValueOf<O> : ValueOf<O> | undefined;
};

/** The positional arguments a handler receives, by camelCased name. */
export type ArgumentsOf<Arguments extends readonly ArgumentDef[]> = {
  [A in Arguments[number] as CamelCase<A['name']>]: A extends { variadic: true } ? string[] : A extends { required: true } ? string : string | undefined;
};

export interface TypedCommandDef<Arguments extends readonly ArgumentDef[], Options extends readonly OptionDef[]> extends Omit<CommandDef, 'arguments' | 'options' | 'run'> {
  arguments?: Arguments;
  options?: Options;
  run?: (ctx: Ctx, args: ArgumentsOf<Arguments>, options: OptionsOf<Options>) => Promise<number | undefined> | Promise<void>;
}

function camelCase(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
}

/**
 * A command whose handler gets its arguments by name and its options typed from their
 * declarations, so a misspelt option name does not compile. Returns the plain CommandDef
 * that program.ts wires into commander; commands written as plain CommandDef still work.
 */
export function defineCommand<const Arguments extends readonly ArgumentDef[] = [], const Options extends readonly OptionDef[] = []>(
  def: TypedCommandDef<Arguments, Options>,
): CommandDef {
  const { run, arguments: declaredArguments, options, ...rest } = def;
  const argumentDefs: ArgumentDef[] = [...(declaredArguments ?? [])];
  return {
    ...rest,
    ...(declaredArguments ? { arguments: argumentDefs } : {}),
    ...(options ? { options: [...options] } : {}),
    ...(run
      ? {
          // program.ts passes the arguments flattened in declaration order (only trailing ones
          // can be absent) and commander's opts(), which follow the declarations typed above.
          run: (ctx: Ctx, args: string[], values: Record<string, unknown>) => {
            const named: Record<string, string | string[] | undefined> = {};
            argumentDefs.forEach((arg, index) => {
              named[camelCase(arg.name)] = arg.variadic ? args.slice(index) : args[index];
            });
            return run(ctx, named as ArgumentsOf<Arguments>, values as OptionsOf<Options>);
          },
        }
      : {}),
  };
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
  const items = (Array.isArray(value) ? value : [value])
    .flatMap((v) => String(v).split(','))
    .map((s) => s.trim())
    .filter(Boolean);
  return items.length ? items : undefined;
}

/** A numeric flag within [min, max]; undefined when not given. */
export function numberFlag(
  value: unknown,
  flag: string,
  { min = -Infinity, max = Infinity, integer = false, example }: { min?: number; max?: number; integer?: boolean; example?: string },
): number | undefined {
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
