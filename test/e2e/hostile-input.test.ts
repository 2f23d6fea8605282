// The rule for every input (issue 15): no exit 70, no stack trace, no raw control byte
// reaching the terminal, nothing written outside the folder mlops was pointed at.
// A seeded, bounded fuzz layer: argv built from the commands' own declarations and a pool
// of hostile values and files; hand-edited, truncated and binary registry files; the drift
// readers; and serve's HTTP routes. CLI cases run through test/support/cli-driver.mjs
// (one node for all of them), the process-boundary cases (a closed pipe, a full disk)
// as real processes.
import { execa } from 'execa';
import fc from 'fast-check';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandDef } from '../../src/cli/command.js';
import { COMMANDS } from '../../src/cli/commands/index.js';
import { BIN, EXAMPLE, ROOT, mlops, tempDir } from '../support/cli.js';
import { rawRequest, startServeProcess, type ServeProcess } from '../support/serve-helpers.js';

const SEED = 15;
const ARGV_RUNS = 240;
const HTTP_RUNS = 300;

// C0 but tab and newline, DEL, C1: none may reach a terminal raw (colour is off here).
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
const STACK = /^\s+at .+(:\d+:\d+\)?|\(node:)/m;

interface CaseResult {
  index: number;
  argv: string[];
  outcome: 'done' | 'timeout' | 'threw';
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Every way a result can break the rule, as readable lines ([] when it keeps it). */
function violations(result: Pick<CaseResult, 'argv' | 'exitCode' | 'stdout' | 'stderr'> & { outcome?: string }): string[] {
  const what = `mlops ${JSON.stringify(result.argv)}`;
  const out: string[] = [];
  if (result.outcome && result.outcome !== 'done') out.push(`${what}: ${result.outcome}`);
  if (![0, 1, 2, 3, 4].includes(result.exitCode)) out.push(`${what}: exit ${result.exitCode}\n${result.stderr.slice(0, 600)}`);
  if (STACK.test(result.stderr) || result.stderr.includes('internal error')) out.push(`${what}: stack trace\n${result.stderr.slice(0, 600)}`);
  for (const [name, text] of [['stderr', result.stderr], ['stdout', result.stdout]] as const) {
    const match = RAW_CONTROL.exec(text);
    if (match) out.push(`${what}: raw control byte 0x${match[0].charCodeAt(0).toString(16)} on ${name}: ${JSON.stringify(text.slice(Math.max(0, match.index - 60), match.index + 20))}`);
  }
  const json = result.argv.includes('--json');
  if (!json && result.exitCode >= 2 && result.exitCode <= 4 && !/^error: /m.test(result.stderr)) out.push(`${what}: exit ${result.exitCode} without an error: line\n${result.stderr.slice(0, 400)}`);
  return out;
}

// ------------------------------------------------------------------ hostile files

const ESC_TITLE = '\u001b]0;pwned\u0007';
const ESC_COLOUR = '\u001b[5;41m';
const C1_CSI = '\u009b31m';

function seededBytes(seed: number, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    bytes[i] = state >>> 24;
  }
  return bytes;
}

