// `mlops experiment` with real processes: two `mlops serve fraud` (one with 2 workers) on
// one registry folder follow an experiment started, re-weighted under load, given a 10%
// shadow, concluded with a winner (promoted) and with a tie (exit 1, nothing changed).
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { bucketBounds, shadowSampled, stickyBucket, variantForBucket } from '../../src/serve/routing.js';
import { mlops } from '../support/cli.js';
import { FRAUD_V1, makeFraudRegistry, postJson, referenceRows, sleep, startServeProcess, type ServeProcess, type TestRegistry } from '../support/serve-helpers.js';

let reg: TestRegistry;
let logs: string;
let servers: ServeProcess[] = [];
let rows: number[][];
const users = Array.from({ length: 2000 }, (_, i) => `user-${i}`);

const cli = (...args: string[]) => mlops([...args, '--registry', reg.registry.dir]);

beforeAll(async () => {
  reg = await makeFraudRegistry();
  await reg.register('fraud', FRAUD_V1, 'v3.0.0');
  logs = await mkdtemp(join(tmpdir(), 'mlops-exp-logs-'));
  rows = await referenceRows(50);
  servers = await Promise.all([
    startServeProcess(reg.registry.dir, ['fraud', '--workers', '2', '--poll-interval-ms', '100', '--log', join(logs, 'a.jsonl')]),
    startServeProcess(reg.registry.dir, ['fraud', '--workers', '1', '--poll-interval-ms', '100', '--log', join(logs, 'b.jsonl')]),
  ]);
}, 60_000);

afterAll(async () => {
  for (const server of servers) server.kill('SIGTERM');
  await Promise.all(servers.map((s) => s.exited));
  await rm(logs, { recursive: true, force: true });
  await reg?.cleanup();
});

/** Run `fn` over items with `concurrency` requests in flight. */
async function pool<T, R>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

const expected = (experiment: string, weights: Array<[string, number]>, user: string) =>
  weights[variantForBucket(bucketBounds(weights.map(([name, weight]) => ({ name, weight }))), stickyBucket(experiment, user))]![0];

/** Until every server (every worker: several probes each) routes 40 users as `weights` say. */
async function waitForRouting(experiment: string, weights: Array<[string, number]>, timeoutMs = 30_000): Promise<void> {
  const probe = users.slice(0, 40);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answers = await pool(
      servers.flatMap((s) => probe.map((u) => [s.url, u] as const)),
      8,
      async ([url, user]) => (await postJson(`${url}/predict`, { features: rows[0], user_id: user })).body,
    );
    if (answers.every((a, i) => a?.experiment === experiment && a.version === expected(experiment, weights, probe[i % probe.length]!))) break;
    if (Date.now() > deadline) throw new Error(`servers did not follow ${experiment} ${JSON.stringify(weights)}`);
    await sleep(100);
  }
  await sleep(500); // every worker has polled at least a few times since
}

async function metric(url: string, pattern: RegExp): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = pattern.exec(text);
  return match ? Number(match[1]) : undefined;
}

const sumMetric = async (pattern: RegExp) => (await Promise.all(servers.map((s) => metric(s.url, pattern)))).reduce<number>((a, b) => a + (b ?? 0), 0);

async function feedbackRows(): Promise<number> {
  let count = 0;
  for (const file of await readdir(logs)) count += (await readFile(join(logs, file), 'utf8')).split('\n').filter((l) => l.includes('"type":"feedback"')).length;
  return count;
}

/** Serve `count` requests from fresh users, then label each: `correct(answer, i)` says whether the label equals the prediction. */
async function labelledTraffic(prefix: string, count: number, correct: (answer: any, i: number) => boolean): Promise<any[]> {
  const before = await feedbackRows();
  const answers = await pool(
    Array.from({ length: count }, (_, i) => i),
    8,
    async (i) => {
      const url = servers[i % 2]!.url;
      const answer = (await postJson(`${url}/predict`, { features: rows[i % rows.length], user_id: `${prefix}-${i}` })).body;
      const label = correct(answer, i) ? answer.prediction : 1 - answer.prediction;
      const fb = await postJson(`${url}/feedback`, { request_id: answer.request_id, label });
      expect(fb.status).toBeLessThan(300);
      return answer;
    },
  );
  const deadline = Date.now() + 10_000;
  while ((await feedbackRows()) < before + count && Date.now() < deadline) await sleep(100);
  return answers;
}

