import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  binarizeSign,
  binarizeStochastic,
  binarizeXnorWeights,
  bnnQuantize,
  hardSigmoid,
  steGradient,
  xnorInputScale,
} from './binary.js';
import { dorefaActivations, dorefaGradients, dorefaLayerBits, dorefaWeights, quantizeK } from './dorefa.js';
import { QuantError } from './errors.js';
import { fineTuneCentroids, kmeansShare, weightSharingRatio } from './kmeans.js';
import { dequantize, fromFixedPoint, quantizeAffine, quantizeSymmetric, toFixedPoint } from './linear.js';
import { roundHalfEven } from './round.js';
import {
  fiveLevel,
  ternarize,
  ternarizeExact,
  twnExactThreshold,
  twnScore,
  twnThreshold,
} from './ternary.js';
import { gaussian, weights } from './test-data.js';

const sse = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((s, v, i) => s + (v - b[i]!) ** 2, 0);

describe('k-means weight sharing', () => {
  it('finds two separated clusters and leaves pruned zeros alone', () => {
    const w = Float32Array.from([1, 0, 1.1, 0.9, 5, 0, 5.1, 4.9]);
    const r = kmeansShare(w, { bits: 1 });
    expect(Array.from(r.codebook).map((v) => +v.toFixed(5))).toEqual([1, 5]);
    expect(Array.from(r.indices)).toEqual([0, -1, 0, 0, 1, -1, 1, 1]);
    expect(r.weights[1]).toBe(0);
    expect(r.weights[6]).toBeCloseTo(5);
  });

  it('never increases its objective, for every init, and repeats for a seed', () => {
    fc.assert(
      fc.property(
        weights(1, 300),
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom('linear', 'random', 'density' as const),
        fc.nat(),
        (w, bits, init, seed) => {
          const r = kmeansShare(w, { bits, init, seed });
          r.objective.slice(1).forEach((e, i) => {
            expect(e).toBeLessThanOrEqual(r.objective[i]! * (1 + 1e-9) + 1e-9);
          });
          expect(kmeansShare(w, { bits, init, seed }).codebook).toEqual(r.codebook);
          // every weight takes its nearest centroid, so the result's SSE is the objective's
          w.forEach((v, i) => {
            if (v === 0) expect(r.indices[i]).toBe(-1);
            else
              for (const c of r.codebook)
                expect(Math.abs(v - r.weights[i]!)).toBeLessThanOrEqual(Math.abs(v - c) + 1e-6);
          });
        },
      ),
      { numRuns: 150 },
    );
  });

  it('sums gradients per cluster to fine-tune centroids', () => {
    const r = fineTuneCentroids(
      Float32Array.from([1, 2]),
      Int32Array.from([0, 1, -1, 1]),
      Float32Array.from([0.5, 1, 9, 2]),
      0.1,
    );
    expect(Array.from(r.gradient)).toEqual([0.5, 3]);
    expect(r.codebook[0]).toBeCloseTo(0.95);
    expect(r.codebook[1]).toBeCloseTo(1.7);
  });

  it("computes the paper's ratio n·b / (n·log2 k + k·b)", () => {
    expect(weightSharingRatio(1000, 4)).toBeCloseTo(32000 / 4512);
  });
});

