// Flags and serve.yaml -> ServePlan: precedence, parsing, and errors that name the fix.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildPlan, parseAbFlag, parseByteSize, parseShadowFlag } from '../../src/serve/options.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlops-serve-options-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('parseByteSize', () => {
  test.each([
    ['1mb', 1048576],
    ['100MB', 104857600],
    ['512kb', 524288],
    ['1.5m', 1572864],
    ['2GiB', 2147483648],
    ['4096', 4096],
    [65536, 65536],
  ])('%s -> %d', (text, bytes) => {
    expect(parseByteSize(text, '--max-body')).toBe(bytes);
  });

  test.each(['', 'lots', '-1mb', '0', '1tb', '1 m b'])('%j is a usage error naming the flag', (text) => {
    expect(() => parseByteSize(text, '--max-body')).toThrow(/--max-body .* is not a size/);
  });
});

describe('parseAbFlag', () => {
  test('NAME@VERSION=WEIGHT pairs; experiment named after the model; variants after the versions', () => {
    expect(parseAbFlag('fraud@v1.0.0=90,fraud@v2.0.0=10')).toEqual({
      name: 'fraud',
      model: 'fraud',
      variants: [
        { name: 'v1.0.0', ref: 'v1.0.0', weight: 90 },
        { name: 'v2.0.0', ref: 'v2.0.0', weight: 10 },
      ],
    });
    // Versions are normalised like everywhere else (1.0.0 -> v1.0.0); stages are allowed.
    expect(parseAbFlag('fraud@1.0.0=1, fraud@staging=1').variants.map((v) => v.ref)).toEqual(['v1.0.0', 'staging']);
  });

  test.each([
    ['fraud@v1.0.0=90', /at least two variants/],
    ['fraud@v1.0.0,fraud@v2.0.0=10', /has no weight/],
    ['fraud@v1.0.0=90,churn@v2.0.0=10', /mixes models fraud and churn/],
    ['fraud=90,fraud@v2.0.0=10', /names no version/],
    ['fraud@v1.0.0=x,fraud@v2.0.0=10', /must be a number >= 0/],
    ['fraud@v1.0.0=0,fraud@v2.0.0=0', /add up to 0/],
    ['fraud@v1.0.0=50,fraud@v1.0.0=50', /appears twice/],
    ['Fraud@v1.0.0=50,Fraud@v2.0.0=50', /invalid model name/],
  ])('%s -> %s', (text, message) => {
    expect(() => parseAbFlag(text)).toThrow(message);
  });
});

test('parseShadowFlag needs a version', () => {
  expect(parseShadowFlag('fraud@v3.0.0')).toEqual({ model: 'fraud', ref: 'v3.0.0' });
  expect(() => parseShadowFlag('fraud')).toThrow(expect.objectContaining({ message: '--shadow fraud names no version', hint: expect.stringMatching(/--shadow NAME@VERSION/) }));
});

