import { convWeightMatrix, denseToCsr } from '@zeroskip/sparse';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomArray } from './conformance/data.js';
import { type Gpu, requestDevice } from './device.js';
import { GpuError } from './errors.js';
import { type ConvGeometry, convGeometry } from './geometry.js';
import { arbitraryConvGeometry, layerOf, sameBits, sparseWeights } from './kernels/conv-check.js';
import { chooseWinogradBlock } from './kernels/winograd.js';
import { CONV_ALGORITHMS, Conv2dLayer, type Conv2dSpec, type ConvAlgorithm } from './layers.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

/** The output of a layer of `geo` built with `weights` (dense or CSR) on a seeded input. */
async function output(
  geo: ConvGeometry,
  weights: Pick<Conv2dSpec, 'weights' | 'csr'>,
  algorithm: ConvAlgorithm,
  seed: number,
): Promise<Float32Array> {
  const layer = layerOf(gpu, geo, {
    ...weights,
    bias: randomArray(geo.o, seed + 1),
    activation: 'relu',
    algorithm,
  });
  const x = gpu.tensor([geo.n, geo.c, geo.h, geo.w], randomArray(geo.n * geo.c * geo.h * geo.w, seed + 2));
  try {
    let y: ReturnType<typeof layer.encode> | undefined;
    await gpu.submit((r) => {
      y = layer.encode(r, x);
    });
    const got = await gpu.read(y!);
    gpu.release(y!);
    return got;
  } finally {
    gpu.release(x);
    layer.destroy();
  }
}

/** Checks that the layer built from the weights' CSR gives the dense-built layer's output bit for bit. */
async function expectSameFromCsr(
  geo: ConvGeometry,
  w: Float32Array,
  algorithm: ConvAlgorithm,
  seed: number,
): Promise<void> {
  const csr = denseToCsr(convWeightMatrix(w, [geo.o, geo.cg, geo.kh, geo.kw]));
  const want = await output(geo, { weights: w }, algorithm, seed);
  const got = await output(geo, { csr }, algorithm, seed);
  expect(sameBits(got, want), `${algorithm} ${JSON.stringify(geo)}`).toBe(true);
}

describe('conv layers built from CSR weights', { timeout: 120_000 }, () => {
  it('give bit for bit the output of the layer built from the dense weights, every algorithm', async () => {
    const algorithms = CONV_ALGORITHMS.filter((a) => a !== 'depthwise');
    await fc.assert(
      fc.asyncProperty(
        arbitraryConvGeometry({ n: 2, cg: 5, og: 6, k: 3, extra: [4, 4] }),
        fc.constantFrom(...algorithms),
        fc.constantFrom(0, 0.5, 0.9, 1),
        fc.boolean(),
        fc.integer({ min: 1, max: 10_000 }),
        async (geo, algorithm, sparsity, emptyRows, seed) =>
          expectSameFromCsr(geo, sparseWeights(geo, sparsity, emptyRows, seed), algorithm, seed),
      ),
      { seed: 31, numRuns: 24 },
    );
  });

  it('expand the CSR for the Winograd and depthwise kernels too', async () => {
    const winograd = convGeometry([1, 32, 12, 12], [32, 32, 3, 3], { pads: [1, 1, 1, 1] });
    expect(chooseWinogradBlock(winograd)).toBeDefined();
    const depthwise = convGeometry([2, 6, 7, 7], [6, 1, 3, 3], { groups: 6, pads: [1, 1, 1, 1] });
    for (const [geo, algorithm] of [
      [winograd, 'implicit-gemm'],
      [depthwise, 'depthwise'],
    ] as const)
      for (const [k, sparsity] of [0, 0.6].entries())
        await expectSameFromCsr(geo, sparseWeights(geo, sparsity, k === 1, 40 + k), algorithm, 50 + k);
  });

  it('count the sparsity in the CSR, and refuse a CSR that does not fit the shape or no weights', () => {
    const geo = convGeometry([1, 4, 5, 5], [6, 4, 3, 3], {});
    const w = sparseWeights(geo, 0.9, false, 7);
    const csr = denseToCsr(convWeightMatrix(w, [6, 4, 3, 3]));
    const layer = new Conv2dLayer(gpu, { csr, shape: [6, 4, 3, 3] });
    expect(layer.sparsity).toBe(1 - csr.values.length / (6 * 36));
    expect(layer.algorithm).toBe('sparse-tiled');
    layer.destroy();
    expect(() => new Conv2dLayer(gpu, { csr, shape: [6, 2, 3, 6] })).not.toThrow();
    expect(() => new Conv2dLayer(gpu, { csr, shape: [6, 4, 3, 2] })).toThrow(GpuError);
    expect(() => new Conv2dLayer(gpu, { csr, shape: [3, 8, 3, 3] })).toThrow(GpuError);
    expect(() => new Conv2dLayer(gpu, { shape: [6, 4, 3, 3] })).toThrow(GpuError);
  });
});
