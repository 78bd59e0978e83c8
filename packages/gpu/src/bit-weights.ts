import { packBitplanes, packSigns, packTernary, type Shape4 } from '@zeroskip/quant';
import { GpuError } from './errors.js';
import type { LowBitWeights } from './kernels/lowbit-fc.js';
import type { WeightEncoding } from './kernels/quant-conv.js';
import { type QuantConvSpec, quantLevels, quantWeightCodes } from './quant-conv-reference.js';

// Weight planes for the bitwise kernels, in @zeroskip/quant's packed layout: OIHW weights become
// [O, kh, kw, ⌈I/32⌉] words per plane, planes one after another.

function concat(planes: readonly Uint32Array[]): Uint32Array {
  const out = new Uint32Array(planes.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of planes) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Sign bits of OIHW weights (bit 1 = negative). */
export function binaryWeightPlanes(w: ArrayLike<number>, shape: Shape4): Uint32Array {
  return packSigns(w, shape).data;
}

/** Non-zero and sign planes of ternary codes in {−1, 0, 1}. */
export function ternaryWeightPlanes(codes: ArrayLike<number>, shape: Shape4): Uint32Array {
  const t = packTernary(codes, shape);
  return concat([t.nonzero.data, t.negative.data]);
}

/** Bitplanes of DoReFa weights w ∈ [−1, 1] on the k-bit grid, as codes q = (w + 1)/2·(2^k − 1). */
export function dorefaWeightPlanes(w: ArrayLike<number>, shape: Shape4, bits: number): Uint32Array {
  const levels = 2 ** bits - 1;
  const q = Array.from({ length: w.length }, (_, i) => {
    const code = ((w[i]! + 1) / 2) * levels;
    const r = Math.round(code);
    if (Math.abs(code - r) > 1e-4)
      throw new GpuError(
        'invalid-argument',
        `weight ${w[i]} at ${i} is not on the ${bits}-bit DoReFa grid; quantize it with dorefaWeights first.`,
      );
    return r;
  });
  return concat(packBitplanes(q, shape, bits).planes.map((p) => p.data));
}

/**
 * The packed planes of QuantConv weights W [O, C, kh, kw] on the grid of `spec.weights` (off-grid
 * values are a GpuError): sign planes for binary (and 1-bit) weights, non-zero and negative planes for
 * ternary, and for k-bit weights the bitplanes of q = (w + Lw)/2, w = W·Lw the code.
 */
export function quantWeightPlanes(
  w: ArrayLike<number>,
  shape: Shape4,
  spec: QuantConvSpec,
): { readonly planes: Uint32Array; readonly encoding: WeightEncoding } {
  const codes = quantWeightCodes(w, spec);
  if (spec.weights === 'ternary')
    return { planes: ternaryWeightPlanes(codes, shape), encoding: { mode: 'ternary' } };
  const bits = spec.weights === 'bits' ? spec.weightBits! : 1;
  if (bits === 1) return { planes: packSigns(codes, shape).data, encoding: { mode: 'binary' } };
  const lw = quantLevels(bits);
  const q = Array.from(codes, (c) => (c + lw) / 2);
  return {
    planes: concat(packBitplanes(q, shape, bits).planes.map((p) => p.data)),
    encoding: { mode: 'bits', bits },
  };
}

/** FC weights that are ±α or {−α, 0, α} per output row, as the low-bit FC kernel takes them. */
export interface LowBitRows {
  readonly weights: LowBitWeights;
  /** [outputs, ⌈k/32⌉] words per plane: for ternary the non-zero plane, then the sign plane (1 = −α). */
  readonly planes: Uint32Array;
  /** α of each output row (0 for a row of zeros). */
  readonly alpha: Float32Array;
}

/** Relative spread allowed between the non-zero magnitudes of one row: float noise of exported ±α. */
const MAGNITUDE_TOLERANCE = 1e-6;

/**
 * The bit planes of FC weights W [outputs, k] (or Wᵀ [k, outputs] where `transposed`) whose every row
 * holds ±α_o and zeros only (magnitudes within 1e-6 of each other), α_o the mean magnitude times
 * `scale`; undefined for any other weights, found at the first value off its row's grid. Binary where
 * no weight is zero.
 */
export function lowBitRows(
  w: Float32Array,
  outputs: number,
  { transposed = false, scale = 1 }: { readonly transposed?: boolean; readonly scale?: number } = {},
): LowBitRows | undefined {
  const k = w.length / outputs;
  if (!Number.isInteger(k) || k === 0) return undefined;
  const words = Math.ceil(k / 32);
  const nonzero = new Uint32Array(outputs * words);
  const sign = new Uint32Array(outputs * words);
  const alpha = new Float32Array(outputs);
  let zeros = false;
  for (let o = 0; o < outputs; o++) {
    let lo = Number.POSITIVE_INFINITY;
    let hi = 0;
    let sum = 0;
    let count = 0;
    const [at, step] = transposed ? [o, outputs] : [o * k, 1];
    for (let j = 0, i = at; j < k; j++, i += step) {
      const v = w[i]!;
      if (v === 0) {
        zeros = true;
        continue;
      }
      const m = Math.abs(v);
      if (m < lo) lo = m;
      if (m > hi) hi = m;
      sum += m;
      count++;
      // NaN and ±Infinity fail this test too
      if (!(hi - lo <= MAGNITUDE_TOLERANCE * hi)) return undefined;
      const bit = 1 << (j & 31);
      nonzero[o * words + (j >>> 5)]! |= bit;
      if (v < 0) sign[o * words + (j >>> 5)]! |= bit;
    }
    alpha[o] = count > 0 ? (sum / count) * scale : 0;
  }
  if (alpha.some((a) => !Number.isFinite(a))) return undefined;
  if (!zeros) return { weights: 'binary', planes: sign, alpha };
  const planes = new Uint32Array(2 * outputs * words);
  planes.set(nonzero);
  planes.set(sign, outputs * words);
  return { weights: 'ternary', planes, alpha };
}
