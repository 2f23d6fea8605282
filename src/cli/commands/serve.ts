// mlops serve: run models over HTTP until SIGTERM / Ctrl-C, then drain and exit 0.
import { resolve } from 'node:path';
import { defineCommand, numberFlag } from '../command.js';
import { MLOPS_VERSION } from '../../version.js';
import { UsageError } from '../../errors.js';

const secondsToMs = (seconds: number | undefined) => (seconds === undefined ? undefined : Math.round(seconds * 1000));

/** The bearer token from the variable --auth-token-env names; a name that holds nothing is a usage error. */
function authToken(env: Record<string, string | undefined>, name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const token = env[name];
  if (!token) throw new UsageError(`--auth-token-env ${name}: the environment variable ${name} is empty or unset`, `export ${name}=<a long random token> before mlops serve, or leave the flag out`);
  return token;
}

export const serveCommand = defineCommand({
  name: 'serve',
  summary: 'serve models over HTTP: /predict, KServe V1, Open Inference Protocol V2, A/B tests, metrics',
  arguments: [{ name: 'models', description: 'NAME or NAME@VERSION (default: every model\'s production version)', variadic: true }],
  options: [
    { flags: '--port <port>', description: 'port (0 picks a free one) [default: 8000]' },
    { flags: '--grpc-port <port>', description: 'also serve the Open Inference Protocol over gRPC on this port (0 picks a free one)' },
    { flags: '--host <host>', description: 'address to listen on; 0.0.0.0 for every interface (containers) [default: 127.0.0.1]' },
    { flags: '--workers <n>', description: 'inference processes, or auto: the cores this process may use (cgroup CPU limit) [default: auto]' },
    { flags: '--config <file>', description: 'serve.yaml with models, experiments, shadows, log settings' },
    { flags: '--no-watch', description: 'do not follow production promotions (hot reload)' },
    { flags: '--poll-interval-ms <ms>', description: 'how often to look for promotions [default: 1000]' },
    { flags: '--ab <spec>', description: 'A/B test, e.g. fraud@v1.0.0=90,fraud@v1.1.0=10 (sticky per user_id / X-User-Id)' },
    { flags: '--shadow <ref>', description: 'send a copy of the traffic to NAME@VERSION; answers are logged, never returned (repeatable)', repeatable: true },
    { flags: '--log <file>', description: 'prediction log (JSON lines) for drift-check and ab report' },
    { flags: '--log-sample <x>', description: 'share of requests logged, 0 to 1 [default: 1]' },
    { flags: '--log-max-size <size>', description: 'rotate the log at this size [default: 100mb]' },
    { flags: '--log-keep <n>', description: 'rotated log files kept [default: 5]' },
    { flags: '--max-body <size>', description: 'largest request body, larger gets 413 [default: 1mb]' },
    { flags: '--batch-window-ms <ms>', description: 'coalesce concurrent requests into one inference: -1 off, 0 same event-loop turn, N wait up to N ms [default: 0]' },
    { flags: '--drain-delay-ms <ms>', description: 'after SIGTERM, keep answering (not ready) this long before draining [default: 0]' },
    { flags: '--drain-timeout <s>', description: 'after SIGTERM, the longest wait for requests already received before their connections are cut [default: 30]' },
    { flags: '--auth-token-env <name>', description: 'require Authorization: Bearer <token> on POST /feedback, the token read from this environment variable' },
  ],
  examples: [
    'mlops serve',
    'mlops serve fraud --port 8080 --workers 2 --log predictions.jsonl',
    'mlops serve fraud --port 8000 --grpc-port 8001   # Triton / KServe gRPC clients',
    'mlops serve --ab fraud@v1.0.0=90,fraud@v1.1.0=10 --shadow fraud@v1.2.0',
    'mlops serve fraud@v1.0.0 --no-watch --config serve.yaml',
    'mlops serve --json 2> serve.log.jsonl   # structured logs, one JSON object per line',
  ],
  async run(ctx, { models }, options) {
    const { startServer } = await import('../../serve/index.js');
    // With --json the server logs one JSON object per line on stderr (for log collectors);
    // otherwise plain lines. Either way the answers to requests are the server's only output.
    const say = (level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown> = {}) => {
      if (ctx.ui.json) ctx.ui.err(JSON.stringify({ time: ctx.now().toISOString(), level, message, ...fields }));
      else if (level === 'info') ctx.ui.info(message);
      else if (level === 'warn') ctx.ui.warn(message);
      else ctx.ui.err(message);
    };
    const handle = await startServer({
      registryDir: ctx.registryDir,
      models,
      configPath: options.config ? resolve(ctx.cwd, options.config) : undefined,
      host: options.host,
      port: numberFlag(options.port, '--port', { min: 0, max: 65535, integer: true, example: '8000' }),
      grpcPort: numberFlag(options.grpcPort, '--grpc-port', { min: 0, max: 65535, integer: true, example: '8001' }),
      workers: options.workers === 'auto' ? undefined : numberFlag(options.workers, '--workers', { min: 1, integer: true, example: '2' }),
      watch: options.watch === false ? false : undefined,
      pollIntervalMs: numberFlag(options.pollIntervalMs, '--poll-interval-ms', { min: 10, integer: true, example: '1000' }),
      maxBody: options.maxBody,
      log: options.log ? resolve(ctx.cwd, options.log) : undefined,
      logSample: numberFlag(options.logSample, '--log-sample', { min: 0, max: 1, example: '0.1' }),
      logMaxSize: options.logMaxSize,
      logKeep: numberFlag(options.logKeep, '--log-keep', { min: 1, integer: true, example: '5' }),
      ab: options.ab,
      shadow: options.shadow,
      batchWindowMs: numberFlag(options.batchWindowMs, '--batch-window-ms', { min: -1, integer: true, example: '0' }),
      drainDelayMs: numberFlag(options.drainDelayMs, '--drain-delay-ms', { min: 0, integer: true, example: '5000' }),
      drainTimeoutMs: secondsToMs(numberFlag(options.drainTimeout, '--drain-timeout', { min: 0, max: 3600, example: '30' })),
      authToken: authToken(ctx.env, options.authTokenEnv),
      env: ctx.env,
      serverVersion: MLOPS_VERSION,
      onEvent: ({ level, message, ...fields }) => {
        if (fields.type !== 'ready') say(level, message, fields);
      },
    });
    await handle.ready;
    const served = handle.models().map((m) => `${m.model} ${m.version}${m.shadow ? " (shadow)" : m.experiment ? ` (${m.variant})` : ""}`).join(', ');
    say('info', `serving ${served || 'no models'} with ${handle.workers} worker${handle.workers === 1 ? '' : 's'}`, { type: 'serving', models: handle.models() });
    // The one line scripts and tests wait for (with the real port when --port 0); shown even with --quiet.
    if (ctx.ui.json) say('info', `listening on ${handle.url}`, { type: 'listening', url: handle.url });
    else ctx.ui.err(`listening on ${handle.url}`);
    if (handle.grpcPort !== undefined) {
      const grpcAddress = `${handle.host.includes(':') ? `[${handle.host}]` : handle.host}:${handle.grpcPort}`;
      if (ctx.ui.json) say('info', `gRPC listening on ${grpcAddress}`, { type: 'grpc_listening', address: grpcAddress });
      else ctx.ui.err(`gRPC listening on ${grpcAddress}`);
    }
    const signal = await Promise.race([ctx.stopRequested, handle.closed.then(() => undefined)]);
    if (!signal) {
      say('error', 'the server stopped on its own (see the messages above)', { type: 'stopped' });
      return 1;
    }
    say('info', `${signal}: draining`, { type: 'signal', signal });
    await handle.drain();
    return 0;
  },
});