/** Files in the work folder that argv values point at. */
async function writeHostileFiles(work: string): Promise<void> {
  const header = 'amount,hour,merchant_risk,distance_km,account_age_days,tx_last_24h,avg_amount_30d,card_present,foreign,velocity';
  const rows = (await readFile(join(EXAMPLE, 'current.csv'), 'utf8')).trim().split('\n').slice(1, 200).join('\n');
  const files: Record<string, string | Buffer> = {
    'current.csv': await readFile(join(EXAMPLE, 'current.csv')),
    'ref.csv': await readFile(join(EXAMPLE, 'reference.csv')),
    'fraud-v1.onnx': await readFile(join(EXAMPLE, 'fraud-v1.onnx')),
    'esc-header.csv': `${header.replace('amount', `amount${ESC_TITLE}`).replace('hour', `hour${ESC_COLOUR}x`)}\n${rows}\n`,
    'c1-header.csv': `${header.replace('velocity', `velocity${C1_CSI}`)}\n${rows}\n`,
    'esc-value.csv': `${header}\n${rows}\n1,2,3,4,5,6,7,8,9,${ESC_TITLE}\n`,
    'garbage.bin': seededBytes(1, 4096),
    'garbage.csv': Buffer.concat([Buffer.from(`${header}\n`), seededBytes(2, 2048)]),
    'nul.csv': `${header}\n${rows.replace(/,/g, ',\u0000')}\n`,
    'empty.csv': '',
    'header-only.csv': `${header}\n`,
    'crlf-bom.csv': `\ufeff${header}\r\n${rows.replace(/\n/g, '\r\n')}\r\n`,
    'wide-header.csv': `${Array.from({ length: 2000 }, (_, i) => `c${i}${ESC_COLOUR}`).join(',')}\n1\n`,
    'gz-garbage.csv.gz': Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), seededBytes(3, 1024)]),
    'gz-esc.csv.gz': gzipSync(`${header.replace('amount', ESC_TITLE)}\n${rows}\n`),
    'predictions.jsonl': `{"request_id":"a${ESC_TITLE}","model":"fraud${ESC_COLOUR}","version":"v1.0.0","variant":"v${C1_CSI}","features":[1,2],"time":"x"}\n{not json\n${seededBytes(4, 300).toString('latin1')}\n`,
    'bad.yaml': 'rules:\n  - name: A\n    op: "=>"\n  - {{{\n',
    'esc.yaml': `alerts:\n  channels:\n    "ops${ESC_TITLE}":\n      type: "webhook${ESC_COLOUR}"\n      url: "http://x/${C1_CSI}"\nrules:\n  - name: "R${ESC_TITLE}"\n    query: up\n    op: gt\n    threshold: "${ESC_COLOUR}"\n`,
    'binary.yaml': seededBytes(5, 3000),
    'alias-bomb.yaml': 'a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n',
    'metrics-esc.json': JSON.stringify({ [`acc${ESC_TITLE}`]: 0.9, accuracy: 0.9 }),
    'metrics-bad.json': '{"accuracy": "high", "f1": 1e999}',
    'model-garbage.onnx': seededBytes(6, 5000),
    'model-empty.onnx': '',
  };
  for (const [name, content] of Object.entries(files)) await writeFile(join(work, name), content);
  await mkdir(join(work, 'a-folder.csv'));
}

// ------------------------------------------------------------------ argv from the declarations

const FILE_VALUES = [
  'current.csv', 'ref.csv', 'esc-header.csv', 'c1-header.csv', 'esc-value.csv', 'garbage.bin', 'garbage.csv', 'nul.csv', 'empty.csv',
  'header-only.csv', 'crlf-bom.csv', 'wide-header.csv', 'gz-garbage.csv.gz', 'gz-esc.csv.gz', 'predictions.jsonl', 'bad.yaml', 'esc.yaml',
  'binary.yaml', 'alias-bomb.yaml', 'metrics-esc.json', 'metrics-bad.json', 'model-garbage.onnx', 'model-empty.onnx', 'a-folder.csv',
  'missing.csv', `n${'x'.repeat(300)}.csv`, 'fraud-v1.onnx',
];
const WORD_VALUES = [
  '', ' ', '-', '--', 'fraud', 'fraud@v1.0.0', 'fraud@v1.1.0', 'fraud@v9.9.9', 'fraud@', '@v1', 'FRAUD', 'fr/aud', '..', '.', 'v1.0.0', '1.2.0',
  `v1.0.0-${'a'.repeat(300)}`, 'x'.repeat(5000), ESC_TITLE, `fraud${ESC_COLOUR}`, C1_CSI, 'a\rb', 'ü€😀', '%1b%07', '1e309', '-1', 'NaN',
  '0x10', '0', '99999999999999999999', 'accuracy>=0.8', 'acuracy>=0.8', '>=', 'accuracy>=', 'loss<=-1e308', 's3://bucket/m.onnx',
  'https://example.invalid/m.onnx', 'production', 'staging', 'archived', 'ks', 'psi', 'bh', '1h', '5m', '2026-01-01T00:00:00Z', 'a,b,,c',
];

/** Commands the driver can run to the end quickly (serve, ui and demo keep running; alert test waits on the network). */
function runnable(def: CommandDef, path: string[] = []): Array<{ path: string[]; def: CommandDef }> {
  const here = [...path, def.name];
  if (['serve', 'ui', 'demo', 'alert'].includes(def.name)) return [];
  return [...(def.run ? [{ path: here, def }] : []), ...(def.subcommands ?? []).flatMap((sub) => runnable(sub, here))];
}

