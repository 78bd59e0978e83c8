import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lowBitRows } from './bit-weights.js';
import { randomArray } from './conformance/data.js';
import { type Gpu, requestDevice } from './device.js';
import { GpuError } from './errors.js';
import { convGeometry } from './geometry.js';
import { arbitraryConvGeometry, layerOf, relativeError, sumTolerance } from './kernels/conv-check.js';
import { DENSE_KERNELS, denseKernelApplies } from './kernels/dense-kernel.js';
import { encodeImplicitGemmConv } from './kernels/gemm-conv.js';
import { Conv2dLayer } from './layers.js';
import { conv2dReference } from './reference.js';
import { ACTIVATIONS } from './wgsl.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

/** OIHW weights of ±α_o per output channel, zeros among them where ternary (TWN, BinaryConnect). */
function lowBitWeights(o: number, k: number, ternary: boolean, seed: number): Float32Array {
  const alpha = randomArray(o, seed).map((a) => 0.1 + Math.abs(a));
  const r = randomArray(o * k, seed + 1);
  return Float32Array.from(r, (v, i) => {
    const a = alpha[Math.floor(i / k)]!;
    return ternary && Math.abs(v) < 0.4 ? 0 : Math.sign(v) * a;
  });
}

describe('a conv on low-bit weights (the implicit GEMM reading bit planes)', { timeout: 600_000 }, () => {
  it('matches the f32 reference on random shapes, groups, tiles, activations and residuals, binary and ternary', async () => {
    const tiles = DENSE_KERNELS.filter((k) => k.startsWith('gemm-'));
    await fc.assert(
      fc.asyncProperty(
        arbitraryConvGeometry({ n: 2, cg: 40, og: 9, k: 3, extra: [4, 4] }),
        fc.boolean(),
        fc.constantFrom(...tiles),
        fc.constantFrom(...ACTIVATIONS),
        fc.boolean(),
        fc.integer({ min: 1, max: 10_000 }),
        async (geo, ternary, dense, activation, residual, seed) => {
          fc.pre(denseKernelApplies(dense, geo));
          const w = lowBitWeights(geo.o, geo.k, ternary, seed);
          const lowBit = lowBitRows(w, geo.o)!;
          expect(lowBit.weights).toBe(ternary && w.includes(0) ? 'ternary' : 'binary');
          const x = randomArray(geo.n * geo.c * geo.h * geo.w, seed + 2);
          const bias = randomArray(geo.o, seed + 3);
          const yShape = [geo.n, geo.o, geo.ho, geo.wo];
          const res = residual ? randomArray(geo.n * geo.o * geo.ho * geo.wo, seed + 4) : undefined;
          const layer = layerOf(gpu, geo, {
            weights: w,
            bias,
            activation,
            algorithm: 'implicit-gemm',
            dense,
            lowBit,
          });
          const xt = gpu.tensor([geo.n, geo.c, geo.h, geo.w], x);
          const rt = res && gpu.tensor(yShape, res);
          try {
            let y: ReturnType<typeof layer.encode> | undefined;
            let labels: string[] = [];
            await gpu.submit((r) => {
              y = layer.encode(r, xt, rt);
              labels = [...r.labels];
            });
            const got = await gpu.read(y!);
            gpu.release(y!);
            const want = conv2dReference(geo, x, w, bias, activation, res);
            // α is the mean of a row's magnitudes: exact here, where they are equal
            expect(relativeError(got, want), `${dense} ${JSON.stringify(geo)}`).toBeLessThan(
              sumTolerance(geo.k, 8),
            );
            expect(labels[0]).toBe(`conv-implicit-gemm-${lowBit.weights}`);
          } finally {
            gpu.release(xt);
            if (rt) gpu.release(rt);
            layer.destroy();
          }
        },
      ),
      { seed: 83, numRuns: 10, endOnFailure: true },
    );
  });

  it('refuses planes that do not fit the weights, and any algorithm but the implicit GEMM', async () => {
    const w = lowBitWeights(4, 18, true, 1);
    const lowBit = lowBitRows(w, 4)!;
    const spec = { weights: w, shape: [4, 2, 3, 3] as const, lowBit };
    expect(() => new Conv2dLayer(gpu, { ...spec, algorithm: 'sparse-tiled' })).toThrow(GpuError);
    const fewer = { ...lowBit, alpha: lowBit.alpha.subarray(1) };
    expect(() => new Conv2dLayer(gpu, { ...spec, algorithm: 'implicit-gemm', lowBit: fewer })).toThrow(
      GpuError,
    );
    // and the kernel itself, given one word short
    const geo = convGeometry([1, 2, 3, 3], [4, 2, 3, 3]);
    const b = {
      x: gpu.empty([1, 2, 3, 3]),
      w: gpu.empty([lowBit.planes.length - 1], 'u32'),
      alpha: gpu.empty([4]),
      bias: gpu.empty([4]),
      y: gpu.empty([1, 4, 1, 1]),
    };
    await expect(
      gpu.submit((r) => encodeImplicitGemmConv(r, b, geo, 'none', { lowBit: 'ternary' })),
    ).rejects.toThrow(GpuError);
    for (const v of Object.values(b)) gpu.release(v);
  });
});
