#!/usr/bin/env node
// The featureless reference for test/bench/serve.bench.mjs: node:http + onnxruntime-node,
// POST /predict {"features": [...]} -> {"prediction", "probability"}, no validation,
// routing, metrics or logs. With WORKERS > 1, a node:cluster of that many processes (the
// primary only forks), like `mlops serve --workers N`.
//
//   MODEL=examples/fraud/fraud-v1.onnx PORT=8002 WORKERS=2 node test/bench/bare_server.mjs
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';

const WORKERS = Number(process.env.WORKERS ?? 1);
const PORT = Number(process.env.PORT ?? 8002);

if (WORKERS > 1 && cluster.isPrimary) {
  for (let i = 0; i < WORKERS; i++) cluster.fork();
  process.once('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill('SIGTERM');
    process.exit(0);
  });
} else {
  const ort = createRequire(import.meta.url)('onnxruntime-node');
  const session = await ort.InferenceSession.create(readFileSync(process.env.MODEL), { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
  const input = session.inputNames[0];
  const server = createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', async () => {
      const features = JSON.parse(Buffer.concat(chunks).toString()).features;
      const out = await session.run({ [input]: new ort.Tensor('float32', Float32Array.from(features), [1, features.length]) });
      const text = JSON.stringify({ prediction: Number(out.label.data[0]), probability: Array.from(out.probabilities.data) });
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      response.end(text);
    });
  });
  server.listen(PORT, '127.0.0.1');
  process.once('SIGTERM', () => process.exit(0));
}
