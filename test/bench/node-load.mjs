// A closed-loop load generator in Node for what wrk cannot send: gRPC ModelInfer, and the
// same request over HTTP from the same kind of client, so that the two rows compare like
// with like (a Node client costs more CPU than wrk; on 2 shared cores that matters).
// `connections` loops, each with one call in flight, for `durationSeconds`.
import { request as httpRequest, Agent } from 'node:http';
import { createRequire } from 'node:module';
import { createHistogram } from 'node:perf_hooks';

const require = createRequire(import.meta.url);

function summarize(label, histogram, count, errors, seconds, cpu) {
  const ms = (ns) => ns / 1e6;
  // The client's own CPU per call: on 2 shared cores it is taken from the server.
  const clientCpuUsPerCall = Math.round((cpu.user + cpu.system) / Math.max(1, count));
  return { label, rps: count / seconds, p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), p999: ms(histogram.percentile(99.9)), max: ms(histogram.max), non2xx: errors, clientCpuUsPerCall };
}

async function closedLoop(label, connections, durationSeconds, call) {
  const histogram = createHistogram();
  let count = 0;
  let errors = 0;
  const start = performance.now();
  const cpu = process.cpuUsage();
  const end = start + durationSeconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async (_, index) => {
      while (performance.now() < end) {
        const t = process.hrtime.bigint();
        const ok = await call(index).then(
          () => true,
          () => false,
        );
        histogram.record(Math.max(1, Number(process.hrtime.bigint() - t)));
        count++;
        if (!ok) errors++;
      }
    }),
  );
  return summarize(label, histogram, count, errors, (performance.now() - start) / 1000, process.cpuUsage(cpu));
}

/**
 * gRPC ModelInfer: `connections` calls in flight over `channels` channels (HTTP/2
 * connections; default 4, so 4 calls share each one, like a real client multiplexing).
 * The client's channelz is off: it only adds per-call bookkeeping to a CPU-bound client.
 */
export async function grpcLoad({ label, root, port, request, connections, durationSeconds, channels = Math.min(4, connections) }) {
  const grpc = require(`${root}/node_modules/@grpc/grpc-js`);
  const protoLoader = require(`${root}/node_modules/@grpc/proto-loader`);
  const definition = protoLoader.loadSync(`${root}/dist/serve/grpc/grpc_predict_v2.proto`, { keepCase: true, longs: Number, defaults: true, oneofs: true });
  const Service = grpc.loadPackageDefinition(definition).inference.GRPCInferenceService;
  const clients = Array.from({ length: channels }, () => new Service(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1, 'grpc.enable_channelz': 0 }));
  const call = (index) => new Promise((resolve, reject) => clients[index % channels].ModelInfer(request, (error, response) => (error ? reject(error) : resolve(response))));
  for (let i = 0; i < 200; i++) await call(i).catch(() => undefined);
  try {
    return await closedLoop(label, connections, durationSeconds, call);
  } finally {
    for (const client of clients) client.close();
  }
}

/** HTTP POST with keep-alive, `connections` sockets. */
export async function httpLoad({ label, port, path, body, headers, connections, durationSeconds }) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const call = () =>
    new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-length': body.length, ...headers } }, (res) => {
        res.on('data', () => undefined);
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(String(res.statusCode)))));
      });
      req.on('error', reject);
      req.end(body);
    });
  for (let i = 0; i < 200; i++) await call().catch(() => undefined);
  try {
    return await closedLoop(label, connections, durationSeconds, call);
  } finally {
    agent.destroy();
  }
}