describe('binary', () => {
  it('binarizes by sign with 0 → +1, and stochastically with hard-sigmoid probability', () => {
    expect(Array.from(binarizeSign(Float32Array.from([-0.1, 0, 2])))).toEqual([-1, 1, 1]);
    expect([-2, -1, 0, 0.5, 3].map(hardSigmoid)).toEqual([0, 0, 0.5, 0.75, 1]);
    const s = binarizeStochastic(new Float32Array(20000).fill(0.5), 7);
    expect(s.filter((v) => v === 1).length / s.length).toBeCloseTo(0.75, 1);
    expect(binarizeStochastic(new Float32Array(10).fill(0.5), 7)).toEqual(
      binarizeStochastic(new Float32Array(10).fill(0.5), 7),
    );
  });

  it('uses α = mean|W| per filter, which is the L2 optimum among ±α·sign patterns', () => {
    const w = Float32Array.from([1, -3, 2, 0.5, -0.5, 0.5]);
    const r = binarizeXnorWeights(w, [2, 3, 1, 1]);
    expect(Array.from(r.alpha)).toEqual([2, 0.5]);
    fc.assert(
      fc.property(
        weights(1, 20),
        fc.double({ min: 0, max: 5, noNaN: true }),
        fc.array(fc.boolean(), { minLength: 20, maxLength: 20 }),
        (f, alpha, signs) => {
          const best = binarizeXnorWeights(f, [1, f.length, 1, 1]).weights;
          const other = Array.from(f, (_, i) => (signs[i] ? alpha : -alpha));
          expect(sse(f, best)).toBeLessThanOrEqual(sse(f, other) + 1e-6);
        },
      ),
    );
  });

  it('builds the input scale map K = A ⊛ k with the conv geometry', () => {
    // N=1, C=2, 3×3; A = mean over channels of |I|
    const input = Float32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 1, -3, -3, -3, -3, -3, -3, -3, -3, -3]);
    const k = xnorInputScale(input, [1, 2, 3, 3], 3, 3, { padding: 1 });
    expect(k.shape).toEqual([1, 3, 3]);
    // A = 2 everywhere; corner windows see 4 of 9 cells, edges 6, centre 9
    expect(Array.from(k.scale).map((v) => +v.toFixed(6))).toEqual(
      [8, 12, 8, 12, 18, 12, 8, 12, 8].map((s) => +(s / 9).toFixed(6)),
    );
    expect(xnorInputScale(input, [1, 2, 3, 3], 2, 2, { stride: 1 }).shape).toEqual([1, 2, 2]);
  });

  it('passes gradients where |x| ≤ 1 (straight-through estimator)', () => {
    expect(
      Array.from(steGradient(Float32Array.from([-2, -1, 0.3, 1, 1.5]), Float32Array.from([1, 2, 3, 4, 5]))),
    ).toEqual([0, 2, 3, 4, 0]);
  });

  it('quantizes to n bits with step 2^(1−n), saturating', () => {
    expect(Array.from(bnnQuantize(Float32Array.from([0.3, -0.3, 0.9, -2, 0.125]), 3))).toEqual([
      0.25, -0.25, 0.75, -1, 0,
    ]);
    expect(() => bnnQuantize(new Float32Array(1), 1)).toThrow(QuantError);
  });
});

describe('ternary', () => {
  it('uses Δ = 0.7·E|W| and α = mean of |W| above Δ', () => {
    const w = Float32Array.from([-2, -0.5, 0, 0.5, 1, 3]); // E|W| = 7/6, Δ = 0.8167
    expect(twnThreshold(w)).toBeCloseTo(0.7 * (7 / 6));
    const t = ternarize(w);
    expect(Array.from(t.codes)).toEqual([-1, 0, 0, 0, 1, 1]);
    expect(t.alpha).toBeCloseTo(2);
  });

  it('finds the exact Δ*: matches brute force and scores at least the closed form', () => {
    fc.assert(
      fc.property(weights(1, 40), (w) => {
        const exact = twnScore(w, twnExactThreshold(w));
        const brute = Math.max(0, ...Array.from(w, (v) => twnScore(w, Math.abs(v))), twnScore(w, 0));
        expect(exact).toBeCloseTo(brute, 6);
        expect(exact).toBeGreaterThanOrEqual(twnScore(w, twnThreshold(w)) - 1e-9);
        expect(ternarizeExact(w).delta).toBe(twnExactThreshold(w));
      }),
    );
  });

  it('five levels: the exact minimum of ‖W − α·T‖², checked exhaustively', () => {
    fc.assert(
      fc.property(weights(1, 6), (w) => {
        // every T ∈ {−2..2}ⁿ with its best α = ⟨W,T⟩/⟨T,T⟩ (α ≥ 0)
        let best = sse(w, new Float32Array(w.length));
        const t = new Array<number>(w.length).fill(-2);
        for (;;) {
          const wt = t.reduce((s, v, i) => s + v * w[i]!, 0);
          const tt = t.reduce((s, v) => s + v * v, 0);
          if (tt > 0 && wt > 0)
            best = Math.min(
              best,
              sse(
                w,
                t.map((v) => (v * wt) / tt),
              ),
            );
          let i = 0;
          while (i < t.length && t[i] === 2) t[i++] = -2;
          if (i === t.length) break;
          t[i]!++;
        }
        const r = fiveLevel(w);
        expect(r.error).toBeCloseTo(best, 4);
        expect(r.thresholds[1]).toBeCloseTo(3 * r.thresholds[0]);
      }),
      { numRuns: 150 },
    );
  });
});

