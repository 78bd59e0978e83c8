import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { QuantError } from './errors.js';
import { applyMask, maskGradient } from './mask.js';
import { hanThreshold, pruneByRate, pruneByThreshold, pruneGlobal, pruneLayers } from './prune.js';
import { agpSchedule, iterativeSchedule, oneShotSchedule } from './schedule.js';
import { channelNorms, pruneBlocks, pruneChannels, pruneNM, selectChannels } from './structured.js';
import { gaussian, weights } from './test-data.js';

describe('magnitude pruning', () => {
  it('hits the rate to within one element and prunes the smallest magnitudes', () => {
    fc.assert(
      fc.property(weights(0, 200), fc.double({ min: 0, max: 1, noNaN: true }), (w, rate) => {
        const r = pruneByRate(w, rate);
        const pruned = r.mask.reduce((n, m) => n + (1 - m), 0);
        expect(Math.abs(pruned - rate * w.length)).toBeLessThanOrEqual(0.5 + 1e-9);
        let maxPruned = 0;
        let minKept = Number.POSITIVE_INFINITY;
        w.forEach((v, i) => {
          if (r.mask[i]) minKept = Math.min(minKept, Math.abs(v));
          else maxPruned = Math.max(maxPruned, Math.abs(v));
          expect(r.weights[i]).toBe(r.mask[i] ? v : 0);
        });
        expect(maxPruned).toBeLessThanOrEqual(minKept);
      }),
    );
  });

  it('uses one threshold across layers when global', () => {
    const a = Float32Array.from([0.1, 0.2, 5, 6]);
    const b = Float32Array.from([0.3, 7, 8, 9, 10, 0.05]);
    const [ra, rb] = pruneGlobal([a, b], 0.4); // 4 of 10 smallest: 0.05, 0.1, 0.2, 0.3
    expect(Array.from(ra!.mask)).toEqual([0, 0, 1, 1]);
    expect(Array.from(rb!.mask)).toEqual([0, 1, 1, 1, 1, 0]);
    expect(ra!.threshold).toBeCloseTo(0.3);
    expect(pruneLayers([a, b], [0.5, 0]).map((r) => r.sparsity)).toEqual([0.5, 0]);
  });

  it("applies Han et al.'s quality × std threshold", () => {
    const w = Float32Array.from([-2, -1, 0, 1, 2]); // std = √2
    expect(hanThreshold(w, 0.5)).toBeCloseTo(Math.SQRT2 / 2);
    expect(Array.from(pruneByThreshold(w, hanThreshold(w, 0.5)).mask)).toEqual([1, 1, 0, 1, 1]);
  });

  it('keeps masked weights at zero with zero gradient', () => {
    const r = pruneByRate(gaussian(100, 1), 0.7);
    const w = r.weights.map((v) => v + 0.5); // an optimizer step that would revive them
    const g = new Float32Array(100).fill(1);
    applyMask(w, r.mask);
    maskGradient(g, r.mask);
    r.mask.forEach((m, i) => {
      if (!m) expect([w[i], g[i]]).toEqual([0, 0]);
    });
  });

  it('rejects NaN weights, bad rates and mismatched masks with QuantError', () => {
    expect(() => pruneByRate(Float32Array.from([1, Number.NaN]), 0.5)).toThrow(/non-finite|finite/);
    expect(() => pruneByRate(Float32Array.from([1]), 1.5)).toThrow(QuantError);
    expect(() => applyMask(new Float32Array(3), new Uint8Array(2))).toThrow(/mask has 2/);
    expect(() => pruneLayers([new Float32Array(2)], [0.1, 0.2])).toThrow(/one rate per layer/);
  });
});

describe('structured pruning', () => {
  // 3 filters × 2 input channels × 1×2 kernels
  const w = Float32Array.from([1, -1, 0.1, 0.1, /**/ 3, 3, -3, 3, /**/ 0.5, 0, 0, 0.5]);
  const shape = [3, 2, 1, 2] as const;

  it('ranks filters and input channels by L1 / L2 norm', () => {
    const l1 = channelNorms(w, shape, 0, 'l1');
    [2.2, 12, 1].forEach((v, i) => {
      expect(l1[i]).toBeCloseTo(v, 6);
    });
    expect(channelNorms(w, shape, 1, 'l2')[1]).toBeCloseTo(Math.sqrt(0.01 + 0.01 + 9 + 9 + 0.25));
  });

  it('removes the weakest filters and returns the kept indices to slim the next layer', () => {
    const r = pruneChannels(w, shape, 0, 1 / 3);
    expect(Array.from(r.kept)).toEqual([0, 1]);
    expect(r.shape).toEqual([2, 2, 1, 2]);
    expect(Array.from(r.weights)).toEqual(Array.from(w.subarray(0, 8)));
    const next = selectChannels(gaussian(4 * 3 * 1 * 1, 2), [4, 3, 1, 1], 1, r.kept);
    expect(next.shape).toEqual([4, 2, 1, 1]);
  });

  it('keeps exactly N of every M along the input dimension (2:4)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 13 }),
        fc.nat(),
        (rows, cols, seed) => {
          const x = gaussian(rows * cols, seed + 1);
          const r = pruneNM(x, rows, cols, 2, 4);
          for (let row = 0; row < rows; row++) {
            for (let c0 = 0; c0 < cols; c0 += 4) {
              const g = Array.from({ length: Math.min(4, cols - c0) }, (_, j) => row * cols + c0 + j);
              expect(g.filter((p) => r.mask[p]).length).toBe(Math.min(2, g.length));
              const kept = g.filter((p) => r.mask[p]).map((p) => Math.abs(x[p]!));
              const dropped = g.filter((p) => !r.mask[p]).map((p) => Math.abs(x[p]!));
              expect(Math.max(0, ...dropped)).toBeLessThanOrEqual(Math.min(...kept));
            }
          }
        },
      ),
    );
  });

  it('zeroes whole blocks with the smallest norms', () => {
    const m = Float32Array.from([9, 9, 0.1, 0.1, 9, 9, 0.1, 0.1, 1, 1, 5, 5, 1, 1, 5, 5]);
    const r = pruneBlocks(m, 4, 4, 2, 2, 0.5);
    expect(Array.from(r.mask)).toEqual([1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1]);
    expect(r.sparsity).toBe(0.5);
  });
});

describe('schedules', () => {
  it('follows Zhu & Gupta: s_t = s_f + (s_i − s_f)(1 − (t − t0)/(nΔt))³', () => {
    const s = agpSchedule({ initial: 0, final: 0.8, start: 100, steps: 10, frequency: 10 });
    expect(s(0)).toBe(0);
    expect(s(100)).toBe(0);
    expect(s(150)).toBeCloseTo(0.8 - 0.8 * 0.5 ** 3);
    expect(s(155)).toBe(s(150)); // constant between pruning steps
    expect(s(200)).toBeCloseTo(0.8);
    expect(s(10_000)).toBeCloseTo(0.8);
  });
  it('steps through iterative targets and one-shot', () => {
    const it3 = iterativeSchedule([0.5, 0.7, 0.9], 100);
    expect([0, 99, 100, 250, 1e6].map(it3)).toEqual([0.5, 0.5, 0.7, 0.9, 0.9]);
    expect(() => iterativeSchedule([0.5, 0.4], 10)).toThrow(/must not decrease/);
    expect([0, 5].map(oneShotSchedule(0.9, 5))).toEqual([0, 0.9]);
  });
});