describe('mlops experiment with two serve processes on one registry', () => {
  test('start: both servers route every user alike (sticky), as the hash says', async () => {
    const started = await cli('experiment', 'start', 'fraud', '--variant', 'v1.0.0=50', '--variant', 'v2.0.0=50', '--json');
    expect(started.exitCode, started.stderr).toBe(0);
    expect(JSON.parse(started.stdout).experiment.variants.map((v: any) => v.version)).toEqual(['v1.0.0', 'v2.0.0']);
    await waitForRouting('fraud', [
      ['v1.0.0', 50],
      ['v2.0.0', 50],
    ]);

    const [a, b] = await Promise.all(
      servers.map((s) => pool(users, 8, async (user) => (await postJson(`${s.url}/predict`, { features: rows[0], user_id: user })).body.version as string)),
    );
    const disagree = users.filter((_, i) => a![i] !== b![i]);
    expect(disagree).toEqual([]);
    expect(
      users.filter(
        (u, i) =>
          a![i] !==
          expected(
            'fraud',
            [
              ['v1.0.0', 50],
              ['v2.0.0', 50],
            ],
            u,
          ),
      ),
    ).toEqual([]);
    const share = a!.filter((v) => v === 'v2.0.0').length / users.length;
    expect(share).toBeGreaterThan(0.45);
    expect(share).toBeLessThan(0.55);
    const shown = JSON.parse((await cli('experiment', 'show', 'fraud', '--json')).stdout);
    expect(shown).toMatchObject({ model: 'fraud', production: 'v1.0.0', experiment: { name: 'fraud' } });
    // The metrics say which experiment a variant belongs to, and its share.
    for (const server of servers)
      expect(await metric(server.url, /^mlops_experiment_variant_weight\{model="fraud",experiment="fraud",variant="v2.0.0",version="v2.0.0"\} (\S+)$/m)).toBe(0.5);
  }, 300_000);

  test('re-weight under load: 0 failed requests; only users whose bucket moved change variant', async () => {
    let running = true;
    const failures: string[] = [];
    let served = 0;
    const client = async (k: number) => {
      let i = k;
      while (running) {
        const url = servers[i % 2]!.url;
        try {
          const response = await postJson(
            `${url}/predict`,
            i % 5 === 0 ? { instances: rows.slice(0, 5), user_id: users[i % users.length] } : { features: rows[i % rows.length], user_id: users[i % users.length] },
          );
          if (response.status !== 200) failures.push(`${response.status} ${response.text}`);
          else served++;
        } catch (error) {
          failures.push(String(error));
        }
        i += 8;
      }
    };
    const clients = Array.from({ length: 8 }, (_, k) => client(k));
    await sleep(300);
    const set = await cli('experiment', 'set', 'fraud', '--variant', 'v1.0.0=20', '--variant', 'v2.0.0=80');
    expect(set.exitCode, set.stderr).toBe(0);
    await waitForRouting('fraud', [
      ['v1.0.0', 20],
      ['v2.0.0', 80],
    ]);
    await sleep(300);
    running = false;
    await Promise.all(clients);
    expect(failures).toEqual([]);
    expect(served).toBeGreaterThan(100);

    const after = await Promise.all(
      servers.map((s) => pool(users, 8, async (user) => (await postJson(`${s.url}/predict`, { features: rows[0], user_id: user })).body.version as string)),
    );
    expect(users.filter((_, i) => after[0]![i] !== after[1]![i])).toEqual([]);
    // v2.0.0's users before (buckets 5000-9999) all keep it; the ones that moved are exactly buckets 2000-4999.
    const moved = users.filter(
      (u, i) =>
        expected(
          'fraud',
          [
            ['v1.0.0', 50],
            ['v2.0.0', 50],
          ],
          u,
        ) !== after[0]![i],
    );
    expect(moved.every((u) => stickyBucket('fraud', u) >= 2000 && stickyBucket('fraud', u) < 5000)).toBe(true);
    expect(moved.every((u) => after[0]![users.indexOf(u)] === 'v2.0.0')).toBe(true);
    expect(moved.length).toBeGreaterThan(400);
  }, 300_000);

  test('a 10% shadow: its share within 2 points over 5,000 requests, exactly the sampled request ids, answers unchanged', async () => {
    // The answers of each version for each row, before any shadow.
    const answerOf = new Map<string, number>();
    for (const version of ['v1.0.0', 'v2.0.0']) {
      for (const [r, row] of rows.entries()) answerOf.set(`${version}:${r}`, (await postJson(`${servers[0]!.url}/predict`, { features: row, version })).body.probability);
    }
    const set = await cli('experiment', 'set', 'fraud', '--shadow', 'v3.0.0', '--shadow-fraction', '0.1');
    expect(set.exitCode, set.stderr).toBe(0);
    const series = /^mlops_shadow_predictions_total\{model="fraud",version="v3.0.0"\} (\S+)$/m;
    const deadline = Date.now() + 15_000;
    while ((await Promise.all(servers.map((s) => metric(s.url, series)))).some((v) => v === undefined)) {
      if (Date.now() > deadline) throw new Error('the shadow was not loaded');
      await sleep(100);
    }
    await sleep(1000); // every worker of the 2-worker server too
    const before = await sumMetric(series);

    const answers = await pool(
      Array.from({ length: 5000 }, (_, i) => i),
      16,
      async (i) => {
        const response = await postJson(`${servers[i % 2]!.url}/predict`, { features: rows[i % rows.length], user_id: users[i % users.length] });
        expect(response.status).toBe(200);
        return { ...response.body, row: i % rows.length };
      },
    );
    expect(answers.filter((a) => a.version === 'v3.0.0')).toEqual([]);
    expect(answers.filter((a) => a.probability !== answerOf.get(`${a.version}:${a.row}`))).toEqual([]);

    const sampled = answers.filter((a) => shadowSampled(a.request_id, 0.1)).length;
    let shadowed = 0;
    for (let tries = 0; tries < 50; tries++) {
      shadowed = (await sumMetric(series)) - before;
      if (shadowed >= sampled) break;
      await sleep(100);
    }
    expect(shadowed).toBe(sampled);
    expect(Math.abs(shadowed / 5000 - 0.1)).toBeLessThan(0.02);
    // Primary vs shadow: every shadowed row compared; v3 is v1's model, so it agrees at least on v1's answers.
    const compared = await sumMetric(/^mlops_shadow_compared_total\{model="fraud",version="v3.0.0"\} (\S+)$/m);
    const agreed = await sumMetric(/^mlops_shadow_agreement_total\{model="fraud",version="v3.0.0"\} (\S+)$/m);
    expect(compared).toBeGreaterThanOrEqual(shadowed);
    expect(agreed).toBeGreaterThan(0);
    expect(agreed).toBeLessThanOrEqual(compared);
    expect(await sumMetric(/^mlops_shadow_errors_total\{model="fraud",version="v3.0.0"\} (\S+)$/m)).toBe(0);
    // ab report joins the logged shadow rows to the answers: on v1.0.0's answers (the same model) they agree.
    await sleep(600); // the log flushes by itself
    const report = await mlops(['ab', 'report', '--log', logs, '--experiment', 'fraud', '--json']);
    expect(report.exitCode, report.stderr).toBe(0);
    const shadowStats = JSON.parse(report.stdout).shadows;
    expect(shadowStats).toHaveLength(1);
    expect(shadowStats[0]).toMatchObject({ model: 'fraud', version: 'v3.0.0', rows: shadowed, compared: shadowed });
    expect(shadowStats[0].agreement).toBeGreaterThan(0);
    expect(shadowStats[0].agreement).toBeLessThanOrEqual(1);
    expect(shadowStats[0].meanAbsScoreDiff).toBeGreaterThanOrEqual(0);
  }, 300_000);

  test('conclude with a clear winner: promoted through promote, experiment stopped, servers follow', async () => {
    // v2.0.0 right every time, v1.0.0 half the time.
    await labelledTraffic('win', 800, (answer, i) => answer.version === 'v2.0.0' || i % 2 === 0);
    const concluded = await cli('experiment', 'conclude', 'fraud', '--log', logs, '--promote-winner', '--min-samples', '30', '--json');
    expect(concluded.exitCode, concluded.stderr).toBe(0);
    const result = JSON.parse(concluded.stdout);
    expect(result).toMatchObject({ winner: 'v2.0.0', stopped: true, promotion: { version: 'v2.0.0', to: 'production' } });
    const shown = JSON.parse((await cli('experiment', 'show', 'fraud', '--json')).stdout);
    expect(shown).toEqual({ model: 'fraud', production: 'v2.0.0' });
    const audit = (await reg.registry.readAudit()).filter((e) => e.action === 'experiment').map((e) => e.event);
    expect(audit).toEqual(['start', 'set', 'set', 'stop', 'conclude']);
    // Both servers: production v2.0.0 for everyone, no experiment.
    const deadline = Date.now() + 15_000;
    for (;;) {
      const answers = await Promise.all(
        servers.flatMap((s) => users.slice(0, 10).map(async (user) => (await postJson(`${s.url}/predict`, { features: rows[0], user_id: user })).body)),
      );
      if (answers.every((a) => a.version === 'v2.0.0' && a.variant === 'default' && a.experiment === undefined)) break;
      if (Date.now() > deadline) throw new Error(`servers still route the experiment: ${JSON.stringify(answers.slice(0, 2))}`);
      await sleep(100);
    }
  }, 300_000);

  test('conclude with a tie: exit 1 with the verdict and the sample still needed; nothing changed', async () => {
    const started = await cli('experiment', 'start', 'fraud', '--name', 'fraud-tie', '--variant', 'v1.0.0=50', '--variant', 'v3.0.0=50');
    expect(started.exitCode, started.stderr).toBe(0);
    await waitForRouting('fraud-tie', [
      ['v1.0.0', 50],
      ['v3.0.0', 50],
    ]);
    // The same model under two versions, labelled right 4 times in 5 each: no winner.
    await labelledTraffic('tie', 400, (_answer, i) => i % 5 !== 0);
    const stateFile = join(reg.registry.dir, 'models', 'fraud', 'state.yaml');
    const stateBefore = await readFile(stateFile, 'utf8');
    const auditBefore = (await reg.registry.readAudit()).length;

    const concluded = await cli('experiment', 'conclude', 'fraud', '--log', logs, '--promote-winner', '--min-samples', '30');
    expect(concluded.exitCode, concluded.stderr).toBe(1);
    expect(concluded.stdout).toMatch(/^verdict: /m);
    expect(concluded.stderr).toMatch(/^error: no winner in fraud's experiment yet: /m);
    expect(concluded.stderr).toMatch(/^hint: /m);
    const json = await cli('experiment', 'conclude', 'fraud', '--log', logs, '--json');
    expect(json.exitCode).toBe(1);
    expect(JSON.parse(json.stdout).error.code).toBe('no_winner');

    expect(await readFile(stateFile, 'utf8')).toBe(stateBefore);
    expect((await reg.registry.readAudit()).length).toBe(auditBefore);
    const stopped = await cli('experiment', 'stop', 'fraud');
    expect(stopped.exitCode, stopped.stderr).toBe(0);
  }, 300_000);

  test('--sticky names the body field that carries the user', async () => {
    const started = await cli('experiment', 'start', 'fraud', '--name', 'fraud-customer', '--sticky', 'customer', '--variant', 'v1.0.0=50', '--variant', 'v2.0.0=50');
    expect(started.exitCode, started.stderr).toBe(0);
    const weights: Array<[string, number]> = [
      ['v1.0.0', 50],
      ['v2.0.0', 50],
    ];
    const probe = users.slice(0, 200);
    const deadline = Date.now() + 30_000;
    let wrong: string[] = [];
    do {
      await sleep(200);
      const answers = await pool(
        probe,
        8,
        async (user, i) => (await postJson(`${servers[i % 2]!.url}/predict`, { features: rows[0], customer: user, user_id: 'someone-else' })).body,
      );
      wrong = probe.filter((user, i) => answers[i]?.experiment !== 'fraud-customer' || answers[i].version !== expected('fraud-customer', weights, user));
    } while (wrong.length && Date.now() < deadline);
    expect(wrong).toEqual([]);
    expect((await cli('experiment', 'stop', 'fraud')).exitCode).toBe(0);
    const bad = await cli('experiment', 'start', 'fraud', '--sticky', '__proto__', '--variant', 'v1.0.0=50', '--variant', 'v2.0.0=50');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/^error: --sticky '__proto__' is not a field name$/m);
  }, 300_000);
});
