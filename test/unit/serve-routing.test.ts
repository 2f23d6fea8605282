// The sticky A/B hash: documented, process-independent, and splitting users by weight.
import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { BUCKETS, bucketBounds, chooseVariant, stickyBucket, variantForBucket } from '../../src/serve/routing.js';

describe('stickyBucket', () => {
  test('is the first 8 bytes of SHA-256("<experiment>:<user>") as a big-endian uint64, mod 10000', () => {
    for (const user of ['alice', 'bob', '12345', 'ünïcødé', '']) {
      const digest = createHash('sha256').update(Buffer.from(`fraud:${user}`, 'utf8')).digest();
      expect(stickyBucket('fraud', user)).toBe(Number(digest.readBigUInt64BE(0) % 10000n));
    }
  });

  test('fixed values (these must never change: they are what users were assigned)', () => {
    // Python: int.from_bytes(hashlib.sha256(b"fraud:alice").digest()[:8], "big") % 10000
    const expected = Number(createHash('sha256').update('fraud:alice').digest().readBigUInt64BE(0) % 10000n);
    expect(stickyBucket('fraud', 'alice')).toBe(expected);
    expect(stickyBucket('fraud', 'alice')).toBe(stickyBucket('fraud', 'alice'));
    // A different experiment reshuffles.
    const moved = Array.from({ length: 200 }, (_, i) => `u${i}`).filter((u) => stickyBucket('fraud', u) !== stickyBucket('fraud-2', u));
    expect(moved.length).toBeGreaterThan(190);
  });
});

describe('bucketBounds and variantForBucket', () => {
  test('90/10 owns buckets 0-8999 and 9000-9999', () => {
    const bounds = bucketBounds([{ name: 'a', weight: 90 }, { name: 'b', weight: 10 }]);
    expect(bounds).toEqual([9000, BUCKETS]);
    expect(variantForBucket(bounds, 0)).toBe(0);
    expect(variantForBucket(bounds, 8999)).toBe(0);
    expect(variantForBucket(bounds, 9000)).toBe(1);
    expect(variantForBucket(bounds, 9999)).toBe(1);
  });

  test('weights need not add up to 100; a zero weight gets nothing', () => {
    expect(bucketBounds([{ name: 'a', weight: 1 }, { name: 'b', weight: 1 }, { name: 'c', weight: 2 }])).toEqual([2500, 5000, 10000]);
    const bounds = bucketBounds([{ name: 'a', weight: 0 }, { name: 'b', weight: 3 }]);
    expect(bounds).toEqual([0, 10000]);
    expect(variantForBucket(bounds, 0)).toBe(1);
  });
});

describe('chooseVariant', () => {
  test('10,000 user ids split 90/10 within ±2%', () => {
    const bounds = bucketBounds([{ name: 'a', weight: 90 }, { name: 'b', weight: 10 }]);
    let second = 0;
    for (let i = 0; i < 10_000; i++) if (chooseVariant('fraud', bounds, `user-${i}`, Math.random) === 1) second++;
    expect(second / 10_000).toBeGreaterThan(0.08);
    expect(second / 10_000).toBeLessThan(0.12);
  });

  test('three arms 50/30/20 over 10,000 users within ±2%', () => {
    const bounds = bucketBounds([{ name: 'a', weight: 50 }, { name: 'b', weight: 30 }, { name: 'c', weight: 20 }]);
    const counts = [0, 0, 0];
    for (let i = 0; i < 10_000; i++) counts[chooseVariant('checkout', bounds, `customer-${i * 7919}`, Math.random)]!++;
    expect(counts.map((c) => Math.abs(c / 10_000 - [0.5, 0.3, 0.2][counts.indexOf(c)]!) < 0.02)).toEqual([true, true, true]);
  });

  test('without a user id the random source decides', () => {
    const bounds = bucketBounds([{ name: 'a', weight: 90 }, { name: 'b', weight: 10 }]);
    expect(chooseVariant('fraud', bounds, undefined, () => 0.899)).toBe(0);
    expect(chooseVariant('fraud', bounds, undefined, () => 0.9)).toBe(1);
    expect(chooseVariant('fraud', bounds, undefined, () => 0.99999)).toBe(1);
  });

  test('a user id ignores the random source', () => {
    const bounds = bucketBounds([{ name: 'a', weight: 50 }, { name: 'b', weight: 50 }]);
    const fixed = chooseVariant('fraud', bounds, 'alice', () => 0);
    expect(chooseVariant('fraud', bounds, 'alice', () => 0.999)).toBe(fixed);
  });
});
