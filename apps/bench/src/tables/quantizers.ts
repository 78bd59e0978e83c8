import {
  binarizeXnorWeights,
  bnnQuantize,
  dequantize,
  dorefaWeights,
  fiveLevel,
  kmeansShare,
  pruneByRate,
  quantizeAffine,
  quantizeSymmetric,
  relativeL2Error,
  ternarize,
  ternarizeExact,
  weightSharingRatio,
} from '@zeroskip/quant';
import { encodeWeightPayload } from '@zeroskip/sparse';
import type { BenchContext, BenchResult, BenchTable } from '../results.js';
import { gaussian, laplacian } from '../rng.js';

/** Rows of 1000 weights, as filters of a layer with I·kh·kw = 1000, for the per-filter quantizers. */
const FILTER = 1000;

/** Scales `q` by the least-squares α = ⟨w,q⟩/⟨q,q⟩: for quantizers whose output range is fixed to [−1, 1]. */
function bestScaled(w: Float32Array, q: Float32Array): Float32Array {
  let wq = 0;
  let qq = 0;
  q.forEach((v, i) => {
    wq += v * w[i]!;
    qq += v * v;
  });
  const a = qq === 0 ? 0 : wq / qq;
  return q.map((v) => v * a);
}

interface Quantizer {
  readonly name: string;
  /** Returns the reconstruction and the compression ratio against dense f32. */
  run(w: Float32Array): { approx: Float32Array; ratio: number };
}

const fixedBits = (bits: number, n: number, extraFloats = 0) => (32 * n) / (bits * n + 32 * extraFloats);

function payloadRatio(w: Float32Array, indexBits: number, codebook?: Float32Array): number {
  const m = { rows: w.length / FILTER, cols: FILTER, data: w };
  return encodeWeightPayload(m, { indexBits, ...(codebook ? { codebook, huffman: true } : {}) }).breakdown
    .ratio;
}

export const QUANTIZERS: readonly Quantizer[] = [
  {
    name: 'prune 90% (8-bit relative index, f32 values)',
    run: (w) => ({
      approx: pruneByRate(w, 0.9).weights,
      ratio: payloadRatio(pruneByRate(w, 0.9).weights, 8),
    }),
  },
  ...[8, 5, 4].map((bits) => ({
    name: `k-means weight sharing, ${bits}-bit`,
    run: (w: Float32Array) => ({
      approx: kmeansShare(w, { bits }).weights,
      ratio: weightSharingRatio(w.length, bits),
    }),
  })),
  {
    name: 'prune 90% + k-means 5-bit + Huffman',
    run: (w) => {
      const s = kmeansShare(pruneByRate(w, 0.9).weights, { bits: 5 });
      return { approx: s.weights, ratio: payloadRatio(s.weights, 5, s.codebook) };
    },
  },
  ...[8, 4].map((bits) => ({
    name: `linear symmetric int${bits}, per tensor`,
    run: (w: Float32Array) => ({
      approx: dequantize(quantizeSymmetric(w, bits)),
      ratio: fixedBits(bits, w.length, 1),
    }),
  })),
  {
    name: 'linear affine int4, per filter',
    run: (w) => ({
      approx: dequantize(quantizeAffine(w, 4, { channels: w.length / FILTER })),
      ratio: fixedBits(4, w.length, 2 * (w.length / FILTER)),
    }),
  },
  {
    name: 'binary, XNOR-Net α per filter',
    run: (w) => ({
      approx: binarizeXnorWeights(w, [w.length / FILTER, FILTER, 1, 1]).weights,
      ratio: fixedBits(1, w.length, w.length / FILTER),
    }),
  },
  {
    name: 'ternary TWN, Δ = 0.7·E|W|',
    run: (w) => ({ approx: ternarize(w).weights, ratio: fixedBits(2, w.length, 1) }),
  },
  {
    name: 'ternary TWN, exact Δ*',
    run: (w) => ({ approx: ternarizeExact(w).weights, ratio: fixedBits(2, w.length, 1) }),
  },
  {
    name: 'five levels {−2..2}·α, exact',
    run: (w) => ({ approx: fiveLevel(w).weights, ratio: fixedBits(3, w.length, 1) }),
  },
  ...[1, 2, 4].map((k) => ({
    name: `DoReFa weights, ${k}-bit${k > 1 ? ' (least-squares scale)' : ''}`,
    run: (w: Float32Array) => ({
      approx: k === 1 ? dorefaWeights(w, 1) : bestScaled(w, dorefaWeights(w, k)),
      ratio: fixedBits(k, w.length, 1),
    }),
  })),
  {
    name: 'BNN n-bit extension, 3-bit (least-squares scale)',
    run: (w) => {
      const max = w.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      return {
        approx: bestScaled(
          w,
          bnnQuantize(
            w.map((v) => v / max),
            3,
          ),
        ),
        ratio: fixedBits(3, w.length, 1),
      };
    },
  },
];

export const quantizerTable: BenchTable = {
  id: 'quant',
  title: 'Quantizers: relative L2 error and compression ratio',
  reference:
    '1M seeded Gaussian and Laplacian weights; ratio against dense f32, scales and codebooks included.',
  async run(ctx: BenchContext): Promise<BenchResult[]> {
    const n = 1_000_000;
    const data = { gaussian: gaussian(n, ctx.seed), laplacian: laplacian(n, ctx.seed) };
    const results: BenchResult[] = [];
    QUANTIZERS.forEach((q, i) => {
      ctx.progress(i, QUANTIZERS.length, q.name);
      for (const [dist, w] of Object.entries(data)) {
        const { approx, ratio } = q.run(w);
        results.push({
          table: 'quant',
          case: q.name,
          params: { distribution: dist, weights: n, seed: ctx.seed, ratio: +ratio.toFixed(2) },
          metric: 'relative L2 error',
          unit: '',
          value: relativeL2Error(w, approx),
        });
      }
    });
    ctx.progress(QUANTIZERS.length, QUANTIZERS.length, 'done');
    return results;
  },
};
