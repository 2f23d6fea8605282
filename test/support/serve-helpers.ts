// Fixtures for the serve tests: a temp registry holding the fraud example (v1 production,
// v2 staging), tiny ONNX models encoded by hand (typed identities, a two-input adder),
// an in-process server on a free port, and small HTTP helpers.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { registerVersion } from '../../src/registry/register.js';
import { promote } from '../../src/registry/promote.js';
import { Registry } from '../../src/registry/registry.js';
import type { VersionRecord } from '../../src/registry/types.js';
import type { ServeEvent } from '../../src/serve/events.js';
import type { ServeOptions } from '../../src/serve/options.js';
import { startServer, type ServerHandle } from '../../src/serve/server.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const EXAMPLE = join(ROOT, 'examples', 'fraud');
export const FRAUD_V1 = join(EXAMPLE, 'fraud-v1.onnx');
export const FRAUD_V2 = join(EXAMPLE, 'fraud-v2.onnx');
export const REFERENCE_CSV = join(EXAMPLE, 'reference.csv');

/** The first rows of the example's reference data: realistic, in-distribution inputs. */
export async function referenceRows(count = 50): Promise<number[][]> {
  const lines = (await readFile(REFERENCE_CSV, 'utf8')).trim().split('\n').slice(1, count + 1);
  return lines.map((line) => line.split(',').map(Number));
}

export const ZERO_ROW = Array.from({ length: 10 }, () => 0);

export interface TestRegistry {
  dir: string;
  registry: Registry;
  register(name: string, modelPath: string, version: string, options?: { reference?: boolean }): Promise<VersionRecord>;
  promote(name: string, version: string): Promise<void>;
  cleanup(): Promise<void>;
}

const now = () => new Date();

