// analyzeExperiment on prediction logs written here with known truth (seeded): it must
// find a real difference, refuse to call a small one, and read what serve writes.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { analyzeExperiment } from '../../src/experiment/analyze.js';
import { seededRandom } from '../../src/random.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlops-ab-'));
});

afterAll(() => rm(dir, { recursive: true, force: true }));

interface Arm {
  variant: string;
  requests: number;
  /** Chance a prediction is right (labels) ... */
  accuracy?: number;
  /** ... or the mean of a normal outcome with sd 1. */
  outcomeMean?: number;
  /** Share of requests that get feedback. */
  feedbackRate?: number;
}

function makeLog(arms: Arm[], seed = 1, experiment = 'fraud'): string[] {
  const random = seededRandom(seed);
  const lines: string[] = [];
  for (const arm of arms) {
    for (let i = 0; i < arm.requests; i++) {
      const id = `${arm.variant}-${i}`;
      const prediction = random() < 0.3 ? 1 : 0;
      lines.push(JSON.stringify({ request_id: id, time: '2026-01-01T00:00:00Z', model: 'fraud', version: arm.variant, variant: arm.variant, experiment, features: [1, 2], outputs: { label: prediction }, latency_ms: 0.1 }));
      if (random() >= (arm.feedbackRate ?? 1)) continue;
      const base = { type: 'feedback', request_id: id, time: '2026-01-01T00:00:01Z', model: 'fraud', version: arm.variant, variant: arm.variant, experiment, prediction };
      if (arm.accuracy !== undefined) {
        const label = random() < arm.accuracy ? prediction : 1 - prediction;
        lines.push(JSON.stringify({ ...base, label, correct: label === prediction }));
      } else {
        // Box-Muller: a normal outcome with sd 1.
        const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
        lines.push(JSON.stringify({ ...base, outcome: arm.outcomeMean! + z }));
      }
    }
  }
  return lines;
}

async function writeLog(name: string, lines: string[]): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, lines.map((l) => `${l}\n`).join(''));
  return path;
}

