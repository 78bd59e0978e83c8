import { checkFinite, checkInt, checkShape, QuantError } from './errors.js';
import { clamp, roundHalfEven } from './round.js';
import { meanAbs, seededRandom } from './stats.js';
import type { ConvShape } from './structured.js';

/** Deterministic binarization: x ≥ 0 → +1, else −1 (BNN, XNOR-Net). */
export function binarizeSign(x: Float32Array): Float32Array {
  checkFinite('input', x);
  return x.map((v) => (v >= 0 ? 1 : -1));
}

/** The hard sigmoid σ(x) = clip((x + 1) / 2, 0, 1). */
export function hardSigmoid(x: number): number {
  return clamp((x + 1) / 2, 0, 1);
}

/** Stochastic binarization: +1 with probability σ(x), −1 otherwise; seeded, so runs repeat. */
export function binarizeStochastic(x: Float32Array, seed: number): Float32Array {
  checkFinite('input', x);
  const rand = seededRandom(seed);
  return x.map((v) => (rand() < hardSigmoid(v) ? 1 : -1));
}

/**
 * BNN's straight-through estimator: the gradient of sign(x) is taken as that of htanh(x), i.e. the
 * incoming gradient passes where |x| ≤ 1 and is cancelled elsewhere.
 */
export function steGradient(x: Float32Array, gradient: Float32Array): Float32Array {
  if (x.length !== gradient.length) {
    throw new QuantError(
      'shape-mismatch',
      `${x.length} inputs but ${gradient.length} gradients; they must match.`,
    );
  }
  return gradient.map((g, i) => (Math.abs(x[i]!) <= 1 ? g : 0));
}

export interface XnorWeights {
  /** α per output filter: mean |W| over that filter's I·kh·kw weights. */
  readonly alpha: Float32Array;
  /** sign(W) as ±1. */
  readonly signs: Float32Array;
  /** α_o · sign(W), the L2-optimal binary approximation of each filter. */
  readonly weights: Float32Array;
}

/** XNOR-Net weight binarization with one scale per output filter. */
export function binarizeXnorWeights(w: Float32Array, shape: ConvShape): XnorWeights {
  checkShape('weights', w, shape);
  checkFinite('weights', w);
  const per = shape[1] * shape[2] * shape[3];
  const alpha = Float32Array.from({ length: shape[0] }, (_, o) => meanAbs(w, o * per, (o + 1) * per));
  const signs = binarizeSign(w);
  return { alpha, signs, weights: signs.map((s, i) => s * alpha[Math.floor(i / per)]!) };
}

export interface ConvGeometry {
  readonly stride?: number;
  readonly padding?: number;
}

/**
 * XNOR-Net's input scale map K = A ⊛ k: A is the mean of |I| over channels, k a kh×kw box filter of
 * 1/(kh·kw), applied with the convolution's stride and zero padding. Input NCHW, output [N, Ho, Wo].
 */
export function xnorInputScale(
  input: Float32Array,
  shape: readonly [number, number, number, number],
  kh: number,
  kw: number,
  { stride = 1, padding = 0 }: ConvGeometry = {},
): { scale: Float32Array; shape: [number, number, number] } {
  checkShape('input', input, shape);
  checkFinite('input', input);
  checkInt('kernel height', kh, 1, 4096);
  checkInt('kernel width', kw, 1, 4096);
  checkInt('stride', stride, 1, 4096);
  checkInt('padding', padding, 0, 4096);
  const [n, c, h, w] = shape;
  const ho = Math.floor((h + 2 * padding - kh) / stride) + 1;
  const wo = Math.floor((w + 2 * padding - kw) / stride) + 1;
  if (ho < 1 || wo < 1)
    throw new QuantError(
      'shape-mismatch',
      `a ${kh}×${kw} kernel does not fit a ${h}×${w} input with padding ${padding}.`,
    );
  const a = new Float64Array(n * h * w);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      for (let p = 0; p < h * w; p++) a[b * h * w + p]! += Math.abs(input[(b * c + ch) * h * w + p]!) / c;
    }
  }
  const scale = new Float32Array(n * ho * wo);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < ho; y++) {
      for (let x = 0; x < wo; x++) {
        let s = 0;
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            const yy = y * stride - padding + i;
            const xx = x * stride - padding + j;
            if (yy >= 0 && yy < h && xx >= 0 && xx < w) s += a[(b * h + yy) * w + xx]!;
          }
        }
        scale[(b * ho + y) * wo + x] = s / (kh * kw);
      }
    }
  }
  return { scale, shape: [n, ho, wo] };
}

/**
 * The BNN authors' n-bit extension (Hubara et al., QNN): x ↦ round(x·2^(n−1)) / 2^(n−1), i.e. fixed
 * point with n−1 fraction bits, saturated to the n-bit two's-complement range [−1, 1 − 2^(1−n)].
 * Stochastic mode adds U(−½, ½) before rounding. bits 2..16 (one bit is `binarizeSign`).
 */
export function bnnQuantize(
  x: Float32Array,
  bits: number,
  { stochastic = false, seed = 0 } = {},
): Float32Array {
  checkFinite('input', x);
  checkInt('bits', bits, 2, 16);
  const s = 2 ** (bits - 1);
  const rand = seededRandom(seed);
  return x.map((v) => clamp(roundHalfEven(v * s + (stochastic ? rand() - 0.5 : 0)), -s, s - 1) / s);
}
