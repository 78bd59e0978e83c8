import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomArray } from './conformance/data.js';
import { type Gpu, requestDevice } from './device.js';
import { GpuError } from './errors.js';
import { convGeometry } from './geometry.js';
import {
  arbitraryConvGeometry,
  layerError,
  layerOf,
  relativeError,
  sparseWeights,
  sumTolerance,
} from './kernels/conv-check.js';
import { chooseWinogradBlock } from './kernels/winograd.js';
import { CONV_ALGORITHMS, Conv2dLayer } from './layers.js';
import { conv2dReference } from './reference.js';
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
    // enough channels for the dense layer to run Winograd (with 16 the k-group GEMM tile is estimated faster)
    const wide = convGeometry([1, 32, 24, 24], [32, 32, 3, 3], { pads: [1, 1, 1, 1] });
    expect(chooseWinogradBlock(wide)).toBeDefined();
    const w3 = randomArray(32 * 32 * 9, 4);
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

describe('conv layers writing a channel slice of a larger tensor', { timeout: 300_000 }, () => {
  it('fill their channels as the reference does and leave the others, every algorithm', async () => {
    await fc.assert(
      fc.asyncProperty(
        arbitraryConvGeometry({ n: 3, cg: 4, og: 5, k: 3, extra: [3, 3] }),
        fc.constantFrom(...CONV_ALGORITHMS.filter((a) => a !== 'depthwise')),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 10_000 }),
        async (geo, algorithm, before, after, residual, seed) => {
          const w = sparseWeights(geo, 0.5, false, seed);
          const bias = randomArray(geo.o, seed + 1);
          const x = randomArray(geo.n * geo.c * geo.h * geo.w, seed + 2);
          const hw = geo.ho * geo.wo;
          const res = residual ? randomArray(geo.n * geo.o * hw, seed + 3) : undefined;
          const total = before + geo.o + after;
          const layer = layerOf(gpu, geo, { weights: w, bias, activation: 'relu', algorithm });
          const sentinel = -7.5;
          const y = gpu.tensor(
            [geo.n, total, geo.ho, geo.wo],
            new Float32Array(geo.n * total * hw).fill(sentinel),
          );
          const xt = gpu.tensor([geo.n, geo.c, geo.h, geo.w], x);
          const rt = res && gpu.tensor([geo.n, geo.o, geo.ho, geo.wo], res);
          try {
            await gpu.submit((r) => {
              expect(layer.encode(r, xt, rt, { y, channel: before })).toBe(y);
            });
            const got = await gpu.read(y);
            const want = conv2dReference(geo, x, w, bias, 'relu', res);
            const slice = new Float32Array(want.length);
            for (let n = 0; n < geo.n; n++) {
              const image = got.subarray(n * total * hw, (n + 1) * total * hw);
              slice.set(image.subarray(before * hw, (before + geo.o) * hw), n * geo.o * hw);
              const others = [...image.subarray(0, before * hw), ...image.subarray((before + geo.o) * hw)];
              expect(
                others.every((v) => v === sentinel),
                `${algorithm}: channels outside the slice`,
              ).toBe(true);
            }
            expect(relativeError(slice, want), algorithm).toBeLessThan(sumTolerance(geo.k, FACTOR));
          } finally {
            for (const t of [y, xt, rt]) if (t) gpu.release(t);
            layer.destroy();
          }
        },
      ),
      { seed: 71, numRuns: 20, endOnFailure: true },
    );
  });

  it('that does not fit is refused', async () => {
    const layer = new Conv2dLayer(gpu, { weights: randomArray(4 * 2 * 9, 1), shape: [4, 2, 3, 3] });
    const x = gpu.tensor([1, 2, 5, 5], randomArray(50, 2));
    const y = gpu.empty([1, 6, 3, 3]);
    try {
      await expect(gpu.submit((r) => void layer.encode(r, x, undefined, { y, channel: 3 }))).rejects.toThrow(
        GpuError,
      );
    } finally {
      gpu.release(x);
      gpu.release(y);
      layer.destroy();
    }
  });
});
