import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gpu, requestDevice } from '../device.js';
import { GpuError } from '../errors.js';
import { convGeometry } from '../geometry.js';
import { Conv2dLayer } from '../layers.js';
import { convData, convError, sumTolerance } from './conv-check.js';
import {
  chooseWinogradBlock,
  encodeWinogradConv,
  type WinogradBlock,
  winogradApplies,
  winogradWeights,
} from './winograd.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu.destroy());

/** F(4×4, 3×3) scales inputs by up to 5 and weights by 1/24ths: allow it a few times a GEMM's error. */
const FACTOR: Record<WinogradBlock, number> = { 2: 1, 4: 4 };

// 3×3 stride-1 convs of odd sizes, any padding, groups, batch > 1
const winogradCase = fc.record({
  n: fc.integer({ min: 1, max: 3 }),
  groups: fc.constantFrom(1, 1, 2, 3),
  cg: fc.integer({ min: 1, max: 9 }),
  og: fc.integer({ min: 1, max: 11 }),
  h: fc.integer({ min: 3, max: 13 }),
  w: fc.integer({ min: 3, max: 13 }),
  pads: fc.tuple(...[0, 0, 0, 0].map(() => fc.integer({ min: 0, max: 2 }))),
  activation: fc.constantFrom('none' as const, 'relu' as const, 'relu6' as const),
});

describe('Winograd conv', () => {
  it.each([2, 4] as const)(
    'F(m×m, 3×3) with m = %i matches the reference conv on random shapes',
    async (block) => {
      await fc.assert(
        fc.asyncProperty(winogradCase, fc.integer({ min: 0, max: 1000 }), async (c, seed) => {
          const geo = convGeometry([c.n, c.groups * c.cg, c.h, c.w], [c.groups * c.og, c.cg, 3, 3], {
            pads: c.pads as [number, number, number, number],
            groups: c.groups,
          });
          const err = await convError(gpu, geo, c.activation, seed, (r, b, d) => {
            const uw = winogradWeights(d.w, [geo.o, geo.cg, 3, 3], geo.groups, block);
            encodeWinogradConv(r, { ...b, u: gpu.tensor([uw.length], uw) }, geo, c.activation, block);
          });
          expect(err).toBeLessThan(sumTolerance(geo.k, FACTOR[block]));
        }),
        { seed: 2026 + block, numRuns: 4, endOnFailure: true },
      );
    },
    600_000,
  );

  it.each([2, 4] as const)(
    'F(m×m, 3×3) with m = %i stays within f32 accuracy on 256 input channels',
    async (block) => {
      const geo = convGeometry([1, 256, 9, 10], [24, 256, 3, 3], { pads: [1, 1, 1, 1] });
      const err = await convError(gpu, geo, 'none', 3, (r, b, d) => {
        const uw = winogradWeights(d.w, [24, 256, 3, 3], 1, block);
        encodeWinogradConv(r, { ...b, u: gpu.tensor([uw.length], uw) }, geo, 'none', block);
      });
      expect(err).toBeLessThan(sumTolerance(geo.k, FACTOR[block]));
    },
    300_000,
  );

  it('is what a dense layer runs where it is estimated faster, with the same results', async () => {
    const geo = convGeometry([2, 64, 28, 28], [64, 64, 3, 3], { pads: [1, 1, 1, 1] });
    expect(chooseWinogradBlock(geo)).toBeDefined();
    const layer = new Conv2dLayer(gpu, {
      weights: convData(geo, 5).w,
      bias: convData(geo, 5).bias,
      shape: [geo.o, geo.cg, 3, 3],
      pads: [1, 1, 1, 1],
      activation: 'relu',
      algorithm: 'implicit-gemm',
    });
    try {
      const err = await convError(gpu, geo, 'relu', 5, (r, b) => {
        const y = layer.encode(r, b.x);
        r.copy(y, b.y);
        gpu.release(y);
      });
      expect(err).toBeLessThan(sumTolerance(geo.k, FACTOR[4]));
    } finally {
      layer.destroy();
    }
  }, 300_000);

  it.each([2, 4] as const)(
    'F(m×m, 3×3) with m = %i transforms the weights into G·k·Gᵀ per kernel, laid out [ξ][g][c][o]',
    (block) => {
      // G as in Lavin & Gray, written out here independently of the kernel's tables
      const G: Record<WinogradBlock, number[][]> = {
        2: [
          [1, 0, 0],
          [0.5, 0.5, 0.5],
          [0.5, -0.5, 0.5],
          [0, 0, 1],
        ],
        4: [
          [1 / 4, 0, 0],
          [-1 / 6, -1 / 6, -1 / 6],
          [-1 / 6, 1 / 6, -1 / 6],
          [1 / 24, 1 / 12, 1 / 6],
          [1 / 24, -1 / 12, 1 / 6],
          [0, 0, 1],
        ],
      };
      const g = G[block];
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 3 }),
          fc.integer({ min: 1, max: 7 }),
          fc.integer({ min: 1, max: 6 }),
          fc.integer({ min: 1, max: 1000 }),
          (groups, og, cg, seed) => {
            const o = groups * og;
            const w = convData(convGeometry([1, groups * cg, 3, 3], [o, cg, 3, 3], { groups }), seed).w;
            const got = winogradWeights(w, [o, cg, 3, 3], groups, block);
            const alpha = g.length;
            expect(got.length).toBe(alpha * alpha * o * cg);
            for (let oc = 0; oc < o; oc++)
              for (let c = 0; c < cg; c++)
                for (let i = 0; i < alpha; i++)
                  for (let j = 0; j < alpha; j++) {
                    let want = 0;
                    for (let y = 0; y < 3; y++)
                      for (let x = 0; x < 3; x++)
                        want += g[i]![y]! * w[((oc * cg + c) * 3 + y) * 3 + x]! * g[j]![x]!;
                    const grp = Math.floor(oc / og);
                    const at = (((i * alpha + j) * groups + grp) * cg + c) * og + (oc % og);
                    // the f64 sum rounded once to f32: within one rounding step whatever the summation order
                    expect(Math.abs(got[at]! - want)).toBeLessThanOrEqual(
                      2 ** -23 * Math.abs(want) + 2 ** -149,
                    );
                  }
          },
        ),
        { seed: 7 + block, numRuns: 40 },
      );
    },
  );

  it('applies only to 3×3 stride-1 undilated kernels, and says so otherwise', () => {
    const strided = convGeometry([1, 4, 9, 9], [4, 4, 3, 3], { stride: [2, 2] });
    expect(winogradApplies(strided)).toBe(false);
    expect(chooseWinogradBlock(strided)).toBeUndefined();
    expect(winogradApplies(convGeometry([1, 4, 9, 9], [4, 4, 3, 3], { dilation: [2, 2] }))).toBe(false);
    expect(winogradApplies(convGeometry([1, 4, 9, 9], [4, 4, 5, 5], {}))).toBe(false);
    expect(() => winogradWeights(new Float32Array(4 * 4 * 25), [4, 4, 5, 5], 1, 4)).toThrow(GpuError);
  });
});
