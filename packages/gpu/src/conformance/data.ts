import { seededRandom } from '@zeroskip/quant';

/** Seeded values in [−1, 1), a `sparsity` fraction of them exactly 0. */
export function randomArray(n: number, seed: number, sparsity = 0): Float32Array {
  const r = seededRandom(seed);
  return Float32Array.from({ length: n }, () => (r() < sparsity ? 0 : r() * 2 - 1));
}