describe('analyzeExperiment', () => {
  test('a real accuracy difference with enough data: the better variant, a small p, a CI excluding 0', async () => {
    const path = await writeLog('big.jsonl', makeLog([
      { variant: 'v1.0.0', requests: 6000, accuracy: 0.8 },
      { variant: 'v2.0.0', requests: 3000, accuracy: 0.86 },
    ]));
    const report = await analyzeExperiment(path);
    expect(report.experiment).toBe('fraud');
    expect(report.model).toBe('fraud');
    const [v1, v2] = report.variants;
    expect(v1).toMatchObject({ variant: 'v1.0.0', requests: 6000, rows: 6000, labelled: 6000 });
    expect(v2).toMatchObject({ variant: 'v2.0.0', requests: 3000, labelled: 3000 });
    expect(v1!.accuracy).toBeCloseTo(0.8, 1);
    expect(v2!.accuracy).toBeCloseTo(0.86, 1);
    expect(v1!.precision).toBeGreaterThan(0);
    expect(v1!.f1).toBeGreaterThan(0);
    const [comparison] = report.comparisons;
    expect(comparison).toMatchObject({ metric: 'accuracy', test: 'two-proportion z-test', control: 'v1.0.0', treatment: 'v2.0.0', significant: true });
    expect(comparison!.pValue).toBeLessThan(0.001);
    expect(comparison!.ci[0]).toBeGreaterThan(0);
    expect(report.verdict).toMatch(/^v2.0.0 better, p<0.001 \(accuracy 8\d\.\d% vs 8\d\.\d%\)$/);
    expect(report.positiveLabel).toBe('1');
  });

  test('a small sample of a small difference: not enough data, with the requests still needed', async () => {
    const path = await writeLog('small.jsonl', makeLog([
      { variant: 'v1.0.0', requests: 200, accuracy: 0.8, feedbackRate: 0.5 },
      { variant: 'v2.0.0', requests: 200, accuracy: 0.85, feedbackRate: 0.5 },
    ], 7));
    const report = await analyzeExperiment(path);
    const [comparison] = report.comparisons;
    expect(comparison!.significant).toBe(false);
    expect(comparison!.neededPerVariant).toBeGreaterThan(100);
    // Half the requests get a label: about twice the labelled samples still missing.
    const missing = comparison!.neededPerVariant! - Math.min(...report.variants.map((v) => v.labelled));
    expect(comparison!.moreRequestsPerVariant).toBeGreaterThanOrEqual(missing);
    expect(report.verdict).toMatch(/^not enough data yet: about [\d,]+ more requests per variant to detect a difference of \d+\.\d% in accuracy \(v2.0.0 vs v1.0.0, p=0\.\d+ now\)$/);
  });

  test('below the minimum sample no test is run', async () => {
    const path = await writeLog('tiny.jsonl', makeLog([
      { variant: 'v1.0.0', requests: 10, accuracy: 0.8 },
      { variant: 'v2.0.0', requests: 5, accuracy: 0.9 },
    ]));
    const report = await analyzeExperiment(path);
    expect(report.comparisons).toEqual([]);
    expect(report.verdict).toMatch(/not enough data yet for v2.0.0 vs v1.0.0: 10 and 5 labelled predictions \(at least 30 each/);
  });

  test("numeric outcomes are compared by Welch's t-test on the means", async () => {
    const path = await writeLog('outcomes.jsonl', makeLog([
      { variant: 'v1.0.0', requests: 400, outcomeMean: 10 },
      { variant: 'v2.0.0', requests: 400, outcomeMean: 9.5 },
    ], 3));
    const report = await analyzeExperiment(path);
    const [comparison] = report.comparisons;
    expect(comparison).toMatchObject({ metric: 'mean_outcome', test: "Welch's t-test", significant: true });
    expect(comparison!.difference).toBeCloseTo(-0.5, 0);
    expect(report.variants[0]!.meanOutcome).toBeCloseTo(10, 0);
    expect(report.variants[0]!.sdOutcome).toBeCloseTo(1, 0);
    expect(report.verdict).toMatch(/^v1.0.0 better, p<0.001 \(mean outcome/);
  });

  test('no difference at all says so', async () => {
    const path = await writeLog('same.jsonl', makeLog([
      { variant: 'a', requests: 100, accuracy: 1 },
      { variant: 'b', requests: 100, accuracy: 1 },
    ]));
    const report = await analyzeExperiment(path);
    expect(report.verdict).toMatch(/^no difference between b and a so far/);
  });

  test('rotated files are read oldest first; shadow rows, duplicates and garbage lines are left out', async () => {
    const lines = makeLog([
      { variant: 'v1.0.0', requests: 100, accuracy: 0.8 },
      { variant: 'v2.0.0', requests: 50, accuracy: 0.8 },
    ]);
    const shadow = JSON.stringify({ request_id: 'v1.0.0-1', model: 'fraud', version: 'v3.0.0', variant: 'shadow', experiment: 'fraud', shadow: true, features: [1], outputs: {} });
    const duplicateFeedback = lines.find((l) => l.includes('"type":"feedback"'))!;
    const path = join(dir, 'rotated.jsonl');
    await writeLog('rotated.jsonl.2', lines.slice(0, 100));
    await writeLog('rotated.jsonl.1', [...lines.slice(100, 200), shadow, '{not json', duplicateFeedback]);
    await writeLog('rotated.jsonl', lines.slice(200));
    const report = await analyzeExperiment(path);
    expect(report.files.map((f) => f.slice(dir.length + 1))).toEqual(['rotated.jsonl.2', 'rotated.jsonl.1', 'rotated.jsonl']);
    expect(report.variants.map((v) => [v.variant, v.requests, v.labelled])).toEqual([
      ['v1.0.0', 100, 100],
      ['v2.0.0', 50, 50],
    ]);
    expect(report.skippedLines).toBe(1);
  });

  test('several experiments need --experiment; the control can be chosen', async () => {
    const path = await writeLog('two.jsonl', [
      ...makeLog([{ variant: 'a', requests: 50, accuracy: 0.9 }, { variant: 'b', requests: 40, accuracy: 0.9 }], 1, 'exp-one'),
      ...makeLog([{ variant: 'x', requests: 50, accuracy: 0.9 }, { variant: 'y', requests: 60, accuracy: 0.9 }], 2, 'exp-two'),
    ]);
    await expect(analyzeExperiment(path)).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/several experiments: exp-one, exp-two/) });
    const report = await analyzeExperiment(path, { experiment: 'exp-two' });
    expect(report.experiments).toEqual(['exp-one', 'exp-two']);
    expect(report.comparisons[0]).toMatchObject({ control: 'y', treatment: 'x' }); // most requests
    const chosen = await analyzeExperiment(path, { experiment: 'exp-two', control: 'x' });
    expect(chosen.comparisons[0]).toMatchObject({ control: 'x', treatment: 'y' });
    await expect(analyzeExperiment(path, { experiment: 'exp-three' })).rejects.toMatchObject({ exitCode: 3 });
  });

  test('three variants: each against the control, Bonferroni-corrected alpha', async () => {
    const path = await writeLog('three.jsonl', makeLog([
      { variant: 'a', requests: 500, accuracy: 0.8 },
      { variant: 'b', requests: 300, accuracy: 0.8 },
      { variant: 'c', requests: 300, accuracy: 0.8 },
    ]));
    const report = await analyzeExperiment(path, { alpha: 0.05 });
    expect(report.comparisons.map((c) => [c.control, c.treatment, c.alpha])).toEqual([
      ['a', 'b', 0.025],
      ['a', 'c', 0.025],
    ]);
  });

  test('a missing log is not found; a log without experiments is a usage error', async () => {
    await expect(analyzeExperiment(join(dir, 'missing.jsonl'))).rejects.toMatchObject({ exitCode: 3, message: expect.stringMatching(/no prediction log/) });
    const plain = await writeLog('plain.jsonl', [JSON.stringify({ request_id: 'r', model: 'fraud', version: 'v1', variant: 'default', features: [1], outputs: {} })]);
    await expect(analyzeExperiment(plain)).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/no A\/B experiment rows/) });
    await expect(analyzeExperiment(plain, { alpha: 2 })).rejects.toMatchObject({ exitCode: 2 });
  });
});
