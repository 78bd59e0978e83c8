import fc from 'fast-check';
import { seededRandom } from './stats.js';

export function gaussian(n: number, seed: number): Float32Array {
  const u = seededRandom(seed);
  return Float32Array.from(
    { length: n },
    () => Math.sqrt(-2 * Math.log(u() || 1e-12)) * Math.cos(2 * Math.PI * u()),
  );
}

/** Small finite weight vectors, zeros included. */
export const weights = (min = 1, max = 60) =>
  fc
    .array(fc.oneof(fc.constant(0), fc.float({ min: -4, max: 4, noNaN: true, noDefaultInfinity: true })), {
      minLength: min,
      maxLength: max,
    })
    .map((a) => Float32Array.from(a));
