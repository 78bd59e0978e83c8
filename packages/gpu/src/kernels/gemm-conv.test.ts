import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gpu, requestDevice } from '../device.js';
import { convGeometry } from '../geometry.js';
import { arbitraryConvGeometry, convError, sumTolerance } from './conv-check.js';
import { encodeIm2colGemmConv, encodeImplicitGemmConv } from './gemm-conv.js';
import { chooseGemmTile, GEMM_TILES } from './tiled-gemm.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu.destroy());

// any kernel, stride, dilation, padding, groups and batch, with odd sizes
const convCase = arbitraryConvGeometry({ n: 3, cg: 12, og: 40, k: 5, extra: [9, 9] });

describe('implicit GEMM conv', () => {
  it('matches the reference conv, and so does im2col + GEMM, on random shapes', async () => {
    await fc.assert(
      fc.asyncProperty(convCase, fc.integer({ min: 0, max: 1000 }), async (geo, seed) => {
        const tol = sumTolerance(geo.k);
        expect(
          await convError(gpu, geo, 'relu', seed, (r, b) => encodeImplicitGemmConv(r, b, geo, 'relu')),
        ).toBeLessThan(tol);
        const cols = gpu.empty([geo.groups * geo.k * geo.n * geo.ho * geo.wo]);
        try {
          expect(
            await convError(gpu, geo, 'none', seed, (r, b) => encodeIm2colGemmConv(r, b, cols, geo, 'none')),
          ).toBeLessThan(tol);
        } finally {
          gpu.release(cols);
        }
      }),
      { seed: 2026, numRuns: 5, endOnFailure: true },
    );
  }, 600_000);

  it('reads 1×1 unpadded convs as contiguous channel planes, strided or not', async () => {
    for (const [stride, groups] of [
      [1, 1],
      [2, 2],
    ] as const) {
      const geo = convGeometry([2, 6 * groups, 7, 9], [10 * groups, 6, 1, 1], {
        stride: [stride, stride],
        groups,
      });
      const err = await convError(gpu, geo, 'relu6', stride, (r, b) =>
        encodeImplicitGemmConv(r, b, geo, 'relu6'),
      );
      expect(err).toBeLessThan(sumTolerance(geo.k));
    }
  }, 300_000);

  it('runs a many-pixel layer on the large tile and a deep batch-1 layer split over k', async () => {
    const big = convGeometry([4, 8, 128, 128], [128, 8, 3, 3], { pads: [1, 1, 1, 1] });
    const shape = { m: 128, n: 4 * 128 * 128, k: big.k, batches: 1 };
    expect(chooseGemmTile(shape, 'mk')).toBe(GEMM_TILES.large);
    // a software adapter (this one) always gets the 64×64 tile: run as a GPU's tiles would
    expect(chooseGemmTile(shape, 'mk', true)).toBe(GEMM_TILES.medium);
    const asHardware = await requestDevice();
    Object.defineProperty(asHardware, 'software', { value: false });
    for (const device of [asHardware, gpu])
      expect(
        await convError(device, big, 'none', 1, (r, b) => encodeImplicitGemmConv(r, b, big, 'none')),
      ).toBeLessThan(sumTolerance(big.k));
    const deep = convGeometry([1, 256, 5, 5], [40, 256, 3, 3], { pads: [1, 1, 1, 1] });
    expect(
      await convError(asHardware, deep, 'relu', 2, (r, b) => encodeImplicitGemmConv(r, b, deep, 'relu')),
    ).toBeLessThan(sumTolerance(deep.k));
    asHardware.destroy();
  }, 300_000);
});
