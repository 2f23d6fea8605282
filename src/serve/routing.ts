// A/B routing: which variant of an experiment serves a request. Sticky per user through
// a hash that is the same in every process, worker, replica and restart.
import { createHash } from 'node:crypto';

/** Buckets a user id falls into; weights are resolved to 1/100 of a percent. */
export const BUCKETS = 10_000;

export interface VariantWeight {
  name: string;
  weight: number;
}

/**
 * The sticky bucket of a user in an experiment (README "A/B tests", copy from here):
 *
 *   bucket = uint64(first 8 bytes of SHA-256(UTF-8 "<experiment>:<user id>"), big-endian) mod 10000
 *
 * The variants, in the order the experiment lists them, own consecutive ranges of the
 * 10,000 buckets in proportion to their weights: with weights 90 and 10, buckets 0-8999
 * go to the first variant and 9000-9999 to the second (range ends are
 * floor(cumulative weight * 10000 / total weight)). The hash depends only on the
 * experiment name and the user id, never on the process (Python's hash() is salted per
 * process, which is what broke stickiness in the design document's server), so a user
 * sees the same variant on every worker, every replica and after restarts. Renaming the
 * experiment reshuffles users; changing weights moves only the users whose bucket
 * crosses a range end.
 */
export function stickyBucket(experiment: string, userId: string): number {
  const digest = createHash('sha256').update(`${experiment}:${userId}`, 'utf8').digest();
  return Number(digest.readBigUInt64BE(0) % BigInt(BUCKETS));
}

/** Range ends of each variant in bucket space; the last is always BUCKETS. */
export function bucketBounds(variants: readonly VariantWeight[]): number[] {
  const total = variants.reduce((sum, v) => sum + v.weight, 0);
  let cumulative = 0;
  return variants.map((variant, index) => {
    cumulative += variant.weight;
    return index === variants.length - 1 ? BUCKETS : Math.floor((cumulative * BUCKETS) / total);
  });
}

/** The index of the variant that owns `bucket`. */
export function variantForBucket(bounds: readonly number[], bucket: number): number {
  for (let i = 0; i < bounds.length; i++) if (bucket < bounds[i]!) return i;
  return bounds.length - 1;
}

/**
 * Picks a variant index: sticky when a user id is given, else weighted random
 * (`random` returns [0, 1), Math.random in the server).
 */
export function chooseVariant(experiment: string, bounds: readonly number[], userId: string | undefined, random: () => number): number {
  const bucket = userId === undefined ? Math.floor(random() * BUCKETS) : stickyBucket(experiment, userId);
  return variantForBucket(bounds, bucket);
}

/**
 * Whether a request is copied to a shadow that takes `fraction` of the traffic: the
 * request id's bucket (SHA-256 of "shadow:<request id>", as for sticky buckets) is below
 * fraction * 10000. Deterministic per request id, the same in every process.
 */
export function shadowSampled(requestId: string, fraction: number): boolean {
  if (fraction >= 1) return true;
  return stickyBucket('shadow', requestId) < Math.round(fraction * BUCKETS);
}