export async function makeRegistry(): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'mlops-serve-'));
  const { registry } = await Registry.init(join(dir, 'registry'), now());
  return {
    dir,
    registry,
    register: (name, modelPath, version, options = {}) =>
      registerVersion(registry, {
        name,
        modelPath,
        version,
        user: 'test',
        source: { path: modelPath },
        now,
        ...(options.reference === false ? {} : { referenceDataPath: REFERENCE_CSV }),
      }),
    promote: async (name, version) => {
      await promote(registry, { name, version, to: 'production' }, { user: 'test', now });
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** The fraud example: v1.0.0 in production, v2.0.0 in staging. */
export async function makeFraudRegistry(): Promise<TestRegistry> {
  const reg = await makeRegistry();
  await reg.register('fraud', FRAUD_V1, 'v1.0.0');
  await reg.register('fraud', FRAUD_V2, 'v2.0.0');
  await reg.promote('fraud', 'v1.0.0');
  return reg;
}

export interface TestServer extends ServerHandle {
  events: ServeEvent[];
}

export async function startTestServer(registryDir: string, options: Partial<ServeOptions> = {}): Promise<TestServer> {
  const events: ServeEvent[] = [];
  const handle = await startServer({
    registryDir,
    host: '127.0.0.1',
    port: 0,
    workers: 1,
    pollIntervalMs: 100,
    ...options,
    onEvent: (event) => {
      events.push(event);
      options.onEvent?.(event);
    },
  });
  await handle.ready;
  return Object.assign(handle, { events });
}

export interface JsonResponse {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return toJson(response);
}

export async function getJson(url: string): Promise<JsonResponse> {
  return toJson(await fetch(url));
}

async function toJson(response: Response): Promise<JsonResponse> {
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, body, text };
}

/** A raw HTTP request over node:http (fetch refuses some of what a hostile client sends). */
export function rawRequest(url: string, options: { method?: string; path: string; headers?: Record<string, string | number>; body?: string | Buffer }): Promise<{ status: number; body: string }> {
  const target = new URL(url);
  return new Promise((resolvePromise, reject) => {
    const req = httpRequest({ host: target.hostname, port: target.port, method: options.method ?? 'POST', path: options.path, headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

// ---------------------------------------------------------------------------------------
// Hand-encoded ONNX (protobuf) for test models the example does not cover.

const ELEM_TYPES: Record<string, number> = { float32: 1, uint8: 2, int8: 3, uint16: 4, int16: 5, int32: 6, int64: 7, string: 8, bool: 9, float16: 10, float64: 11, uint32: 12, uint64: 13 };

function varint(value: number | bigint): number[] {
  let v = BigInt(value);
  if (v < 0n) v += 1n << 64n;
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}

const key = (field: number, wire: number) => varint((field << 3) | wire);
const intField = (field: number, value: number) => [...key(field, 0), ...varint(value)];
function bytesField(field: number, data: number[] | Uint8Array): number[] {
  return [...key(field, 2), ...varint(data.length), ...data];
}
const stringField = (field: number, text: string) => bytesField(field, [...Buffer.from(text, 'utf8')]);

export interface TestTensor {
  name: string;
  type: string;
  /** Numbers are fixed, strings are symbolic ("batch"). */
  shape: Array<number | string>;
}

function valueInfo(tensor: TestTensor): number[] {
  const dims = tensor.shape.flatMap((d) => bytesField(1, typeof d === 'number' ? intField(1, d) : stringField(2, d)));
  const tensorType = [...intField(1, ELEM_TYPES[tensor.type]!), ...bytesField(2, dims)];
  return [...stringField(1, tensor.name), ...bytesField(2, bytesField(1, tensorType))];
}

export interface TestNode {
  op: string;
  inputs: string[];
  outputs: string[];
}

export function encodeModel(graph: { inputs: TestTensor[]; outputs: TestTensor[]; nodes: TestNode[] }): Uint8Array {
  const nodes = graph.nodes.flatMap((node, index) =>
    bytesField(1, [...node.inputs.flatMap((n) => stringField(1, n)), ...node.outputs.flatMap((n) => stringField(2, n)), ...stringField(3, `n${index}`), ...stringField(4, node.op)]),
  );
  const body = [...nodes, ...stringField(2, 'test'), ...graph.inputs.flatMap((t) => bytesField(11, valueInfo(t))), ...graph.outputs.flatMap((t) => bytesField(12, valueInfo(t)))];
  const model = [...intField(1, 8), ...stringField(2, 'mlops-test'), ...bytesField(7, body), ...bytesField(8, [...stringField(1, ''), ...intField(2, 13)])];
  return Uint8Array.from(model);
}

/** x [batch, width] of `type` -> y = x. */
export function identityModel(type: string, width: number): Uint8Array {
  return encodeModel({
    inputs: [{ name: 'x', type, shape: ['batch', width] }],
    outputs: [{ name: 'y', type, shape: ['batch', width] }],
    nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
  });
}

/** a, b [batch, 2] float32 -> sum = a + b: a non-tabular (two-input) model for V2. */
export function adderModel(): Uint8Array {
  return encodeModel({
    inputs: [
      { name: 'a', type: 'float32', shape: ['batch', 2] },
      { name: 'b', type: 'float32', shape: ['batch', 2] },
    ],
    outputs: [{ name: 'sum', type: 'float32', shape: ['batch', 2] }],
    nodes: [{ op: 'Add', inputs: ['a', 'b'], outputs: ['sum'] }],
  });
}

export async function writeModel(dir: string, name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolvePromise) => setTimeout(resolvePromise, ms));
}

// ---------------------------------------------------------------------------------------
// `mlops serve` as a real child process (signals, --workers, CLI flags).

export interface ServeProcess {
  url: string;
  child: import('node:child_process').ChildProcess;
  stderr: () => string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

/**
 * Starts `mlops serve --registry DIR --host 127.0.0.1 --port 0 ...args` and waits for
 * "listening on http://HOST:PORT" on stderr.
 */
export async function startServeProcess(registryDir: string, args: string[], timeoutMs = 30_000): Promise<ServeProcess> {
  const { spawn } = await import('node:child_process');
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` before the serve process tests (npm test does)');
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'mlops'), 'serve', '--registry', registryDir, '--host', '127.0.0.1', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolvePromise) => child.once('exit', (code) => resolvePromise(code)));
  const url = await new Promise<string>((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`mlops serve did not print "listening on" within ${timeoutMs} ms:\n${stderr}`)), timeoutMs);
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolvePromise(match[1]!.replace('0.0.0.0', '127.0.0.1'));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`mlops serve exited (${code}) before listening:\n${stderr}`));
    });
  });
  return { url, child, stderr: () => stderr, exited, kill: (signal = 'SIGTERM') => child.kill(signal) };
}
