// End-to-end: `mlops alert test` and `mlops monitor rules` through the built CLI, with a real webhook receiver and promtool.
import { execa } from 'execa';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectCleanError, mlops, tempDir } from '../support/cli.js';
import { PROMTOOL_BIN, skipReason } from '../support/prometheus.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

let dir: string;
let cleanup: () => Promise<void>;
let receiver: WebhookReceiver;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  receiver = await startWebhookReceiver();
  await mlops(['--registry', join(dir, 'registry'), 'init']);
  await writeFile(
    join(dir, 'registry', 'mlops.yaml'),
    `alerts:\n  channels:\n    ops:\n      type: webhook\n      url: ${receiver.url}/hook\n      headers_env: { Authorization: HOOK_TOKEN }\n      max_tries: 2\n    dead:\n      type: webhook\n      url: http://127.0.0.1:9/nothing\n      max_tries: 1\n`,
  );
});
afterEach(async () => {
  await receiver.stop();
  await cleanup();
});

describe('mlops alert test', () => {
  it('delivers a test alert and reports it', async () => {
    const result = await mlops(['--registry', join(dir, 'registry'), 'alert', 'test', 'ops'], { env: { HOOK_TOKEN: 'Bearer s3cret' } });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/test alert delivered to ops/);
    expect(receiver.requests).toHaveLength(1);
    expect(receiver.requests[0]!.headers.authorization).toBe('Bearer s3cret');
    expect(receiver.requests[0]!.json.text).toEqual(expect.any(String));
    expect(result.stderr + result.stdout).not.toContain('s3cret');
  });

  it('retries a 500 and then succeeds', async () => {
    receiver.configure({ failTimes: 1 });
    const result = await mlops(['--registry', join(dir, 'registry'), 'alert', 'test', 'ops'], { env: { HOOK_TOKEN: 'x' } });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(receiver.requests).toHaveLength(2);
  });

  it('exits 4 with the exact failure, and 2 for an unknown channel', async () => {
    const dead = await mlops(['--registry', join(dir, 'registry'), 'alert', 'test', 'dead']);
    expect(dead.exitCode).toBe(4);
    expect(expectCleanError(dead)).toMatch(/webhook dead: POST http:\/\/127.0.0.1:9\/nothing failed/);
    const unknown = await mlops(['--registry', join(dir, 'registry'), 'alert', 'test', 'nope']);
    expect(unknown.exitCode).toBe(2);
    expect(expectCleanError(unknown)).toMatch(/'nope' is not defined/);
  });
});

describe('mlops monitor rules', () => {
  const reason = skipReason([PROMTOOL_BIN]);
  it.skipIf(reason)(`writes a rules file promtool accepts${reason ? ` (${reason})` : ''}`, async () => {
    const out = join(dir, 'rules.yml');
    const result = await mlops(['monitor', 'rules', '--out', out]);
    expect(result.exitCode, result.stderr).toBe(0);
    const check = await execa(PROMTOOL_BIN, ['check', 'rules', out], { reject: false });
    expect(check.exitCode, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toMatch(/SUCCESS: 4 rules found/);
  });

  it('refuses a malformed rules file with exit 2', async () => {
    const rules = join(dir, 'bad.yaml');
    await writeFile(rules, 'rules:\n  - name: x\n    query: up\n    op: "=>"\n    threshold: 1\n');
    const result = await mlops(['monitor', 'rules', '--rules', rules]);
    expect(result.exitCode).toBe(2);
    expect(expectCleanError(result)).toMatch(/op/);
  });

  it('monitor check exits 4 when Prometheus cannot be reached', async () => {
    const result = await mlops(['--registry', join(dir, 'registry'), 'monitor', 'check', '--prometheus', 'http://127.0.0.1:9']);
    expect(result.exitCode).toBe(4);
    expect(expectCleanError(result)).toMatch(/cannot reach Prometheus/);
  });
});
