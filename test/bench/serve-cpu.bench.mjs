#!/usr/bin/env node
// CPU time and GC time per request inside the server, per kind of request, mlops against
// the bare node:http + onnxruntime-node server (bare_server.mjs) in the same run. On a
// shared, loaded machine wall-clock throughput swings 2-4x between runs; the CPU a server
// process spends per request does not depend on how long it waited for a core.
// One worker each (--workers 1), a fixed number of requests per scenario from a Node
// client with `--concurrency` calls in flight; both servers load serve-cpu-probe.mjs.
//
//   node test/bench/serve-cpu.bench.mjs [--requests 3000] [--concurrency 8] [--json]
//
// Needs dist/ (npm run build).
//
// 2026-12-04 18:01, load average 26-31 on 2 cores (CPU us +-30% run to run at that load;
// GC pause counts, young-generation scavenges, track bytes allocated more steadily):
//   bare /predict 1 row             153 us CPU, 19 GC pauses / 3000 requests
//   mlops /predict 1 row            172 us,      8
//   mlops /predict 100 rows         210 us,     21
//   mlops V2 JSON 1 / 100 rows      173 / 224 us,  6 / 24
//   mlops V2 binary 1 / 100 rows    141 / 160 us,  8 / 8   (100 rows before the lazy rows: 200 us, 32)
//   mlops gRPC 1 / 100 rows         372 / 333 us,  9 / 17  (100 rows before: 466 us, 38)
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpRequest, Agent } from 'node:http';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DIST = join(ROOT, 'dist');
const EXAMPLE = join(ROOT, 'examples', 'fraud');
const flag = (name, fallback) => (process.argv.includes(`--${name}`) ? process.argv[process.argv.indexOf(`--${name}`) + 1] : fallback);
const REQUESTS = Number(flag('requests', '3000'));
const CONCURRENCY = Number(flag('concurrency', '8'));
const require = createRequire(join(ROOT, 'package.json'));

const freePort = () =>
  new Promise((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(url) {
  for (let i = 0; i < 600; i++) {
    const ok = await fetch(url).then((r) => r.ok, () => false);
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`${url} never became ready`);
}

function start(args, env) {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
  return { child, stderr: () => err };
}

async function snapshot(dir, pid) {
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 200; i++) {
    await sleep(10);
    try {
      const text = await readFile(join(dir, `${pid}.json`), 'utf8');
      const value = JSON.parse(text);
      await rm(join(dir, `${pid}.json`));
      return value;
    } catch {
      // not yet written
    }
  }
  throw new Error(`no probe answer from ${pid}`);
}

async function drive(call) {
  let next = 0;
  let failures = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < REQUESTS) await call().catch(() => failures++);
    }),
  );
  return failures;
}

function httpCall(port, path, body, headers = {}) {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const call = () =>
    new Promise((done, fail) => {
      const req = httpRequest({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length, ...headers } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? done() : fail(new Error(String(res.statusCode)))));
      });
      req.on('error', fail);
      req.end(body);
    });
  return { call, close: () => agent.destroy() };
}