const PLAUSIBLE = ['fraud', 'fraud@v1.0.0', 'fraud@v1.1.0', 'v1.1.0', 'v1.0.0', 'fraud-v1.onnx', 'current.csv'];
const NUMBERS = ['0.05', '1', '0', '-1', 'NaN', '1e309', 'abc', '0.5', '100000', ''];
const TIMES = ['1h', '5m', '10s', 'x', '2026-01-01T00:00:00Z', '-5m', ''];

/** A value for a declared argument or option: mostly plausible for its kind, sometimes hostile. */
function valueFor(placeholder: string): fc.Arbitrary<string> {
  const hostile = fc.oneof(fc.constantFrom(...WORD_VALUES), fc.string({ maxLength: 12 }).map((text) => text.replace(/\u0000/g, '')));
  const kind = /file|dir/.test(placeholder) ? FILE_VALUES : /<(x|n|number|alpha)>/.test(placeholder) ? NUMBERS : /duration|time/.test(placeholder) ? TIMES : PLAUSIBLE;
  return fc.oneof({ arbitrary: fc.constantFrom(...kind), weight: 3 }, { arbitrary: hostile, weight: 1 });
}

function argvArbitrary(): fc.Arbitrary<string[]> {
  const commands = COMMANDS.flatMap((def) => runnable(def));
  return fc
    .constantFrom(...commands)
    .chain((command) => {
      const args = (command.def.arguments ?? []).map((arg) => fc.option(valueFor(arg.name === 'model' ? '<file>' : arg.name), { freq: 8, nil: undefined }));
      const declared = command.def.options ?? [];
      const option = declared.length
        ? fc.constantFrom(...declared).chain((opt): fc.Arbitrary<string[]> => {
            const flag = opt.flags.split(/[ ,]+/).find((part) => part.startsWith('--'))!;
            if (!/[<[]/.test(opt.flags)) return fc.constant([flag] as string[]);
            const value = opt.choices?.length ? fc.oneof({ arbitrary: fc.constantFrom(...opt.choices), weight: 4 }, { arbitrary: valueFor(opt.flags), weight: 1 }) : valueFor(opt.flags);
            return value.map((text) => [flag, text]);
          })
        : fc.constant([] as string[]);
      return fc.record({
        command: fc.constant(command),
        args: fc.tuple(...args) as fc.Arbitrary<Array<string | undefined>>,
        options: fc.array(option, { maxLength: 3 }),
        globals: fc.subarray(['--json', '--quiet', '--no-color']),
        // fast-check's option: nil once in `freq` draws, so junk is the exception.
        junk: fc.oneof({ arbitrary: fc.constant(undefined), weight: 5 }, { arbitrary: fc.constantFrom('--bogus', '-z', '--json=1', 'extra', '--registry', ESC_TITLE), weight: 1 }),
      });
    })
    .map(({ command, args, options, globals, junk }) => {
      const argv: string[] = [...command.path, ...args.filter((a): a is string => a !== undefined), ...options.flat(), ...globals, ...(junk ? [junk] : [])];
      // Never send output outside the work folder: that would be the user's choice, not a bug.
      return argv.map((token) => (token.startsWith('/') ? token.slice(1) : token));
    });
}

/** Cases the issue names, always run. */
function tableCases(): string[][] {
  return [
    ['register', 'fraud', 's3://bucket/model.onnx'],
    ['register', 'fraud', 'fraud-v1.onnx', '--version', `v1.0.0-${'a'.repeat(300)}`],
    ['register', 'fraud', `n${'x'.repeat(300)}.onnx`],
    ['register'],
    ['frobnicate'],
    [ESC_TITLE],
    ['monitor', 'check', '--rules', 'missing.yaml'],
    ['monitor', 'rules', '--rules', 'esc.yaml'],
    ['monitor', 'rules', '--rules', 'alias-bomb.yaml'],
    ['monitor', 'rules', '--rules', 'binary.yaml'],
    ['alert', 'test', 'ops', '--alert-config', 'missing.yaml'],
    ['alert', 'test', `ops${ESC_TITLE}`, '--alert-config', 'esc.yaml'],
    ['alert', 'test', 'ops', '--alert-config', 'binary.yaml'],
    ['serve', '--config', 'missing.yaml'],
    ['serve', '--config', 'esc.yaml'],
    ['serve', '--port', ESC_TITLE],
    ['drift-check', '--reference', 'ref.csv', '--current', 'esc-header.csv'],
    ['drift-check', '--reference', 'esc-header.csv', '--current', 'current.csv'],
    ['drift-check', '--reference', 'ref.csv', '--current', 'c1-header.csv'],
    ['drift-check', '--reference', 'ref.csv', '--current', 'gz-esc.csv.gz'],
    ['drift-check', '--reference', 'ref.csv', '--current', 'predictions.jsonl'],
    ['drift-check', 'fraud', '--current', 'garbage.bin'],
    ['drift-check', 'fraud', '--current', 'a-folder.csv'],
    ['ab', 'report', '--log', 'predictions.jsonl'],
    ['promote', 'fraud', 'v1.1.0', '--require', 'acuracy>=0.8'],
    ['register', 'fraud', 'fraud-v1.onnx', '--metrics-file', 'metrics-esc.json', '--version', 'v3.0.0'],
    ['register', 'fraud', 'fraud-v1.onnx', '--description', `${ESC_TITLE}${ESC_COLOUR}${C1_CSI}`, '--version', 'v3.0.1'],
    ['show', 'fraud@v3.0.1'],
    ['list'],
    ['--registry', 'current.csv/registry', 'init'],
    ['--registry', 'current.csv/registry', 'register', 'fraud', 'fraud-v1.onnx'],
  ];
}

// ------------------------------------------------------------------ registry file mutations

type Mutation = (text: Buffer) => Buffer;
const MUTATIONS: Record<string, Mutation> = {
  garbage: (text) => seededBytes(text.length, Math.max(64, text.length)),
  truncated: (text) => text.subarray(0, Math.floor(text.length / 2)),
  empty: () => Buffer.alloc(0),
  'control bytes in every value': (text) => Buffer.from(text.toString('utf8').replace(/: (\S)/g, `: "${ESC_TITLE}${ESC_COLOUR}${C1_CSI}"$1`)),
  'numbers as strings': (text) => Buffer.from(text.toString('utf8').replace(/: (-?\d[\d.e+-]*)$/gm, ': "$1x"')),
  'unclosed flow': (text) => Buffer.concat([text, Buffer.from('\nextra: {[\n')]),
  'a list instead of a mapping': () => Buffer.from('- 1\n- 2\n'),
};

async function registryFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    if (/\/blobs\//.test(path) || !/\.(ya?ml|jsonl?)$/.test(entry.name)) continue;
    out.push(relative(dir, path));
  }
  return out.sort();
}

