import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomArray } from './conformance/data.js';
import { type Gpu, requestDevice } from './device.js';
import { GpuError } from './errors.js';
import { convGeometry } from './geometry.js';
import { arbitraryConvGeometry, layerError, sparseWeights, sumTolerance } from './kernels/conv-check.js';
import { chooseWinogradBlock } from './kernels/winograd.js';
import { CONV_ALGORITHMS, Conv2dLayer } from './layers.js';
import { ACTIVATIONS } from './wgsl.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

/** Winograd and the k-split reductions reassociate the sum; the residual adds one rounding. */
const FACTOR = 8;

describe('conv layers with a residual added before the activation', { timeout: 300_000 }, () => {
  it('match the reference on random shapes, every algorithm', async () => {
    const algorithms = CONV_ALGORITHMS.filter((a) => a !== 'depthwise');
    await fc.assert(
      fc.asyncProperty(
        arbitraryConvGeometry({ n: 2, cg: 5, og: 6, k: 3, extra: [4, 4] }),
        fc.constantFrom(...algorithms),
        fc.constantFrom(...ACTIVATIONS),
        fc.constantFrom(0, 0.5, 0.9),
        fc.integer({ min: 1, max: 10_000 }),
        async (geo, algorithm, activation, sparsity, seed) => {
          const w = sparseWeights(geo, sparsity, false, seed);
          const err = await layerError(gpu, geo, w, activation, { algorithm }, true);
          expect(err, `${algorithm} ${activation} ${JSON.stringify(geo)}`).toBeLessThan(
            sumTolerance(geo.k, FACTOR),
          );
        },
      ),
      { seed: 47, numRuns: 24, endOnFailure: true },
    );
  });

  it('match the reference through the depthwise kernel and through Winograd', async () => {
    const depthwise = convGeometry([2, 6, 7, 9], [6, 1, 3, 3], { pads: [1, 1, 1, 1], groups: 6 });
    const w = randomArray(6 * 9, 3);
    expect(await layerError(gpu, depthwise, w, 'relu', { algorithm: 'depthwise' }, true)).toBeLessThan(
      sumTolerance(9, FACTOR),
    );
    // a map wide enough that the dense layer runs Winograd
    const wide = convGeometry([1, 16, 24, 24], [16, 16, 3, 3], { pads: [1, 1, 1, 1] });
    expect(chooseWinogradBlock(wide)).toBeDefined();
    const w3 = randomArray(16 * 16 * 9, 4);
    expect(await layerError(gpu, wide, w3, 'relu', { algorithm: 'implicit-gemm' }, true)).toBeLessThan(
      sumTolerance(wide.k, FACTOR),
    );
  });

  it('of another shape are refused with the shape it needs', async () => {
    const layer = new Conv2dLayer(gpu, { weights: randomArray(4 * 2 * 9, 1), shape: [4, 2, 3, 3] });
    const x = gpu.tensor([1, 2, 5, 5], randomArray(50, 2));
    const res = gpu.tensor([1, 4, 5, 5], randomArray(100, 3));
    try {
      await expect(gpu.submit((r) => void layer.encode(r, x, res))).rejects.toThrow(
        new GpuError(
          'invalid-argument',
          "a conv's residual must have its output's shape [1, 4, 3, 3], got [1, 4, 5, 5].",
        ),
      );
    } finally {
      gpu.release(x);
      gpu.release(res);
      layer.destroy();
    }
  });
});
