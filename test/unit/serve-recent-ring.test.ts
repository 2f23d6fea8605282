// The typed-array feedback storage against a plain reference model of the same rules:
// bounded by rows, oldest evicted first, the newest prediction wins for a reused id.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RecentRing } from '../../src/serve/recent-ring.js';

function reference(capacity: number) {
  const queue: Array<{ id: string; route: object; predictions: unknown[]; live: boolean; answered: boolean }> = [];
  let used = 0;
  return {
    set(id: string, route: object, predictions: unknown[]) {
      for (const entry of queue) if (entry.id === id && entry.live) entry.live = false;
      if (predictions.length === 0 || predictions.length > capacity) return;
      while (queue.length > 0 && used + predictions.length > capacity) used -= queue.shift()!.predictions.length;
      queue.push({ id, route, predictions: [...predictions], live: true, answered: false });
      used += predictions.length;
    },
    get(id: string) {
      const entry = queue.find((e) => e.id === id && e.live);
      return entry && { route: entry.route, predictions: entry.predictions, answered: entry.answered };
    },
    markAnswered(id: string) {
      const entry = queue.find((e) => e.id === id && e.live);
      if (entry) entry.answered = true;
    },
  };
}

describe('RecentRing', () => {
  it('keeps predictions of every kind, by UUID and by any other id', () => {
    const ring = new RecentRing<object>(100);
    const route = { variant: 'a' };
    const id = randomUUID();
    ring.set(id, route, [0, 1.5, true, false, 'fraud', { deep: [1] }, null, -0]);
    ring.set('client id 7', route, [42]);
    expect(ring.get(id)).toEqual({ route, predictions: [0, 1.5, true, false, 'fraud', { deep: [1] }, null, -0], answered: false });
    expect(ring.get(id.toUpperCase())).toEqual(ring.get(id));
    expect(ring.get('client id 7')!.predictions).toEqual([42]);
    expect(ring.get('client id 8')).toBeUndefined();
    ring.markAnswered('client id 7');
    expect(ring.get('client id 7')!.answered).toBe(true);
    expect(ring.size).toBe(2);
  });

  it('matches the reference model over 20,000 random operations (small capacity, reused ids, wrap-around)', () => {
    let seed = 12345;
    const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const routes = [{ r: 0 }, { r: 1 }, { r: 2 }];
    for (const capacity of [1, 7, 64]) {
      const ring = new RecentRing<object>(capacity);
      const model = reference(capacity);
      const ids = Array.from({ length: capacity * 3 }, (_, i) => (i % 2 ? randomUUID() : `id-${i}`));
      for (let step = 0; step < 20_000; step++) {
        const id = ids[Math.floor(random() * ids.length)]!;
        const op = random();
        if (op < 0.6) {
          const rows = 1 + Math.floor(random() * Math.min(4, capacity + 1));
          const predictions = Array.from({ length: rows }, () => [Math.floor(random() * 3), random() < 0.5, `c${Math.floor(random() * 3)}`][Math.floor(random() * 3)]);
          const route = routes[Math.floor(random() * routes.length)]!;
          ring.set(id, route, predictions);
          model.set(id, route, predictions);
        } else if (op < 0.7) {
          ring.markAnswered(id);
          model.markAnswered(id);
        } else {
          expect(ring.get(id), `capacity ${capacity} step ${step}`).toEqual(model.get(id));
        }
      }
      for (const id of ids) expect(ring.get(id)).toEqual(model.get(id));
    }
  });

  it('does not keep a request with more rows than the capacity', () => {
    const ring = new RecentRing<object>(3);
    ring.set('a', {}, [1]);
    ring.set('big', {}, [1, 2, 3, 4]);
    expect(ring.get('big')).toBeUndefined();
    expect(ring.get('a')).toBeDefined();
  });
});