function grpcCall(port, request) {
  const grpc = require('@grpc/grpc-js');
  const protoLoader = require('@grpc/proto-loader');
  const definition = protoLoader.loadSync(join(DIST, 'serve', 'grpc', 'grpc_predict_v2.proto'), { keepCase: true, longs: Number, defaults: true, oneofs: true });
  const Service = grpc.loadPackageDefinition(definition).inference.GRPCInferenceService;
  const client = new Service(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const call = () => new Promise((done, fail) => client.ModelInfer(request, (error) => (error ? fail(error) : done())));
  return { call, close: () => client.close() };
}

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'mlops-serve-cpu-'));
  const probeEnv = { CPU_PROBE_DIR: dir, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${pathToFileURL(join(ROOT, 'test', 'bench', 'serve-cpu-probe.mjs')).href}` };
  const { Registry } = await import(pathToFileURL(join(DIST, 'registry', 'registry.js')).href);
  const { registerVersion } = await import(pathToFileURL(join(DIST, 'registry', 'register.js')).href);
  const { promote } = await import(pathToFileURL(join(DIST, 'registry', 'promote.js')).href);
  const now = () => new Date();
  const { registry } = await Registry.init(join(dir, 'registry'), now());
  const modelPath = join(EXAMPLE, 'fraud-v1.onnx');
  await registerVersion(registry, { name: 'fraud', modelPath, version: 'v1.0.0', user: 'bench', source: { path: modelPath }, now, referenceDataPath: join(EXAMPLE, 'reference.csv') });
  await promote(registry, { name: 'fraud', version: 'v1.0.0', to: 'production' }, { user: 'bench', now });

  const [port, grpcPort, barePort] = [await freePort(), await freePort(), await freePort()];
  const mlops = start([join(ROOT, 'bin', 'mlops'), 'serve', '--registry', registry.dir, '--host', '127.0.0.1', '--port', String(port), '--grpc-port', String(grpcPort), '--workers', '1', '--no-watch'], probeEnv);
  const bare = start([join(ROOT, 'test', 'bench', 'bare_server.mjs')], { ...probeEnv, MODEL: modelPath, PORT: String(barePort), WORKERS: '1' });
  const rows = (await readFile(join(EXAMPLE, 'reference.csv'), 'utf8')).trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
  const v2Json = (n) => Buffer.from(JSON.stringify({ inputs: [{ name: 'features', shape: [n, 10], datatype: 'FP32', data: rows.slice(0, n).flat() }] }));
  const v2Binary = (n) => {
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'features', shape: [n, 10], datatype: 'FP32', parameters: { binary_data_size: n * 40 } }], parameters: { binary_data_output: true } }));
    return [Buffer.concat([header, Buffer.from(Float32Array.from(rows.slice(0, n).flat()).buffer)]), { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) }];
  };
  const results = [];
  try {
    await waitFor(`http://127.0.0.1:${port}/readyz`);
    // The bare server answers POST /predict only (a GET would crash it).
    const probe = httpCall(barePort, '/predict', Buffer.from(JSON.stringify({ features: rows[0] })));
    for (let i = 0; ; i++) {
      if (await probe.call().then(() => true, () => false)) break;
      if (i > 600) throw new Error(`the bare server never answered: ${bare.stderr()}`);
      await sleep(100);
    }
    probe.close();
    const scenarios = [
      ['bare /predict 1 row', bare.child.pid, () => httpCall(barePort, '/predict', Buffer.from(JSON.stringify({ features: rows[0] })))],
      ['mlops /predict 1 row', mlops.child.pid, () => httpCall(port, '/predict', Buffer.from(JSON.stringify({ features: rows[0] })))],
      ['mlops /predict 100 rows', mlops.child.pid, () => httpCall(port, '/predict', Buffer.from(JSON.stringify({ instances: rows.slice(0, 100) })))],
      ['mlops V2 JSON 1 row', mlops.child.pid, () => httpCall(port, '/v2/models/fraud/infer', v2Json(1))],
      ['mlops V2 binary 1 row', mlops.child.pid, () => httpCall(port, '/v2/models/fraud/infer', ...v2Binary(1))],
      ['mlops V2 JSON 100 rows', mlops.child.pid, () => httpCall(port, '/v2/models/fraud/infer', v2Json(100))],
      ['mlops V2 binary 100 rows', mlops.child.pid, () => httpCall(port, '/v2/models/fraud/infer', ...v2Binary(100))],
      ['mlops gRPC ModelInfer 1 row', mlops.child.pid, () => grpcCall(grpcPort, { model_name: 'fraud', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 10] }], raw_input_contents: [Buffer.from(Float32Array.from(rows[0]).buffer)] })],
      ['mlops gRPC ModelInfer 100 rows', mlops.child.pid, () => grpcCall(grpcPort, { model_name: 'fraud', inputs: [{ name: 'features', datatype: 'FP32', shape: [100, 10] }], raw_input_contents: [Buffer.from(Float32Array.from(rows.slice(0, 100).flat()).buffer)] })],
    ];
    for (const [label, pid, make] of scenarios) {
      const client = make();
      for (let i = 0; i < 500; i++) await client.call().catch(() => undefined);
      const before = await snapshot(dir, pid);
      const t = performance.now();
      const failures = await drive(client.call);
      const seconds = (performance.now() - t) / 1000;
      const after = await snapshot(dir, pid);
      client.close();
      const row = { label, cpuUsPerRequest: Math.round((after.cpuUs - before.cpuUs) / REQUESTS), gcUsPerRequest: Math.round(((after.gcMs - before.gcMs) * 1000) / REQUESTS), gcPauses: after.gcCount - before.gcCount, wallRps: Math.round(REQUESTS / seconds), failures };
      results.push(row);
      if (!process.argv.includes('--json')) console.log(`${label.padEnd(34)} CPU ${String(row.cpuUsPerRequest).padStart(5)} us/req  GC ${String(row.gcUsPerRequest).padStart(4)} us/req (${row.gcPauses} pauses)  ${row.wallRps} req/s wall${failures ? `  ${failures} FAILED` : ''}`);
    }
  } finally {
    for (const proc of [mlops, bare]) proc.child.kill('SIGTERM');
    await sleep(300);
    await rm(dir, { recursive: true, force: true });
  }
  const load = loadavg().map((l) => l.toFixed(1)).join(' ');
  if (process.argv.includes('--json')) console.log(JSON.stringify({ requests: REQUESTS, concurrency: CONCURRENCY, loadAverage: load, results }, null, 2));
  else console.log(`${REQUESTS} requests per row, ${CONCURRENCY} in flight, load average ${load} (2 cores)`);
}

await main();
