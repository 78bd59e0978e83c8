import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomArray } from '../conformance/data.js';
import { type Gpu, requestDevice } from '../device.js';
import { GpuError } from '../errors.js';
import { type ConvGeometry, convGeometry } from '../geometry.js';
import { Conv2dLayer } from '../layers.js';
import { ACTIVATIONS } from '../wgsl.js';
import { arbitraryConvGeometry, layerError, sumTolerance } from './conv-check.js';
import {
  chooseDenseKernel,
  DENSE_KERNELS,
  type DenseKernel,
  denseKernelApplies,
  parseDenseKernel,
} from './dense-kernel.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

const upTo = (m: number) => fc.integer({ min: 1, max: m });

/** Geometries a kernel can run: FC-like ones for GEMV, 3×3 stride-1 ones for Winograd, any for the GEMM tiles. */
function geometriesFor(k: DenseKernel): fc.Arbitrary<ConvGeometry> {
  if (k === 'gemv')
    return fc.tuple(upTo(8), upTo(90), upTo(20)).map(([n, c, o]) => convGeometry([n, c, 1, 1], [o, c, 1, 1]));
  if (k.startsWith('winograd-'))
    return fc
      .record({
        n: upTo(2),
        c: upTo(6),
        o: upTo(7),
        h: upTo(11),
        w: upTo(11),
        pad: fc.integer({ min: 0, max: 1 }),
      })
      .map(({ n, c, o, h, w, pad }) =>
        convGeometry([n, c, h + 2 - 2 * pad, w + 2 - 2 * pad], [o, c, 3, 3], { pads: [pad, pad, pad, pad] }),
      );
  return arbitraryConvGeometry({ n: 2, cg: 5, og: 6, k: 3, extra: [4, 4] });
}

describe('dense conv kernels', { timeout: 300_000 }, () => {
  it('each match the reference on geometries it applies to, with and without a residual', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...DENSE_KERNELS).chain((k) => fc.tuple(fc.constant(k), geometriesFor(k))),
        fc.constantFrom(...ACTIVATIONS),
        fc.boolean(),
        fc.integer({ min: 1, max: 10_000 }),
        async ([kernel, geo], activation, residual, seed) => {
          expect(denseKernelApplies(kernel, geo)).toBe(true);
          const w = randomArray(geo.o * geo.cg * geo.kh * geo.kw, seed);
          const err = await layerError(
            gpu,
            geo,
            w,
            activation,
            { algorithm: 'implicit-gemm', dense: kernel },
            residual,
          );
          // Winograd and the k splits reassociate the sum
          expect(err, `${kernel} ${JSON.stringify(geo)}`).toBeLessThan(sumTolerance(geo.k, 8));
        },
      ),
      { seed: 71, numRuns: 12, endOnFailure: true },
    );
  });

  it('default to the cost model: GEMV for an FC on a few rows, Winograd for a wide 3×3 map, a GEMM tile otherwise', () => {
    expect(chooseDenseKernel(convGeometry([1, 512, 1, 1], [1000, 512, 1, 1]), false)).toBe('gemv');
    expect(chooseDenseKernel(convGeometry([32, 512, 1, 1], [1000, 512, 1, 1]), false)).toMatch(/^gemm-/);
    const wide = convGeometry([1, 64, 56, 56], [64, 64, 3, 3], { pads: [1, 1, 1, 1] });
    expect(chooseDenseKernel(wide, false)).toMatch(/^winograd-/);
    // F(4×4) only with enough output tiles to fill the GPU: VGG-16 conv5_2 at batch 1 has 16, at batch 32 512
    const conv5 = (n: number) => convGeometry([n, 512, 14, 14], [512, 512, 3, 3], { pads: [1, 1, 1, 1] });
    expect(chooseDenseKernel(conv5(1), false)).toBe('winograd-2');
    expect(chooseDenseKernel(conv5(32), false)).toBe('winograd-4');
    expect(
      chooseDenseKernel(convGeometry([1, 3, 224, 224], [64, 3, 7, 7], { stride: [2, 2] }), false),
    ).toMatch(/^gemm-/);
  });

  it('that cannot run a layer, or are not kernels, are refused with what to do', async () => {
    expect(() => parseDenseKernel('winograd-3')).toThrow(GpuError);
    expect(parseDenseKernel('gemm-large')).toBe('gemm-large');
    const layer = new Conv2dLayer(gpu, {
      weights: randomArray(4 * 2 * 25, 1),
      shape: [4, 2, 5, 5],
      algorithm: 'implicit-gemm',
      dense: 'winograd-2',
    });
    const x = gpu.tensor([1, 2, 9, 9], randomArray(162, 2));
    try {
      await expect(gpu.submit((r) => void layer.encode(r, x))).rejects.toThrow(
        "the dense kernel winograd-2 cannot run a 5×5 conv of stride 1×1 on 1×2×9×9; leave the layer's dense kernel to the default.",
      );
    } finally {
      gpu.release(x);
      layer.destroy();
    }
  });
});
