import { checkFinite, checkInt } from './errors.js';
import { clamp } from './round.js';
import { meanAbs, seededRandom } from './stats.js';

// DoReFa-Net (Zhou et al., 2016). Rounding is Math.round (half up), as in the paper's formulas; the
// inputs of quantize_k are in [0, 1], where it differs from half-to-even only on exact ties.

/** quantize_k(r) = round((2^k − 1)·r) / (2^k − 1), for r in [0, 1]. */
export function quantizeK(r: number, k: number): number {
  const levels = 2 ** k - 1;
  return Math.round(levels * r) / levels;
}

/**
 * Weights: k = 1 → sign(W)·E|W| (sign(0) = +1); k > 1 →
 * 2·quantize_k(tanh W / (2·max|tanh W|) + ½) − 1.
 */
export function dorefaWeights(w: Float32Array, k: number): Float32Array {
  checkFinite('weights', w);
  checkInt('weight bits', k, 1, 16);
  if (k === 1) {
    const e = meanAbs(w);
    return w.map((v) => (v >= 0 ? e : -e));
  }
  const t = Float64Array.from(w, Math.tanh);
  const max = t.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  if (max === 0) return new Float32Array(w.length).map(() => 2 * quantizeK(0.5, k) - 1);
  return Float32Array.from(t, (v) => 2 * quantizeK(v / (2 * max) + 0.5, k) - 1);
}

/** Activations: quantize_k(clip(x, 0, 1)). */
export function dorefaActivations(x: Float32Array, k: number): Float32Array {
  checkFinite('activations', x);
  checkInt('activation bits', k, 1, 16);
  return x.map((v) => quantizeK(clamp(v, 0, 1), k));
}

/**
 * Gradients: 2·max|dr|·[quantize_k(dr / (2·max|dr|) + ½ + N(k)) − ½], N(k) = σ/(2^k − 1) with
 * σ ~ U(−½, ½) per element, seeded.
 */
export function dorefaGradients(dr: Float32Array, k: number, seed: number): Float32Array {
  checkFinite('gradients', dr);
  checkInt('gradient bits', k, 1, 16);
  const max = dr.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  if (max === 0) return new Float32Array(dr.length);
  const rand = seededRandom(seed);
  const levels = 2 ** k - 1;
  return dr.map((v) => 2 * max * (quantizeK(v / (2 * max) + 0.5 + (rand() - 0.5) / levels, k) - 0.5));
}

export interface DorefaBits {
  readonly weights: number;
  readonly activations: number;
}

/**
 * Bits of layer `index` of `count` under W,A-bit DoReFa: the first and last layers stay at full
 * precision (32) as in the paper unless `quantizeFirstLast`.
 */
export function dorefaLayerBits(
  index: number,
  count: number,
  bits: DorefaBits,
  quantizeFirstLast = false,
): DorefaBits {
  checkInt('layer count', count, 1, 1e6);
  checkInt('layer index', index, 0, count - 1);
  const edge = index === 0 || index === count - 1;
  return edge && !quantizeFirstLast ? { weights: 32, activations: 32 } : bits;
}