// ------------------------------------------------------------------ the test

let base: string;
let work: string;
let cleanup: () => Promise<void>;
let gitStatusBefore: string;

async function gitStatus(): Promise<string> {
  return (await execa('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: ROOT, reject: false })).stdout;
}

async function runDriver(cases: Array<{ argv: string[]; env?: Record<string, string | null> }>): Promise<CaseResult[]> {
  const casesFile = join(base, `cases-${Date.now()}.json`);
  const resultsFile = join(base, `results-${Date.now()}.jsonl`);
  await writeFile(casesFile, JSON.stringify(cases.map((c) => ({ cwd: work, ...c }))));
  const child = await execa('node', [join(ROOT, 'test', 'support', 'cli-driver.mjs'), casesFile, resultsFile], {
    cwd: work,
    env: { CI: '1', NO_COLOR: '1', MLOPS_REGISTRY: join(work, 'registry'), MLOPS_USER: 'fuzz', HOME: join(base, 'home'), TMPDIR: join(base, 'tmp'), MLOPS_DOCKER: '/bin/false', MLOPS_KUBECTL: '/bin/false' },
    extendEnv: true,
    reject: false,
    timeout: 240_000,
  });
  const lines = existsSync(resultsFile) ? (await readFile(resultsFile, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as CaseResult & { started?: number }) : [];
  const results = lines.filter((line) => line.started === undefined);
  if (child.exitCode !== 0 || results.length !== cases.length) {
    const started = lines.filter((line) => line.started !== undefined).at(-1)?.started;
    throw new Error(`the driver died (exit ${child.exitCode}) in case ${started}: mlops ${JSON.stringify(cases[started ?? 0]?.argv)}\n${child.stderr.slice(-2000)}`);
  }
  return results;
}

beforeAll(async () => {
  ({ dir: base, cleanup } = await tempDir('mlops-hostile-'));
  work = join(base, 'work');
  await mkdir(work);
  await mkdir(join(base, 'home'));
  await mkdir(join(base, 'tmp'));
  await writeHostileFiles(work);
  gitStatusBefore = await gitStatus();
  const registry = join(work, 'registry');
  const reg = (...args: string[]) => mlops(['--registry', registry, ...args], { cwd: work });
  expect((await reg('register', 'fraud', join(EXAMPLE, 'fraud-v1.onnx'), '--version', 'v1.0.0', '--metrics-file', join(EXAMPLE, 'metrics-v1.json'), '--reference-data', join(EXAMPLE, 'reference.csv'))).exitCode).toBe(0);
  expect((await reg('register', 'fraud', join(EXAMPLE, 'fraud-v2.onnx'), '--version', 'v1.1.0', '--metrics-file', join(EXAMPLE, 'metrics-v2.json'))).exitCode).toBe(0);
  expect((await reg('promote', 'fraud', 'v1.0.0')).exitCode).toBe(0);
  await cp(registry, join(base, 'pristine-registry'), { recursive: true });
}, 120_000);

afterAll(async () => cleanup?.());

describe('hostile input never crashes, leaks control bytes or writes outside', () => {
  it(`argv: the issue's cases and ${ARGV_RUNS} generated command lines (seed ${SEED})`, { timeout: 300_000 }, async () => {
    const generated = fc.sample(argvArbitrary(), { seed: SEED, numRuns: ARGV_RUNS });
    const results = await runDriver([...tableCases(), ...generated].map((argv) => ({ argv })));
    const problems = results.flatMap(violations);
    expect(problems.slice(0, 15), `${problems.length} of ${results.length} cases broke the rule`).toEqual([]);
    // The generator reaches past the parser: successes, usage errors and not-found all occur.
    const codes = new Set(results.map((r) => r.exitCode));
    for (const code of [0, 2, 3]) expect(codes, `exit codes seen: ${[...codes].join(', ')}`).toContain(code);
    if (process.env.HOSTILE_DEBUG) console.log(results.map((r) => `${r.exitCode} ${r.argv.join(' ').slice(0, 70)} => ${(/^error: .*/m.exec(r.stderr)?.[0] ?? '').slice(0, 90)}`).join('\n'));
    // Spot checks on what the issue promised.
    const byArgv = (argv: string[]) => results.find((r) => JSON.stringify(r.argv) === JSON.stringify(argv))!;
    expect(byArgv(['monitor', 'check', '--rules', 'missing.yaml'])).toMatchObject({ exitCode: 3, stderr: expect.stringMatching(/rules file .*missing\.yaml \(--rules\) does not exist/) });
    expect(byArgv(['alert', 'test', 'ops', '--alert-config', 'missing.yaml'])).toMatchObject({ exitCode: 3, stderr: expect.stringContaining('(--alert-config)') });
    expect(byArgv(['register'])).toMatchObject({ exitCode: 2, stderr: expect.stringMatching(/^hint: run 'mlops register --help'/m) });
    expect(byArgv(['frobnicate'])).toMatchObject({ exitCode: 2, stderr: expect.stringMatching(/^hint: /m) });
    expect(byArgv(['register', 'fraud', 's3://bucket/model.onnx'])).toMatchObject({ exitCode: 2, stderr: expect.stringContaining('copy it here first') });
    expect(byArgv(['register', 'fraud', `n${'x'.repeat(300)}.onnx`]).exitCode).toBe(2);
    expect(byArgv(['drift-check', '--reference', 'ref.csv', '--current', 'esc-header.csv']).stderr).not.toContain('\u001b');
    expect(byArgv(['show', 'fraud@v3.0.1']).stdout + byArgv(['show', 'fraud@v3.0.1']).stderr).toContain('\\x1b]0;pwned\\x07');
  });

  it("the issue's cases with colour forced: our colours only, a file's sequences escaped", { timeout: 120_000 }, async () => {
    const results = await runDriver(tableCases().map((argv) => ({ argv, env: { FORCE_COLOR: '1', NO_COLOR: null } })));
    const problems: string[] = [];
    for (const result of results) {
      // chalk's own codes (bold, dim, red, green, yellow, cyan and their resets) are the only ESCs allowed.
      const withoutOurs = (result.stderr + result.stdout).replace(/\u001b\[(1|2|22|31|32|33|36|39)m/g, '');
      problems.push(...violations({ ...result, stderr: withoutOurs, stdout: '' }));
    }
    expect(problems.slice(0, 10)).toEqual([]);
    expect(results.some((r) => r.stderr.includes('\u001b[31merror:'))).toBe(true);
  });

  it('hostile environment variables', { timeout: 120_000 }, async () => {
    const envs: Array<Record<string, string | null>> = [
      { MLOPS_USER: `${ESC_TITLE}root${C1_CSI}` },
      { MLOPS_USER: 'x'.repeat(5000) },
      { MLOPS_REGISTRY: `reg${ESC_COLOUR}` },
      { MLOPS_REGISTRY: 'current.csv' },
      { MLOPS_REGISTRY: '' },
      { MLOPS_LOG_LEVEL: `loud${ESC_TITLE}` },
      { FORCE_COLOR: 'banana', NO_COLOR: null },
      { MLOPS_DOCKER: `does-not-exist${ESC_TITLE}`, MLOPS_KUBECTL: '' },
      { HOME: null, USER: null, LOGNAME: null, MLOPS_USER: null },
      { LANG: 'tr_TR.UTF-8', TZ: 'Pacific/Kiritimati' },
    ];
    const commands = [['list'], ['show', 'fraud'], ['register', 'envtest', 'fraud-v1.onnx'], ['promote', 'fraud', 'v1.1.0', '--dry-run'], ['drift-check', 'fraud', '--current', 'current.csv'], ['deploy', 'fraud', '--image', 'r.example/x', '--skip-build']];
    const cases = envs.flatMap((env, i) => [commands[i % commands.length]!, commands[(i + 2) % commands.length]!, commands[(i + 4) % commands.length]!].map((argv) => ({ argv, env })));
    const results = await runDriver(cases);
    const ours = (text: string) => text.replace(/\u001b\[(1|2|22|31|32|33|36|39)m/g, '');
    const problems = results.flatMap((result) => violations({ ...result, stderr: ours(result.stderr), stdout: ours(result.stdout) }));
    expect(problems.slice(0, 10), `${problems.length} of ${results.length} cases broke the rule`).toEqual([]);
  });

  it('registry files hand-edited, truncated, emptied or replaced by binary garbage', { timeout: 300_000 }, async () => {
    const pristine = join(base, 'pristine-registry');
    const files = await registryFiles(pristine);
    expect(files.length).toBeGreaterThan(0);
    const commands = [['list'], ['show', 'fraud'], ['show', 'fraud@v1.0.0'], ['promote', 'fraud', 'v1.1.0', '--no-regress', 'accuracy'], ['rollback', 'fraud', '--dry-run'], ['drift-check', 'fraud', '--current', 'current.csv'], ['list', '--json']];
    const cases: Array<{ argv: string[] }> = [];
    let n = 0;
    for (const file of files) {
      for (const [name, mutate] of Object.entries(MUTATIONS)) {
        const copy = join(work, `reg-${n++}`);
        await cp(pristine, copy, { recursive: true });
        await writeFile(join(copy, file), mutate(await readFile(join(copy, file))));
        // Two commands per damaged registry, chosen in turn, keep the run bounded.
        for (const argv of [commands[n % commands.length]!, commands[(n + 3) % commands.length]!]) cases.push({ argv: ['--registry', relative(work, copy), ...argv] });
        void name;
      }
    }
    const results = await runDriver(cases);
    const problems = results.flatMap(violations);
    expect(problems.slice(0, 15), `${problems.length} of ${results.length} cases broke the rule (files: ${files.join(', ')})`).toEqual([]);
  });

  it('nothing was written outside the temp folder', async () => {
    expect(await gitStatus()).toBe(gitStatusBefore);
    // What the runs wrote stays under the temp folder (HOME and TMPDIR point inside it).
    expect((await stat(base)).isDirectory()).toBe(true);
  });
});

describe('the process boundary', () => {
  it('`mlops --help | head -1` ends quietly with 0', async () => {
    const result = await execa('bash', ['-c', `set -o pipefail; node ${JSON.stringify(BIN)} --help | head -1; echo "status \${PIPESTATUS[0]}" >&2`], { reject: false, env: { NO_COLOR: '1' } });
    expect(result.stdout).toMatch(/^Usage: mlops/);
    expect(result.stderr).toMatch(/status 0/);
    expect(result.stderr).not.toMatch(/EPIPE|Error|at /);
  });

  it('a long listing into a closed pipe (list --json | head -c 10) is not a crash', async () => {
    const registry = join(work, 'registry');
    const result = await execa('bash', ['-c', `node ${JSON.stringify(BIN)} --registry ${JSON.stringify(registry)} list --json | head -c 10 > /dev/null; echo "status \${PIPESTATUS[0]}" >&2`], { reject: false, env: { NO_COLOR: '1', CI: '1' } });
    expect(result.stderr).toMatch(/status 0/);
    expect(result.stderr).not.toMatch(/EPIPE|internal error|at /);
  });

  it.skipIf(!existsSync('/dev/full'))('stdout on a full disk (> /dev/full) is exit 4 "disk full"', async () => {
    const result = await execa('bash', ['-c', `node ${JSON.stringify(BIN)} --help > /dev/full`], { reject: false, env: { NO_COLOR: '1' } });
    expect(result.exitCode).toBe(4);
    expect(result.stderr).toMatch(/^error: (disk full|.*the disk is full)/m);
    expect(result.stderr).not.toMatch(STACK);
  });

  it('a full file system under the registry is exit 4 "disk full", one line', async (context) => {
    const mountPoint = join(base, 'tiny');
    await mkdir(mountPoint);
    const mounted = await execa('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mountPoint], { reject: false });
    if (mounted.exitCode !== 0) return context.skip(`cannot mount a small tmpfs here (${mounted.stderr.trim() || 'not root'})`);
    try {
      // Fill it: the first byte mlops writes finds the disk full.
      await execa('bash', ['-c', `head -c 1000000 /dev/zero > ${JSON.stringify(join(mountPoint, 'filler'))}`], { reject: false });
      const result = await mlops(['--registry', join(mountPoint, 'registry'), 'register', 'fraud', join(EXAMPLE, 'fraud-v1.onnx'), '--reference-data', join(EXAMPLE, 'reference.csv')], { cwd: work });
      expect(result.exitCode, result.stderr).toBe(4);
      expect(result.stderr).toMatch(/^error: (disk full|.*the disk is full)/m);
      expect(violations({ argv: ['register (full disk)'], ...result })).toEqual([]);
    } finally {
      await execa('umount', [mountPoint], { reject: false });
    }
  });
});

describe('serve under hostile HTTP', () => {
  let server: ServeProcess | undefined;
  beforeAll(async () => {
    server = await startServeProcess(join(base, 'pristine-registry'), ['fraud', '--workers', '1', '--max-body', '64kb']);
  }, 60_000);
  afterAll(async () => {
    server?.kill('SIGTERM');
    await server?.exited;
  });

  it(`${HTTP_RUNS} seeded hostile requests: no 500, the server stays up, its log stays printable`, { timeout: 240_000 }, async () => {
    const paths = ['/predict', '/feedback', '/v1/models', '/v1/models/fraud', '/v1/models/fraud:predict', '/v2', '/v2/models/fraud', '/v2/models/fraud/infer', '/v2/models/fraud/versions/v1.0.0/infer', '/v2/health/ready', '/metrics', '/healthz', '/readyz'];
    const jsonBodies = fc.oneof(
      fc.json({ maxDepth: 4 }),
      fc.record({ features: fc.array(fc.oneof(fc.double(), fc.string(), fc.constant(null)), { maxLength: 12 }), user_id: fc.string({ maxLength: 20 }) }).map((v) => JSON.stringify(v)),
      fc.record({ instances: fc.array(fc.array(fc.double({ noNaN: false }), { maxLength: 11 }), { maxLength: 3 }), model: fc.constantFrom('fraud', ESC_TITLE, 'x'.repeat(500)) }).map((v) => JSON.stringify(v)),
      fc.record({ request_id: fc.constantFrom(ESC_TITLE, 'x'.repeat(2000), ''), label: fc.anything() }).map((v) => JSON.stringify(v)),
      fc.record({ inputs: fc.array(fc.record({ name: fc.string(), shape: fc.array(fc.integer({ min: -2, max: 1e6 }), { maxLength: 3 }), datatype: fc.constantFrom('FP32', 'INT64', 'BYTES', 'FP16', ESC_COLOUR), data: fc.array(fc.double(), { maxLength: 12 }) }), { maxLength: 2 }) }).map((v) => JSON.stringify(v)),
      fc.constantFrom('[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[', '{"features": [1e309, -1e309, 1, 2, 3, 4, 5, 6, 7, 8]}', `{"features": ${'['.repeat(5000)}`, '\u0000\u0001\u0002'),
      fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
    );
    const requests = fc.sample(
      fc.record({
        method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'HEAD', 'PATCH'),
        path: fc.oneof(fc.constantFrom(...paths), fc.constantFrom(...paths).map((p) => `${p}/${encodeURIComponent(ESC_TITLE)}`), fc.constantFrom(`/predict?x=${'%1b'.repeat(50)}`, `/${'a'.repeat(9000)}`, '/v2/models/%00/infer', '/v1/models/fraud%0d%0a:predict', '//predict', '/../../etc/passwd')),
        contentType: fc.constantFrom('application/json', 'text/plain', 'application/json; charset=latin1', 'application/x-www-form-urlencoded', 'application/vnd.x+json'),
        requestId: fc.option(fc.constantFrom('ok-1', 'x'.repeat(300), '%1b]0;x%07'), { nil: undefined }),
        body: jsonBodies,
      }),
      { seed: SEED, numRuns: HTTP_RUNS },
    );
    const problems: string[] = [];
    let answered = 0;
    const unanswered: string[] = [];
    for (const request of requests) {
      const headers: Record<string, string> = { 'content-type': request.contentType };
      if (request.requestId) headers['x-request-id'] = request.requestId;
      if (request.method === 'GET' || request.method === 'HEAD') {
        const reply = await rawRequest(server!.url, { method: request.method, path: request.path, headers }).catch((error: Error) => ({ status: -1, body: error.message }));
        if (reply.status >= 500 && reply.status !== 503) problems.push(`${request.method} ${request.path.slice(0, 80)}: ${reply.status} ${reply.body.slice(0, 200)}`);
        if (reply.status > 0) answered++;
        else unanswered.push(`${request.method} ${request.path.slice(0, 60)}: ${reply.body}`);
        continue;
      }
      // With a length: node's client sends a DELETE or OPTIONS body unframed otherwise.
      const body = Buffer.from(request.body, 'latin1');
      const reply = await rawRequest(server!.url, { method: request.method, path: request.path, headers: { ...headers, 'content-length': String(body.length) }, body }).catch((error: Error) => ({ status: -1, body: error.message }));
      if (reply.status >= 500 && reply.status !== 503) problems.push(`${request.method} ${request.path.slice(0, 80)} ${JSON.stringify(request.body.slice(0, 80))}: ${reply.status} ${reply.body.slice(0, 200)}`);
      if (reply.status > 0) answered++;
      else unanswered.push(`${request.method} ${request.path.slice(0, 60)} ${JSON.stringify(request.body.slice(0, 60))}: ${reply.body}`);
    }
    // Malformed HTTP on a raw socket: the parser's error must not reach the log as a stack.
    for (const raw of ['GET /\u001b[31m HTTP/1.1\r\nHost: x\r\n\r\n', 'POST /predict HTTP/1.1\r\nContent-Length: -1\r\n\r\n', '\u0000\u0001garbage\r\n\r\n', 'POST /predict HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n']) {
      await new Promise<void>((resolve) => {
        const socket = connect(Number(new URL(server!.url).port), '127.0.0.1', () => socket.end(raw));
        socket.on('data', () => undefined);
        socket.on('close', () => resolve());
        socket.on('error', () => resolve());
      });
    }
    if (process.env.HOSTILE_DEBUG) console.log(unanswered.slice(0, 20));
    const health = await rawRequest(server!.url, { method: 'GET', path: '/healthz' });
    expect(health.status).toBe(200);
    expect(answered).toBeGreaterThan(HTTP_RUNS * 0.9);
    expect(problems.slice(0, 10), `${problems.length} requests got a 5xx`).toEqual([]);
    const log = server!.stderr();
    expect(log).not.toMatch(STACK);
    const raw = RAW_CONTROL.exec(log);
    expect(raw ? JSON.stringify(log.slice(Math.max(0, raw.index - 80), raw.index + 20)) : null).toBeNull();
  });
});
