// Starts a real Prometheus server (Debian's /usr/bin/prometheus) on a free loopback port
// for integration tests, and the process plumbing test/support/alertmanager.ts shares.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireOrSkip } from './integration.ts';


export const PROMETHEUS_BIN = process.env.MLOPS_TEST_PROMETHEUS ?? '/usr/bin/prometheus';
export const PROMTOOL_BIN = process.env.MLOPS_TEST_PROMTOOL ?? '/usr/bin/promtool';

export function binaryExists(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Why a test needing these binaries should be skipped, or undefined when it should run.
 * With MLOPS_REQUIRE_INTEGRATION=1 a missing binary throws (test/support/integration.ts),
 * so a missing peer fails CI instead of hiding.
 */
export function skipReason(binaries: string[]): string | undefined {
  const missing = binaries.filter((path) => !binaryExists(path));
  return requireOrSkip(missing.length === 0, `not installed: ${missing.join(', ')}`);
}

export function missingBinaryError(name: string, path: string, apt: string): Error {
  return new Error(`${name} is not installed at ${path}: apt-get install -y ${apt} (integration tests need it)`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface RunningPeer {
  child: ChildProcess;
  dir: string;
  url: string;
  logs: () => string;
  stop: () => Promise<void>;
}

/**
 * Spawns `bin` with args built for a fresh port, polls `readyPath` until 200, and
 * retries on a new port if the process dies first (another worker grabbed the port).
 */
export async function startPeer(options: {
  name: string;
  bin: string;
  dir: string;
  args: (port: number) => string[];
  readyPath: string;
  timeoutMs?: number;
}): Promise<RunningPeer> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  let lastLogs = '';
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const child = spawn(options.bin, options.args(port), { cwd: options.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    // Keep only the tail: Prometheus logs a lot at info level.
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-20_000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    let exited = false;
    const exit = new Promise<void>((resolve) => {
      child.once('exit', () => {
        exited = true;
        resolve();
      });
      child.once('error', (error) => {
        output += `\n${error.message}`;
        exited = true;
        resolve();
      });
    });
    const stop = async () => {
      if (!exited) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exit;
        clearTimeout(killer);
      }
    };
    const deadline = Date.now() + timeoutMs;
    while (!exited && Date.now() < deadline) {
      try {
        const response = await fetch(url + options.readyPath, { signal: AbortSignal.timeout(1_000) });
        await response.arrayBuffer();
        if (response.ok) return { child, dir: options.dir, url, logs: () => output, stop };
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await stop();
    lastLogs = output;
    if (!exited || !/address already in use/i.test(output)) {
      throw new Error(`${options.name} did not become ready at ${url}${options.readyPath} within ${timeoutMs} ms:\n${output.slice(-3_000)}`);
    }
  }
  throw new Error(`${options.name} could not bind a free port after 3 tries:\n${lastLogs.slice(-3_000)}`);
}

export interface PrometheusHandle {
  url: string;
  /** Runs an instant query and returns data.result; throws on an API error. */
  query(promql: string): Promise<any>;
  /** Polls the query until predicate(result) is true; throws with the last result on timeout. */
  waitFor(promql: string, predicate: (result: any) => boolean, timeoutMs?: number): Promise<any>;
  logs(): string;
  stop(): Promise<void>;
}

/**
 * Ready in ~0.5 s, but the first scrape lands ~5 s after start: Prometheus 2.42's discovery
 * manager hands targets to the scrape manager on a fixed 5 s tick (measured 5.9 s to the
 * first sample here), so wait with waitFor(), never a sleep.
 */
export async function startPrometheus(options: {
  targets: string[];
  scrapeInterval?: string;
  metricsPath?: string;
  /** Extra rule files' contents (Prometheus alerting/recording rules YAML). */
  ruleFiles?: string[];
}): Promise<PrometheusHandle> {
  if (!binaryExists(PROMETHEUS_BIN)) throw missingBinaryError('prometheus', PROMETHEUS_BIN, 'prometheus');
  const dir = await mkdtemp(join(tmpdir(), 'mlops-prometheus-'));
  const interval = options.scrapeInterval ?? '1s';
  const ruleNames: string[] = [];
  for (const [index, text] of (options.ruleFiles ?? []).entries()) {
    const name = join(dir, `rules-${index}.yml`);
    await writeFile(name, text);
    ruleNames.push(name);
  }
  // JSON is YAML: no quoting surprises in target strings.
  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
    rule_files: ruleNames,
    scrape_configs: [
      {
        job_name: 'mlops',
        metrics_path: options.metricsPath ?? '/metrics',
        static_configs: [{ targets: options.targets }],
      },
    ],
  };
  await writeFile(join(dir, 'prometheus.yml'), JSON.stringify(config, null, 2));
  let peer: RunningPeer;
  try {
    peer = await startPeer({
      name: 'prometheus',
      bin: PROMETHEUS_BIN,
      dir,
      readyPath: '/-/ready',
      args: (port) => [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
    });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  const query = async (promql: string) => {
    const response = await fetch(`${peer.url}/api/v1/query?query=${encodeURIComponent(promql)}`, {
      signal: AbortSignal.timeout(5_000),
    });
    const body = (await response.json()) as { status: string; data?: { result: unknown }; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus query ${promql} failed: ${body.error ?? response.status}`);
    return body.data?.result;
  };

  return {
    url: peer.url,
    query,
    async waitFor(promql, predicate, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      let last: unknown;
      while (Date.now() < deadline) {
        last = await query(promql);
        if (predicate(last)) return last;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      throw new Error(`prometheus: ${promql} did not match within ${timeoutMs} ms; last result ${JSON.stringify(last)}`);
    },
    logs: peer.logs,
    async stop() {
      await peer.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A tiny scrape target: serves whatever Prometheus exposition text `set()` last stored, or
 * what a function returns for the n-th scrape (counters that grow), so a test controls
 * exactly what Prometheus sees.
 */
export async function startMetricsEndpoint(initial: string | ((scrape: number) => string) = ''): Promise<{
  target: string;
  set(text: string | ((scrape: number) => string)): void;
  scrapes(): number;
  stop(): Promise<void>;
}> {
  const { createServer: createHttpServer } = await import('node:http');
  let source = initial;
  let count = 0;
  const server = createHttpServer((request, response) => {
    if (request.url?.startsWith('/metrics')) count++;
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    response.end(typeof source === 'function' ? source(count) : source);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    target: `127.0.0.1:${port}`,
    set(next) {
      source = next;
    },
    scrapes: () => count,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
