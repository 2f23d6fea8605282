// Registry on a folder and on S3, in one run: register a small and a 300 MB model (vs a
// plain SDK upload of the same bytes), `list` of 1,000 versions, promote, and serve's
// reload latency after a promote. Targets (issue 10): 300 MB register < 2x the SDK
// upload; list of 1,000 versions on the bucket < 1 s; reload within 2 s of a promote.
//
// S3: set MLOPS_BENCH_S3=s3://BUCKET/PREFIX plus the AWS_* variables (AWS_ENDPOINT_URL_S3
// for RGW or MinIO); without it only the folder is measured.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'bin', 'mlops');
const V1 = join(root, 'examples/fraud/fraud-v1.onnx');
const V2 = join(root, 'examples/fraud/fraud-v2.onnx');
const dir = mkdtempSync(join(tmpdir(), 'mlops-bench-registry-'));
const s3Base = process.env.MLOPS_BENCH_S3?.replace(/\/+$/, '');
const env = { ...process.env, MLOPS_USER: 'bench', MLOPS_CACHE_DIR: join(dir, 'cache'), NO_COLOR: '1', CI: '1' };

const seconds = (start) => Number(process.hrtime.bigint() - start) / 1e9;
const run = (args) => {
  const start = process.hrtime.bigint();
  execFileSync('node', [bin, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  return seconds(start);
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const max = (xs) => Math.max(...xs);

/** fraud-v1.onnx plus an unused 300 MB initializer: protobuf merges a repeated `graph` field into the first. */
function bigModel(path, bytes) {
  const varint = (n) => {
    const out = [];
    while (n > 127) {
      out.push((n & 127) | 128);
      n = Math.floor(n / 128);
    }
    out.push(n);
    return Buffer.from(out);
  };
  const field = (number, payload) => Buffer.concat([varint((number << 3) | 2), varint(payload.length), payload]);
  const floats = bytes / 4;
  const header = Buffer.concat([Buffer.from([0x08]), varint(floats), Buffer.from([0x10, 0x01]), field(8, Buffer.from('bench_padding'))]);
  const tensorLength = header.length + varint((9 << 3) | 2).length + varint(bytes).length + bytes;
  const graphLength = varint((5 << 3) | 2).length + varint(tensorLength).length + tensorLength;
  const fd = openSync(path, 'w');
  writeSync(fd, readFileSync(V1));
  writeSync(fd, Buffer.concat([varint((7 << 3) | 2), varint(graphLength), varint((5 << 3) | 2), varint(tensorLength), header, varint((9 << 3) | 2), varint(bytes)]));
  const chunk = randomBytes(16 * 1024 * 1024);
  for (let left = bytes; left > 0; left -= chunk.length) writeSync(fd, left >= chunk.length ? chunk : chunk.subarray(0, left));
  closeSync(fd);
}

async function sdkUpload(file, url) {
  const { S3Client } = await import('@aws-sdk/client-s3');
  const { Upload } = await import('@aws-sdk/lib-storage');
  const { createReadStream } = await import('node:fs');
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL;
  const client = new S3Client({ region: env.AWS_REGION || 'us-east-1', ...(endpoint ? { endpoint, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED' } : {}) });
  const start = process.hrtime.bigint();
  await new Upload({ client, params: { Bucket: m[1], Key: `${m[2]}/sdk-baseline-${randomBytes(4).toString('hex')}`, Body: createReadStream(file) }, partSize: 16 * 1024 * 1024, queueSize: 4 }).done();
  return seconds(start);
}

async function reloadLatency(registry) {
  run(['--registry', registry, 'promote', 'fraud', 'v1.0.0']);
  const child = spawn('node', [bin, '--registry', registry, 'serve', '--json', '--host', '127.0.0.1', '--port', '0', '--workers', '1'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(stderr)), 60_000);
    child.stderr.on('data', (c) => {
      stderr += c;
      const hit = stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).find((e) => e.type === 'listening');
      if (hit) {
        clearTimeout(timer);
        resolve(hit.url);
      }
    });
  });
  const served = async () => (await (await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ features: Array(10).fill(1) }) })).json()).version;
  const latencies = [];
  for (const version of ['v1.0.1', 'v1.0.0', 'v1.0.1', 'v1.0.0', 'v1.0.1']) {
    run(['--registry', registry, 'promote', 'fraud', version]);
    const start = process.hrtime.bigint(); // from the moment promote has returned
    while ((await served()) !== version) await new Promise((r) => setTimeout(r, 20));
    latencies.push(seconds(start));
  }
  child.kill('SIGTERM');
  return latencies;
}

