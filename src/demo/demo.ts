// mlops demo: the whole loop on the bundled fraud example, by running the real mlops
// commands one after another (as a newcomer would type them) in a temp registry.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CheckFailedError, InterruptedError } from '../errors.js';
import type { Runner } from '../tools/runner.js';

export type DemoEvent =
  | { type: 'step'; title: string }
  | { type: 'command'; argv: string[] }
  | { type: 'output'; text: string; exitCode: number }
  | { type: 'note'; text: string };

export interface DemoOptions {
  runner: Runner;
  /** The caller's environment, passed on to the mlops processes the demo starts. */
  env: Readonly<Record<string, string | undefined>>;
  /** Keep the registry here instead of a temp folder that is removed at the end. */
  keepDir?: string;
  /** Aborted on Ctrl-C / SIGTERM: the servers are stopped and the temp folder removed. */
  signal?: AbortSignal;
  onEvent: (event: DemoEvent) => void;
}

export interface DemoResult {
  registry: string;
  kept: boolean;
  steps: number;
  requests: number;
  seconds: number;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'mlops');
const EXAMPLE = join(ROOT, 'examples', 'fraud');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function waitReady(url: string, child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new CheckFailedError(`mlops serve exited with code ${child.exitCode} before it was ready`, 'run the serve step by hand to see why');
    try {
      const response = await fetch(`${url}/readyz`);
      if (response.ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new CheckFailedError(`mlops serve was not ready after ${timeoutMs / 1000} s`, 'run the serve step by hand to see why');
}

interface TrafficRow {
  features: number[];
  label: number;
}

async function readTraffic(): Promise<TrafficRow[]> {
  const lines = (await readFile(join(EXAMPLE, 'traffic.csv'), 'utf8')).trim().split('\n').slice(1);
  return lines.map((line) => {
    const values = line.split(',').map(Number);
    return { features: values.slice(0, -1), label: values[values.length - 1]! };
  });
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const started = Date.now();
  const { onEvent, runner } = options;
  const base = options.keepDir ?? (await mkdtemp(join(tmpdir(), 'mlops-demo-')));
  await mkdir(base, { recursive: true });
  const registry = join(base, 'registry');
  const log = join(base, 'predictions.jsonl');
  const env = { MLOPS_REGISTRY: registry, NO_COLOR: '1', CI: '1' };
  let steps = 0;
  const servers: ChildProcess[] = [];

  const stopAll = () => {
    for (const child of servers) if (child.exitCode === null) child.kill('SIGTERM');
  };
  options.signal?.addEventListener('abort', stopAll, { once: true });
  const step = (title: string) => {
    if (options.signal?.aborted) throw new InterruptedError('demo interrupted; its servers were stopped and its temp folder removed');
    steps++;
    onEvent({ type: 'step', title: `${steps}. ${title}` });
  };
  const mlops = async (args: string[], expectCodes: number[] = [0], { maxLines = Infinity } = {}) => {
    onEvent({ type: 'command', argv: ['mlops', ...args] });
    const result = await runner.run(process.execPath, [BIN, ...args], { env, allowFailure: true, cwd: base });
    let text = [result.stdout.trimEnd(), result.stderr.trimEnd()].filter(Boolean).join('\n');
    const lines = text.split('\n');
    if (lines.length > maxLines) text = [...lines.slice(0, maxLines), `... (${lines.length - maxLines} more lines)`].join('\n');
    onEvent({ type: 'output', text, exitCode: result.exitCode });
    if (!expectCodes.includes(result.exitCode)) {
      throw new CheckFailedError(`demo step 'mlops ${args.join(' ')}' exited ${result.exitCode}`, text.split('\n').pop() ?? undefined);
    }
    return result;
  };
  const serve = async (args: string[]) => {
    const port = await freePort();
    const argv = ['serve', ...args, '--host', '127.0.0.1', '--port', String(port), '--workers', '1'];
    onEvent({ type: 'command', argv: ['mlops', ...argv] });
    const child = spawn(process.execPath, [BIN, ...argv], { env: { ...options.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'], cwd: base });
    servers.push(child);
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitReady(url, child);
    } catch (error) {
      onEvent({ type: 'output', text: stderr.trim(), exitCode: child.exitCode ?? -1 });
      throw error;
    }
    onEvent({ type: 'note', text: `serving on ${url}` });
    return { url, child };
  };
  const stop = async (child: ChildProcess) => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  const post = async (url: string, body: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  let requests = 0;
  try {
    step('Register two versions of the fraud model, with metrics and reference data');
    await mlops(['register', 'fraud', join(EXAMPLE, 'fraud-v1.onnx'), '--version', 'v1.0.0', '--metrics-file', join(EXAMPLE, 'metrics-v1.json'), '--reference-data', join(EXAMPLE, 'reference.csv'), '--description', 'baseline logistic regression']);
    await mlops(['register', 'fraud', join(EXAMPLE, 'fraud-v2.onnx'), '--version', 'v1.1.0', '--metrics-file', join(EXAMPLE, 'metrics-v2.json'), '--reference-data', join(EXAMPLE, 'reference.csv'), '--description', 'less regularised']);
    await mlops(['list']);

    step('Promote v1.0.0 to production behind a metric gate');
    await mlops(['promote', 'fraud', 'v1.0.0', '--require', 'accuracy>=0.99'], [1]);
    onEvent({ type: 'note', text: 'the gate refused (exit 1): accuracy 0.8614 is below 0.99; with a realistic gate it passes:' });
    await mlops(['promote', 'fraud', 'v1.0.0', '--require', 'accuracy>=0.85']);

    step('Serve an A/B test: v1.0.0 and v1.1.0 at 50/50, sticky per user');
    const ab = await serve(['--ab', 'fraud@v1.0.0=50,fraud@v1.1.0=50', '--log', log, '--no-watch']);
    const traffic = await readTraffic();
    const perVariant: Record<string, number> = {};
    const firstVariant = new Map<string, string>();
    let sticky = true;
    // 600 requests from 120 users; each answer's ground truth comes back through /feedback.
    for (let i = 0; i < traffic.length; i += 20) {
      await Promise.all(
        traffic.slice(i, i + 20).map(async (row, j) => {
          const user = `user-${(i + j) % 120}`;
          const answer = await post(`${ab.url}/predict`, { features: row.features, user_id: user });
          requests++;
          const variant = String(answer.body.variant);
          perVariant[variant] = (perVariant[variant] ?? 0) + 1;
          if (firstVariant.has(user) && firstVariant.get(user) !== variant) sticky = false;
          firstVariant.set(user, variant);
          await post(`${ab.url}/feedback`, { request_id: answer.body.request_id, label: row.label });
        }),
      );
    }
    onEvent({ type: 'note', text: `sent ${requests} predictions from 120 users: ${Object.entries(perVariant).map(([v, n]) => `${v} ${n}`).join(', ')}; every user stayed on one variant: ${sticky}` });
    const example = await post(`${ab.url}/predict`, { features: traffic[0]!.features, user_id: 'user-7' });
    onEvent({ type: 'note', text: `one answer: ${JSON.stringify(example.body)}` });

    step('Prometheus metrics from /metrics');
    const metrics = await (await fetch(`${ab.url}/metrics`)).text();
    const shown = metrics.split('\n').filter((l) => /^mlops_(predictions_total|accuracy|models_loaded)/.test(l));
    onEvent({ type: 'output', text: shown.join('\n'), exitCode: 0 });
    await stop(ab.child);

    step('A/B report from the prediction log and feedback');
    await mlops(['ab', 'report', '--log', log]);

    step('Drift check against the reference data stored at registration');
    await mlops(['drift-check', 'fraud', '--current', join(EXAMPLE, 'current.csv'), '--quiet'], [0]);
    onEvent({ type: 'note', text: 'exit 0: no drift in data from the same distribution' });
    await mlops(['drift-check', 'fraud', '--current', join(EXAMPLE, 'drifted.csv'), '--report', join(base, 'drift-report.html'), '--quiet'], [1]);
    onEvent({ type: 'note', text: `exit 1: drift found; a cron job alerts on it (--alert CHANNEL). HTML report: ${join(base, 'drift-report.html')}` });

    step('Hot reload: promote v1.1.0 while the server runs');
    const live = await serve(['fraud']);
    const before = await post(`${live.url}/predict`, { features: traffic[0]!.features });
    onEvent({ type: 'note', text: `serving fraud ${String(before.body.version)}` });
    await mlops(['promote', 'fraud', 'v1.1.0', '--no-regress', 'accuracy,f1_score']);
    const switchStart = Date.now();
    let version = String(before.body.version);
    let failed = 0;
    while (version !== 'v1.1.0' && Date.now() - switchStart < 15_000) {
      const answer = await post(`${live.url}/predict`, { features: traffic[1]!.features });
      if (answer.status !== 200) failed++;
      version = String(answer.body.version);
    }
    onEvent({ type: 'note', text: `the server now answers with ${version}, ${((Date.now() - switchStart) / 1000).toFixed(1)} s after the promotion, with ${failed} failed requests` });
    await stop(live.child);

    step('The deploy plan for a blue-green rollout (dry run: nothing is touched)');
    // The plan's steps; the manifests that follow are cut (run it yourself to see them).
    await mlops(['deploy', 'fraud@v1.1.0', '--image', 'registry.example.com/ml/fraud', '--namespace', 'ml', '--dry-run'], [0], { maxLines: 17 });
  } catch (error) {
    // A server killed by the abort fails its step; say what really happened.
    if (options.signal?.aborted && !(error instanceof InterruptedError)) throw new InterruptedError('demo interrupted; its servers were stopped and its temp folder removed');
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', stopAll);
    await Promise.all(servers.map(stop));
    if (!options.keepDir) await rm(base, { recursive: true, force: true });
  }
  return { registry, kept: Boolean(options.keepDir), steps, requests, seconds: (Date.now() - started) / 1000 };
}
