// Ascending sort of a Float64Array by LSD radix sort on the IEEE-754 bits: 4 passes of 16 bits.
// Measured here (node 20, 2 shared cores, 1,000,000 doubles): radix 24-34 ms, Float64Array.sort 95-115 ms;
// sorting is half of reading a 1,000,000 x 20 CSV column set (0.48 s of 1.1 s per file).

// Below ~10,000 values the 4 x 65,536-slot histograms cost more than they save (5,000: 0.42 ms vs 0.30 ms native).
const RADIX_MIN_LENGTH = 10_000;

/**
 * Sorts finite-or-infinite, NaN-free values in place, ascending (-0 before +0). `scratch` can be
 * passed to reuse one buffer of at least values.length doubles across calls.
 */
export function sortFloat64(values: Float64Array, scratch?: Float64Array): Float64Array {
  const n = values.length;
  if (n < RADIX_MIN_LENGTH) return values.sort();
  const tmp = scratch && scratch.length >= n ? scratch.subarray(0, n) : new Float64Array(n);
  // Work on the two 32-bit halves (little-endian: low word first). Moving words, not doubles,
  // keeps NaN-looking transformed keys from ever being read as numbers.
  let src = new Uint32Array(values.buffer, values.byteOffset, n * 2);
  let dst = new Uint32Array(tmp.buffer, tmp.byteOffset, n * 2);

  // Key transform that makes the unsigned integer order match the numeric order:
  // negatives flip every bit, positives flip the sign bit. Applied on the fly to read digits.
  const histograms = new Uint32Array(4 * 65536);
  for (let i = 0; i < n; i++) {
    const lo = src[2 * i]!;
    const hi = src[2 * i + 1]!;
    const mask = hi >> 31; // 0 or -1
    const keyLo = (lo ^ mask) >>> 0;
    const keyHi = (hi ^ (mask | 0x80000000)) >>> 0;
    histograms[keyLo & 0xffff]!++;
    histograms[65536 + (keyLo >>> 16)]!++;
    histograms[131072 + (keyHi & 0xffff)]!++;
    histograms[196608 + (keyHi >>> 16)]!++;
  }

  let swapped = false;
  for (let pass = 0; pass < 4; pass++) {
    const base = pass * 65536;
    // A pass where every key has the same digit changes nothing: skip it.
    let skip = false;
    for (let d = 0; d < 65536; d++) {
      const count = histograms[base + d]!;
      if (count === n) skip = true;
      if (count !== 0) break;
    }
    if (skip) continue;
    // Exclusive prefix sums give each digit's first output slot.
    let sum = 0;
    for (let d = 0; d < 65536; d++) {
      const count = histograms[base + d]!;
      histograms[base + d] = sum;
      sum += count;
    }
    const useHigh = pass >= 2;
    const shift = pass % 2 === 0 ? 0 : 16;
    for (let i = 0; i < n; i++) {
      const lo = src[2 * i]!;
      const hi = src[2 * i + 1]!;
      const mask = hi >> 31;
      const key = useHigh ? (hi ^ (mask | 0x80000000)) >>> 0 : (lo ^ mask) >>> 0;
      const digit = (key >>> shift) & 0xffff;
      const slot = histograms[base + digit]!++;
      dst[2 * slot] = lo;
      dst[2 * slot + 1] = hi;
    }
    [src, dst] = [dst, src];
    swapped = !swapped;
  }
  if (swapped) values.set(tmp);
  return values;
}
