// `mlops serve` as users start it: structured logs with --json, and flag checking.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, EXAMPLE, expectCleanError, mlops, tempDir } from '../support/cli.js';

let dir: string;
let cleanup: () => Promise<void>;
let registry: string;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  registry = join(dir, 'registry');
  for (const args of [['register', 'fraud', join(EXAMPLE, 'fraud-v1.onnx')], ['promote', 'fraud', 'v1.0.0']]) {
    const result = await mlops(['--registry', registry, ...args]);
    if (result.exitCode !== 0) throw new Error(result.stderr);
  }
});
afterAll(async () => cleanup());

describe('mlops serve', () => {
  it('--json logs one JSON object per line on stderr, from start to drain', async () => {
    const child = spawn(process.execPath, [BIN, '--registry', registry, 'serve', '--json', '--host', '127.0.0.1', '--port', '0', '--workers', '1'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening event:\n${stderr}`)), 30_000);
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        for (const line of stderr.split('\n').filter(Boolean)) {
          const event = JSON.parse(line) as { type?: string; url?: string };
          if (event.type === 'listening') {
            clearTimeout(timer);
            resolve(event.url!);
          }
        }
      });
    });
    const answer = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ features: Array(10).fill(1) }) });
    expect(answer.status).toBe(200);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const events = stderr.trim().split('\n').map((line) => JSON.parse(line) as { type: string; level: string; message: string; time: string });
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['loaded', 'serving', 'listening', 'signal', 'draining', 'drained']));
    for (const event of events) expect(event).toMatchObject({ level: expect.stringMatching(/^(info|warn|error)$/), message: expect.any(String), time: expect.any(String) });
  });

  it.each([
    [['--port', '70000'], /--port 70000 must be a whole number from 0 to 65535/],
    [['--workers', '0'], /--workers 0 must be a whole number of at least 1/],
    [['--log-sample', '1.5'], /--log-sample 1.5/],
    [['--ab', 'fraud@v1.0.0=90'], /ab/i],
    [['nosuch'], /nosuch/],
  ])('refuses %j with one line and exit 2 or 3', async (args, message) => {
    const result = await mlops(['--registry', registry, 'serve', '--port', '0', ...(args as string[])]);
    expect([2, 3]).toContain(result.exitCode);
    expect(expectCleanError(result)).toMatch(message as RegExp);
  });
});