describe('DoReFa', () => {
  it('quantize_k rounds onto 2^k − 1 steps', () => {
    expect(quantizeK(0.4, 2)).toBeCloseTo(1 / 3);
    expect(quantizeK(0.9, 1)).toBe(1);
    expect(
      Array.from(dorefaActivations(Float32Array.from([-1, 0.2, 0.5, 2]), 2)).map((v) => +v.toFixed(4)),
    ).toEqual([0, 0.3333, 0.6667, 1]);
  });

  it('quantizes weights by the tanh formula, and k = 1 to sign·E|W|', () => {
    const w = Float32Array.from([-1, 0, 0.5, 1]);
    expect(Array.from(dorefaWeights(w, 1))).toEqual([-0.625, 0.625, 0.625, 0.625]);
    const t = Math.tanh(1);
    const expected = [-1, 0, Math.tanh(0.5), 1].map(
      (v) => 2 * (Math.round(3 * ((v * (1 / (2 * t)) * t) / t + 0.5)) / 3) - 1,
    );
    expect(Array.from(dorefaWeights(w, 2)).map((v) => +v.toFixed(5))).toEqual(
      expected.map((v) => +v.toFixed(5)),
    );
  });

  it('quantizes gradients onto the grid 2·max|dr|·(j/(2^k − 1) − ½), seeded and unbiased on average', () => {
    const dr = gaussian(20000, 3);
    const max = dr.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const q = dorefaGradients(dr, 4, 11);
    let bias = 0;
    q.forEach((v, i) => {
      const j = (v / (2 * max) + 0.5) * 15;
      expect(Math.abs(j - Math.round(j))).toBeLessThan(1e-3);
      bias += v - dr[i]!;
    });
    expect(Math.abs(bias / q.length)).toBeLessThan(0.01);
    expect(dorefaGradients(dr, 4, 11)).toEqual(q);
  });

  it('keeps the first and last layers at full precision by default', () => {
    expect([0, 1, 4].map((i) => dorefaLayerBits(i, 5, { weights: 1, activations: 2 }))).toEqual([
      { weights: 32, activations: 32 },
      { weights: 1, activations: 2 },
      { weights: 32, activations: 32 },
    ]);
    expect(dorefaLayerBits(0, 5, { weights: 1, activations: 2 }, true).weights).toBe(1);
  });
});

describe('linear quantization', () => {
  it('rounds half to even', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, -2.6].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, 2, -3]);
  });

  it('symmetric per tensor and per channel', () => {
    const q = quantizeSymmetric(Float32Array.from([-1, 0.5, 0.25]), 8);
    expect(q.scale[0]).toBeCloseTo(1 / 127);
    expect(Array.from(q.q)).toEqual([-127, 64, 32]);
    const pc = quantizeSymmetric(Float32Array.from([1, -0.6, 10, 6]), 4, { channels: 2 });
    expect(Array.from(pc.q)).toEqual([7, -4, 7, 4]);
  });

  it('affine maps [min, max] onto [0, 2^k − 1] with an exact zero', () => {
    const q = quantizeAffine(Float32Array.from([-1, 3, 0]), 2);
    expect(q.scale[0]).toBeCloseTo(4 / 3);
    expect(q.zeroPoint[0]).toBe(1);
    expect(Array.from(q.q)).toEqual([0, 3, 1]);
    expect(dequantize(q)[2]).toBe(0);
  });

  it('errs by at most half a step inside the range', () => {
    fc.assert(
      fc.property(weights(1, 50), fc.integer({ min: 2, max: 12 }), (w, bits) => {
        for (const lq of [quantizeSymmetric(w, bits), quantizeAffine(w, bits)]) {
          const back = dequantize(lq);
          w.forEach((v, i) => {
            expect(Math.abs(back[i]! - v)).toBeLessThanOrEqual(lq.scale[0]! / 2 + 1e-5);
          });
        }
      }),
    );
  });

  it('fixed point Qm.n saturates', () => {
    expect(Array.from(toFixedPoint(Float32Array.from([1.3, -0.0625, 100, -100]), 3, 4))).toEqual([
      21, -1, 127, -128,
    ]);
    expect(Array.from(fromFixedPoint(Int32Array.from([21]), 4))).toEqual([1.3125]);
  });
});

describe('bad input', () => {
  it('gives QuantError for NaN/Inf, bits out of range and shape mismatch', () => {
    const nan = Float32Array.from([1, Number.NaN]);
    for (const f of [
      () => kmeansShare(nan, { bits: 2 }),
      () => ternarize(nan),
      () => dorefaWeights(nan, 2),
      () => quantizeSymmetric(Float32Array.from([Number.POSITIVE_INFINITY]), 8),
      () => fiveLevel(nan),
    ]) {
      expect(f).toThrow(QuantError);
    }
    expect(() => kmeansShare(new Float32Array(4), { bits: 9 })).toThrow(/bits must be/);
    expect(() => dorefaActivations(new Float32Array(2), 0)).toThrow(/bits/);
    expect(() => binarizeXnorWeights(new Float32Array(5), [2, 3, 1, 1])).toThrow(/shape/);
    expect(() => quantizeSymmetric(new Float32Array(5), 8, { channels: 2 })).toThrow(/equal channels/);
  });
});