async function bench(label, registry, big) {
  const rows = [];
  run(['--registry', registry, 'init']);
  const small = [];
  for (let i = 0; i < 5; i++) small.push(run(['--registry', registry, 'register', 'fraud', i % 2 ? V2 : V1]));
  rows.push([`${label}: register 422 B model`, median(small), max(small), '']);
  const promotes = [];
  for (let i = 0; i < 5; i++) promotes.push(run(['--registry', registry, 'promote', 'fraud', `v1.0.${i % 2}`]));
  rows.push([`${label}: promote`, median(promotes), max(promotes), '']);
  const reload = await reloadLatency(registry);
  rows.push([`${label}: serve reload after promote (poll 1 s)`, median(reload), max(reload), max(reload) < 2 ? '< 2 s ok' : '< 2 s MISSED']);
  const bigTime = run(['--registry', registry, 'register', 'big', big]);
  let sdk;
  if (registry.startsWith('s3://')) sdk = await sdkUpload(big, registry);
  rows.push([`${label}: register 300 MB model`, bigTime, bigTime, sdk ? `${(bigTime / sdk).toFixed(2)}x SDK upload (${sdk.toFixed(2)} s) ${bigTime < 2 * sdk ? '< 2x ok' : '< 2x MISSED'}` : '']);
  return rows;
}

async function listThousand(label, registry) {
  // One real register, then 999 more records the way register writes them.
  run(['--registry', registry, 'register', 'many', V1, '--version', 'v1.0.0']);
  const { openStore } = await import(join(root, 'dist/store/open.js'));
  const store = await openStore(registry, env);
  const template = (await store.get('models/many/versions/v1.0.0.yaml')).body.toString();
  const versions = Array.from({ length: 999 }, (_, i) => `v2.${Math.floor(i / 100)}.${i % 100}`);
  for (let i = 0; i < versions.length; i += 50) await Promise.all(versions.slice(i, i + 50).map((v) => store.putIfAbsent(`models/many/versions/${v}.yaml`, template.replace('version: v1.0.0', `version: ${v}`))));
  const cold = [];
  const warm = [];
  for (let i = 0; i < 3; i++) {
    rmSync(join(dir, 'cache'), { recursive: true, force: true });
    if (!registry.startsWith('s3://')) rmSync(join(registry, '.cache'), { recursive: true, force: true });
    cold.push(run(['--registry', registry, 'list', 'many']));
    warm.push(run(['--registry', registry, 'list', 'many']));
  }
  return [
    [`${label}: list 1,000 versions (no cache)`, median(cold), max(cold), registry.startsWith('s3://') ? (max(cold) < 1 ? '< 1 s ok' : '< 1 s MISSED') : ''],
    [`${label}: list 1,000 versions (cached)`, median(warm), max(warm), registry.startsWith('s3://') ? (max(warm) < 1 ? '< 1 s ok' : '< 1 s MISSED') : ''],
  ];
}

try {
  const big = join(dir, 'big.onnx');
  bigModel(big, 300 * 1024 * 1024);
  const rows = [];
  rows.push(...(await bench('folder', join(dir, 'registry'), big)));
  rows.push(...(await listThousand('folder', join(dir, 'registry'))));
  if (s3Base) {
    const s3 = `${s3Base}/bench-${randomBytes(4).toString('hex')}`;
    rows.push(...(await bench('s3', s3, big)));
    rows.push(...(await listThousand('s3', s3)));
  } else {
    console.log('S3: skipped (set MLOPS_BENCH_S3=s3://BUCKET/PREFIX and the AWS_* variables)');
  }
  console.log(`${'measure'.padEnd(46)} ${'median s'.padStart(9)} ${'max s'.padStart(8)}  target`);
  for (const [name, med, worst, note] of rows) console.log(`${name.padEnd(46)} ${med.toFixed(3).padStart(9)} ${worst.toFixed(3).padStart(8)}  ${note}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