describe('buildPlan', () => {
  test('defaults', async () => {
    const plan = await buildPlan({ registryDir: '/r', workers: 2 });
    expect(plan).toMatchObject({ host: '127.0.0.1', port: 8000, workers: 2, watch: true, pollIntervalMs: 1000, maxBodyBytes: 1048576, batchWindowMs: 0, drainTimeoutMs: 30000, models: [], experiments: [], shadows: [] });
    expect(plan.log).toBeUndefined();
  });

  test('serve.yaml < flags, and relative log paths resolve against the YAML folder', async () => {
    const path = join(dir, 'serve.yaml');
    await writeFile(
      path,
      [
        'models: [fraud, churn@v1.2.0]',
        'port: 9000',
        'workers: 3',
        'max_body: 2mb',
        'watch: false',
        'log: {path: logs/predictions.jsonl, sample: 0.5, max_size: 10mb, keep: 2}',
        'experiments:',
        '  - name: rollout',
        '    model: fraud',
        '    variants: [{version: v1.0.0, weight: 80}, {name: challenger, version: 2.0.0, weight: 20}]',
        'shadows: [fraud@v3.0.0]',
      ].join('\n'),
    );
    const fromFile = await buildPlan({ registryDir: '/r', configPath: path });
    expect(fromFile).toMatchObject({
      port: 9000,
      workers: 3,
      watch: false,
      maxBodyBytes: 2 * 1048576,
      models: [{ name: 'fraud' }, { name: 'churn', ref: 'v1.2.0' }],
      experiments: [{ name: 'rollout', model: 'fraud', variants: [{ name: 'v1.0.0', ref: 'v1.0.0', weight: 80 }, { name: 'challenger', ref: 'v2.0.0', weight: 20 }] }],
      shadows: [{ model: 'fraud', ref: 'v3.0.0' }],
      log: { path: join(dir, 'logs', 'predictions.jsonl'), sample: 0.5, maxBytes: 10 * 1048576, keep: 2 },
    });
    const flags = await buildPlan({ registryDir: '/r', configPath: path, port: 7000, workers: 1, watch: true, models: ['fraud@v2.0.0'], ab: 'fraud@v1.0.0=1,fraud@v2.0.0=1', shadow: ['fraud@v4.0.0'], log: 'other.jsonl', logSample: 1 });
    expect(flags).toMatchObject({ port: 7000, workers: 1, watch: true, models: [{ name: 'fraud', ref: 'v2.0.0' }], shadows: [{ model: 'fraud', ref: 'v4.0.0' }], log: { path: 'other.jsonl', sample: 1, keep: 2 } });
    expect(flags.experiments).toEqual([{ name: 'fraud', model: 'fraud', variants: [{ name: 'v1.0.0', ref: 'v1.0.0', weight: 1 }, { name: 'v2.0.0', ref: 'v2.0.0', weight: 1 }] }]);
  });

  test.each([
    ['prot: 8000', /unknown key 'prot'/],
    ['port: eighty', /port must be a number/],
    ['models: fraud', /models must be a list/],
    ['experiments: [{model: fraud, variants: [{version: v1.0.0, weight: 1}]}]', /needs at least two entries/],
    ['experiments: [{variants: []}]', /model is missing/],
    ['log: 5', /log must be a path/],
    ['- a\n- b', /must hold a YAML mapping/],
    ['port: [', /not valid YAML/],
  ])('serve.yaml %j -> %s', async (text, message) => {
    const path = join(dir, `bad-${Math.random()}.yaml`);
    await writeFile(path, text);
    await expect(buildPlan({ registryDir: '/r', configPath: path })).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(message) });
  });

  test.each([
    [{ workers: 0 }, /--workers 0/],
    [{ port: 70000 }, /--port 70000/],
    [{ log: 'x.jsonl', logSample: 2 }, /sample rate 2/],
    [{ log: 'x.jsonl', logKeep: 0 }, /keep 0/],
    [{ pollIntervalMs: 5 }, /poll interval 5 ms/],
  ])('%j is a usage error', async (options, message) => {
    await expect(buildPlan({ registryDir: '/r', ...options })).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(message) });
  });

  test('serve.yaml is validated whole: every problem at once, each as FILE:LINE with its fix', async () => {
    const path = join(dir, 'many-problems.yaml');
    await writeFile(
      path,
      [
        'models: [fraud, "bad name!"]', // line 1
        'port: 70000', // 2
        'workers: 0', // 3
        'max_body: lots', // 4
        'log: {path: p.jsonl, sample: 3, rotate: yes}', // 5
        'experiments:', // 6
        '  - model: fraud', // 7
        '    variants:', // 8
        '      - {version: v1.0.0, weight: -1}', // 9
        '      - {version: v2.0.0, weight: 1}', // 10
        'shadows: [fraud]', // 11
        'auth_token_env: "not a name"', // 12
        'drain_timeout: 9000', // 13
        'prot: 1', // 14
      ].join('\n'),
    );
    const error = await buildPlan({ registryDir: '/r', configPath: path }).then(
      () => undefined,
      (caught: unknown) => caught as { exitCode: number; message: string; hint: string },
    );
    expect(error?.exitCode).toBe(2);
    const lines = error!.message.split('\n');
    expect(lines[0]).toBe(`${path} has 11 problems:`);
    for (const [line, text] of [
      [1, /models\.1: /],
      [2, /port 70000 must be a whole number 0-65535/],
      [3, /workers 0 must be a whole number >= 1/],
      [4, /max_body 'lots' is not a size/],
      [5, /log\.sample 3 is not between 0 and 1/],
      [5, /unknown key 'log\.rotate'/],
      [9, /weight in 'experiments\[0\] v1\.0\.0' must be a number >= 0/],
      [11, /shadows\.0: --shadow fraud names no version/],
      [12, /auth_token_env must name an environment variable/],
      [13, /drain_timeout 9000 must be 0-3600/],
      [14, /unknown key 'prot'/],
    ] as const) {
      expect(lines.some((entry) => entry.startsWith(`  ${path}:${line}: `) && text.test(entry)), `${line} ${text}\n${error!.message}`).toBe(true);
    }
    expect(error!.hint).toMatch(/^fix all 11;/);
  });

  test('drain_timeout (seconds) and auth_token_env: the file as the flags, flags win, and a token asked for is never missing', async () => {
    const path = join(dir, 'drain-auth.yaml');
    await writeFile(path, 'drain_timeout: 12\nauth_token_env: FEEDBACK_TOKEN\n');
    const plan = await buildPlan({ registryDir: '/r', configPath: path, env: { FEEDBACK_TOKEN: 's3cret' } });
    expect(plan).toMatchObject({ drainTimeoutMs: 12_000, authToken: 's3cret' });
    const flags = await buildPlan({ registryDir: '/r', configPath: path, env: {}, drainTimeoutMs: 1000, authToken: 'from-flag' });
    expect(flags).toMatchObject({ drainTimeoutMs: 1000, authToken: 'from-flag' });
    for (const env of [{}, { FEEDBACK_TOKEN: '' }, undefined]) {
      await expect(buildPlan({ registryDir: '/r', configPath: path, env })).rejects.toMatchObject({
        exitCode: 2,
        message: expect.stringMatching(/auth_token_env FEEDBACK_TOKEN: the environment variable FEEDBACK_TOKEN is empty or unset/),
      });
    }
  });

  test('a missing config file is not found (exit 3), named', async () => {
    await expect(buildPlan({ registryDir: '/r', configPath: '/nonexistent/serve.yaml' })).rejects.toMatchObject({ exitCode: 3, message: expect.stringMatching(/serve config \/nonexistent\/serve\.yaml \(--config\) does not exist/) });
  });
});
