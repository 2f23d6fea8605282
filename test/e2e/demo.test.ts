// `mlops demo`, the README's first command: the whole loop in one run, cleaned up after.
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mlops, spawnMlops, tempDir } from '../support/cli.js';

describe('mlops demo', () => {
  it('runs every step, shows the exit codes and cleans up after itself', async () => {
    const before = (await readdir(tmpdir())).filter((f) => f.startsWith('mlops-demo-'));
    const result = await mlops(['demo'], { timeout: 120_000 });
    expect(result.exitCode, result.stderr + result.stdout).toBe(0);
    const out = result.stdout;
    for (const step of ['Register two versions', 'Promote v1.0.0', 'Serve an A/B test', 'Prometheus metrics', 'A/B report', 'Drift check', 'Hot reload', 'deploy plan']) {
      expect(out).toContain(step);
    }
    expect(out).toMatch(/sent 600 predictions from 120 users: .*every user stayed on one variant: true/);
    expect(out).toMatch(/mlops_predictions_total\{model="fraud",version="v1.0.0",variant="v1.0.0"\} \d+/);
    expect(out).toMatch(/verdict: /);
    expect(out).toMatch(/exit 0: no drift/);
    expect(out).toMatch(/DRIFT in fraud v1.0.0/);
    expect(out).toMatch(/the server now answers with v1.1.0, .* with 0 failed requests/);
    expect(out).toMatch(/kubectl rollout status deployment\/mlops-fraud-/);
    expect(out).toMatch(/Done in [\d.]+ s: 8 steps, 600 predictions served/);
    const after = (await readdir(tmpdir())).filter((f) => f.startsWith('mlops-demo-'));
    expect(after.sort()).toEqual(before.sort());
  });

  it('--keep DIR keeps the registry for exploring', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const keep = join(dir, 'demo');
      const result = await mlops(['demo', '--keep', keep, '--json'], { timeout: 120_000 });
      expect(result.exitCode, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ kept: true, steps: 8, requests: 600 });
      const list = await mlops(['--registry', join(keep, 'registry'), 'list', '--json']);
      expect(JSON.parse(list.stdout).map((r: { version: string; status: string }) => `${r.version}:${r.status}`)).toEqual(['v1.0.0:archived', 'v1.1.0:production']);
    } finally {
      await cleanup();
    }
  });

  it('Ctrl-C stops its servers, removes its temp folder and exits 130', async () => {
    const child = spawnMlops(['demo']);
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the demo never started a server:\n${out}`)), 60_000);
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /serving on (http:\/\/\S+)/.exec(out);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
    });
    const folder = /(\/\S*mlops-demo-[A-Za-z0-9]+)\//.exec(out)?.[1];
    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode).toBe(130);
    expect(String(result.stderr)).toMatch(/demo interrupted/);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    if (folder) await expect(readdir(folder)).rejects.toThrow();
  });
});

