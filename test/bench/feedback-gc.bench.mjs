#!/usr/bin/env node
// GC cost of the feedback memory (the last 100,000 predicted rows per worker, kept for
// POST /feedback), per request: the Map-of-objects layout serve used until issue 14 vs
// src/serve/recent-ring.ts (typed arrays), with a request's other short-lived garbage
// (JSON parse and stringify, a UUID) in both, and a run that remembers nothing.
// Needs dist/ (npm run build). Prints total time, GC pauses (count, total, max) per layout.
//
// Measured 2026-12-04 on the 2 shared cores, 400,000 requests, two runs (load average 11
// and 20: absolute times vary 3x with the load, the ratios do not):
//   Map of objects, 100k rows   GC 88-100 pauses, 2.8-3.4 s (7.4-8.9 s busier), max 218-508 ms
//   typed-array ring, 100k rows GC 43-67 pauses, 270-336 ms (630-819 ms busier), max 18-182 ms
//   nothing remembered          GC 41-42 pauses, 167-260 ms (232-628 ms busier), max 14-100 ms
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PerformanceObserver } from 'node:perf_hooks';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { RecentRing } = await import(pathToFileURL(join(ROOT, 'dist', 'serve', 'recent-ring.js')).href);
const REQUESTS = Number(process.argv[2] ?? 400_000);
const CAPACITY = 100_000;

let pauses = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) pauses.push(entry.duration);
}).observe({ entryTypes: ['gc'] });

const body = '{"features":[4.85,6,0.03,26.9,358.7,6,24.6,1,0,0.17]}';
function request() {
  const parsed = JSON.parse(body);
  Float32Array.from(parsed.features);
  JSON.stringify({ prediction: 0, probability: [0.91, 0.09], model: 'fraud', version: 'v1.0.0', variant: 'default', timestamp: new Date().toISOString() });
  return randomUUID();
}

const route = { model: 'fraud', version: 'v1.0.0', variant: 'default' };
const layouts = {
  'Map of objects (before)': () => {
    const recent = new Map();
    let order = [];
    let head = 0;
    let rows = 0;
    return (id) => {
      const entry = { ...route, predictions: [0], metrics: route, answered: false };
      while (head < order.length && rows + 1 > CAPACITY) {
        const [oldId, old] = order[head++];
        if (recent.get(oldId) !== old) continue;
        recent.delete(oldId);
        rows -= 1;
      }
      if (head > 1024 && head * 2 > order.length) {
        order = order.slice(head);
        head = 0;
      }
      recent.set(id, entry);
      order.push([id, entry]);
      rows++;
    };
  },
  'typed-array ring (recent-ring.ts)': () => {
    const ring = new RecentRing(CAPACITY);
    const predictions = [0];
    return (id) => ring.set(id, route, predictions);
  },
  'nothing remembered': () => () => undefined,
};

const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`${REQUESTS.toLocaleString('en')} requests per run, load average ${load()}`);
for (let round = 1; round <= 2; round++) {
  for (const [name, make] of Object.entries(layouts)) {
    const remember = make();
    pauses = [];
    const start = performance.now();
    for (let i = 0; i < REQUESTS; i++) remember(request());
    await new Promise((r) => setTimeout(r, 20));
    const total = pauses.reduce((a, b) => a + b, 0);
    console.log(`round ${round}  ${name.padEnd(36)} ${(performance.now() - start).toFixed(0).padStart(6)} ms   GC ${String(pauses.length).padStart(3)} pauses ${total.toFixed(0).padStart(6)} ms, max ${Math.max(0, ...pauses).toFixed(1)} ms`);
  }
}
