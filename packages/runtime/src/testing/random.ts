import { seededRandom } from '@zeroskip/quant';
import { sizeOf, type Tensor } from '../tensor.js';
import { type ElemType, toTensor, type Value, value } from './onnx-graph.js';

// Seeded test data from one linear congruential generator: reproducible, fast, and the same values
// for the same seed in every test.

/** `n` seeded pseudo-random numbers in [lo, hi). */
export function uniform(n: number, seed: number, lo = -1, hi = 1): number[] {
  let s = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0;
    return lo + (hi - lo) * (s / 2 ** 32);
  });
}

/** `n` seeded numbers in [-1, 1), about a share `zeros` of them 0 (pruned weights). */
export function prunedUniform(n: number, seed: number, zeros = 0): number[] {
  const keep = uniform(n, seed + 1, 0, 1);
  return uniform(n, seed).map((v, i) => (keep[i]! < zeros ? 0 : v));
}

/**
 * Seeded values of a shape: floats in [lo, hi) (rounded to float32), integers floored from that range,
 * bools 0 or 1 evenly (whatever the range).
 */
export function randomValue(dtype: ElemType, shape: readonly number[], seed: number, lo = -1, hi = 1): Value {
  const n = sizeOf(shape);
  if (dtype === 'bool')
    return value(
      dtype,
      shape,
      uniform(n, seed, 0, 1).map((u) => (u < 0.5 ? 0 : 1)),
    );
  const u = uniform(n, seed, lo, hi);
  return value(dtype, shape, u.map(dtype === 'float32' || dtype === 'float64' ? Math.fround : Math.floor));
}

/** Seeded float32 values of a shape in [lo, hi). */
export const randomFloats = (shape: readonly number[], seed: number, lo = -1, hi = 1): Value =>
  randomValue('float32', shape, seed, lo, hi);

/** Seeded values of a dtype: floats in [-2, 2), small integers (so that ties are common), or bits. */
export const smallValue = (dtype: ElemType, shape: readonly number[], seed: number): Value =>
  dtype === 'uint8'
    ? randomValue(dtype, shape, seed, 0, 9)
    : dtype === 'int64' || dtype === 'int32'
      ? randomValue(dtype, shape, seed, -4, 5)
      : randomValue(dtype, shape, seed, -2, 2);

/** Seeded float32 values of a shape in [lo, hi), as a runtime tensor. */
export const randomTensor = (shape: readonly number[], seed: number, lo = -1, hi = 1): Tensor =>
  toTensor(randomFloats(shape, seed, lo, hi));

/** Weights [rows, cols], ±α or with `zeros` {−α, 0, α}: one α per row, or per column. */
export function gridWeights(rows: number, cols: number, alphaPerRow: boolean, zeros: boolean, seed: number) {
  const r = seededRandom(seed);
  const alpha = Array.from({ length: alphaPerRow ? rows : cols }, () => 0.1 + r());
  return Float32Array.from({ length: rows * cols }, (_, i) => {
    const v = r();
    // the first weight stays non-zero: a layer of zeros is CSR's
    if (zeros && v < 0.4 && i > 0) return 0;
    const o = alphaPerRow ? Math.floor(i / cols) : i % cols;
    return (v < 0.7 ? -1 : 1) * alpha[o]!;
  });
}
