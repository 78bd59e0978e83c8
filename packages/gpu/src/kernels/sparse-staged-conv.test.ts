import { kmeansShare } from '@zeroskip/quant';
import { denseToCsr } from '@zeroskip/sparse';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gpu, requestDevice } from '../device.js';
import { GpuError } from '../errors.js';
import { type ConvGeometry, convGeometry } from '../geometry.js';
import { Conv2dLayer, type SharedWeights } from '../layers.js';
import type { Activation } from '../wgsl.js';
import { arbitraryConvGeometry, layerError, sparseWeights, sumTolerance } from './conv-check.js';
import {
  parseSparseStaging,
  type SparseStaging,
  sparseStaging,
  sparseStagingName,
  stagedTileUse,
  stagedWeights,
  stagedWindow,
  stagingFitsAnywhere,
} from './sparse-staged-conv.js';
import { sparseRowOrder } from './sparse-tiled-conv.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu.destroy());

/** The staged kernel's error through a Conv2dLayer. */
function stagedError(
  geo: ConvGeometry,
  weights: Float32Array,
  activation: Activation,
  staging: SparseStaging | undefined,
  shared?: SharedWeights,
): Promise<number> {
  return layerError(gpu, geo, weights, activation, {
    algorithm: 'sparse-staged',
    ...(staging ? { staging } : {}),
    ...(shared ? { shared } : {}),
  });
}

const convCase = arbitraryConvGeometry({ n: 4, cg: 9, og: 12, k: 3, extra: [7, 11] });

// explicit stagings as the benchmark's variants give them: partial passes, idle warps and lanes
const stagingCase = fc.option(
  fc.record({
    px: fc.integer({ min: 1, max: 8 }),
    rows: fc.constantFrom(1, 2, 3),
    warps: fc.constantFrom(1, 2, 3, 16),
    channels: fc.constantFrom(1, 2, 4, 5),
    width: fc.constantFrom(1, 2, 4, 8, 32),
  }),
  { nil: undefined },
);

describe('staged sparse conv', () => {
  it('matches the reference conv on random shapes, sparsities and stagings', async () => {
    await fc.assert(
      fc.asyncProperty(
        convCase,
        stagingCase,
        fc.constantFrom(0, 0.5, 0.9, 0.99, 1),
        fc.boolean(),
        fc.constantFrom<Activation>('none', 'relu', 'relu6'),
        fc.integer({ min: 0, max: 1000 }),
        async (geo, staging, sparsity, emptyRows, activation, seed) => {
          const w = sparseWeights(geo, sparsity, emptyRows, seed);
          expect(await stagedError(geo, w, activation, staging)).toBeLessThan(sumTolerance(geo.k, 2));
        },
      ),
      { seed: 2026, numRuns: 40, endOnFailure: true },
    );
  }, 600_000);

  it('runs from 4-bit shared weights, with a residual, and on maps whose tile rows need a padded stride', async () => {
    const geo = convGeometry([2, 8, 7, 9], [12, 4, 3, 3], { groups: 2, pads: [1, 1, 1, 1] });
    const shared = kmeansShare(sparseWeights(geo, 0.7, true, 3), { bits: 4 });
    expect(await stagedError(geo, shared.weights, 'relu', undefined, shared)).toBeLessThan(
      sumTolerance(geo.k),
    );
    // 6 columns: tiles 8 wide, 4 tile rows per load, rows 16 apart in workgroup memory
    const narrow = convGeometry([3, 5, 11, 6], [7, 5, 3, 3], { pads: [1, 1, 1, 1], stride: [2, 1] });
    expect(stagedWindow(narrow, sparseStaging(narrow)).stride).not.toBe(
      stagedWindow(narrow, sparseStaging(narrow)).rw,
    );
    const w = sparseWeights(narrow, 0.6, false, 5);
    expect(await layerError(gpu, narrow, w, 'relu6', { algorithm: 'sparse-staged' }, true)).toBeLessThan(
      sumTolerance(narrow.k, 2),
    );
  }, 300_000);

  it("is a GpuError where one channel's window exceeds the device's workgroup memory", async () => {
    // a 15×15 kernel at stride 12: 8 rows × 32 columns of outputs read a 99 × 387 window (153 KB)
    const shape = [4, 1, 15, 15] as const;
    const layer = new Conv2dLayer(gpu, {
      weights: new Float32Array(4 * 15 * 15).fill(1),
      shape,
      stride: [12, 12],
      algorithm: 'sparse-staged',
      staging: { px: 8, rows: 1, warps: 4, channels: 1, width: 32 },
    });
    const x = gpu.tensor([1, 1, 99, 387], new Float32Array(99 * 387));
    await expect(gpu.submit((r) => gpu.release(layer.encode(r, x)))).rejects.toThrow(/smaller tile/);
    gpu.release(x);
    layer.destroy();
  });

  it('is a GpuError where a staging names more threads than the device runs in a workgroup', async () => {
    // the same device, as one that allows WebGPU's default 256 invocations per workgroup
    const small: Gpu = Object.create(gpu, {
      limits: { value: { ...gpu.limits, maxComputeInvocationsPerWorkgroup: 256 } },
    });
    const geo = convGeometry([1, 4, 6, 6], [4, 4, 3, 3], { pads: [1, 1, 1, 1] });
    const layer = new Conv2dLayer(small, {
      weights: sparseWeights(geo, 0.5, false, 1),
      shape: [4, 4, 3, 3],
      pads: [1, 1, 1, 1],
      algorithm: 'sparse-staged',
      staging: { px: 1, rows: 1, warps: 16, channels: 1, width: 8 },
    });
    const x = gpu.tensor([1, 4, 6, 6], new Float32Array(144));
    await expect(small.submit((r) => gpu.release(layer.encode(r, x)))).rejects.toThrow(
      /512 threads .* over the device's 256/,
    );
    gpu.release(x);
    layer.destroy();
  });
});

describe('staged sparse conv parameters', () => {
  const layer = (c: number, hw: number, o: number, n: number, groups = 1) =>
    convGeometry([n, c, hw, hw], [o, c / groups, 3, 3], { pads: [1, 1, 1, 1], groups });

  it('tiles wide maps a warp wide, narrow ones in several rows per load, within 16 KiB', () => {
    // 224 columns: 32-wide tiles 8 rows high, 12 channels of a 10 × 34 window per pass
    expect(sparseStaging(layer(64, 224, 64, 32))).toEqual({
      px: 8,
      rows: 4,
      warps: 8,
      channels: 12,
      width: 32,
    });
    // 28 columns: 7 rows per tile cover the map in 4 tiles
    expect(sparseStaging(layer(512, 28, 512, 32)).px).toBe(7);
    // 7 columns: tiles 8 wide, 4 rows per load, 2 loads
    expect(sparseStaging(layer(512, 7, 512, 32))).toMatchObject({ px: 2, width: 8 });
    // 6 output channels: fewer warps, one channel each
    expect(sparseStaging(layer(16, 14, 6, 1))).toMatchObject({ rows: 1, warps: 4 });
    // 16 warps where the device runs 512 threads and 256 workgroups remain: 7 × 28 tiles × 32 images
    const any = { maxComputeInvocationsPerWorkgroup: 1024, maxComputeWorkgroupSizeX: 1024 };
    expect(sparseStaging(layer(64, 224, 64, 32), 0, any)).toMatchObject({ rows: 4, warps: 16 });
    expect(sparseStaging(layer(64, 224, 64, 32), 0, { ...any, maxComputeWorkgroupSizeX: 256 }).warps).toBe(8);
    // 4 channel slots × one 14 × 14 tile × 32 images: 128 workgroups of 16 warps, 256 of 8
    expect(sparseStaging(layer(256, 14, 256, 32), 0, any).warps).toBe(8);
    expect(sparseStaging(layer(256, 14, 256, 64), 0, any).warps).toBe(16);
    for (const [c, hw, o] of [
      [3, 1, 1],
      [1024, 13, 384],
      [96, 55, 256],
    ] as const) {
      const geo = layer(c, hw, o, 2);
      const win = stagedWindow(geo, sparseStaging(geo));
      expect(win.floats * 4).toBeLessThanOrEqual(16_384);
      expect(win.channels * win.passes).toBeGreaterThanOrEqual(geo.cg);
    }
  });

  it('leaves room for a codebook, and says where even one channel would not fit every adapter', () => {
    const geo = layer(64, 224, 64, 32);
    const withCodebook = sparseStaging(geo, 1024);
    expect(withCodebook.channels).toBeLessThan(sparseStaging(geo).channels);
    expect(stagedWindow(geo, withCodebook).floats * 4 + 1024).toBeLessThanOrEqual(16_384);
    expect(stagingFitsAnywhere(geo)).toBe(true);
    // AlexNet conv1 at batch 32: an 11×11 kernel at stride 4 reads a 39 × 135 window per channel
    const conv1 = convGeometry([32, 3, 227, 227], [96, 3, 11, 11], { stride: [4, 4] });
    expect(stagingFitsAnywhere(conv1)).toBe(false);
  });

  it("measures the share of the default tiles' pixels on the map", () => {
    expect(stagedTileUse({ ho: 224, wo: 224 })).toBe(1);
    // 27 columns in tiles 32 wide, 27 rows in 4 tiles 7 high
    expect(stagedTileUse({ ho: 27, wo: 27 })).toBeCloseTo((27 / 32) * (27 / 28));
    // 13 columns in tiles 16 wide, 13 rows in one tile 14 high
    expect(stagedTileUse({ ho: 13, wo: 13 })).toBeCloseTo((13 / 16) * (13 / 14));
  });

  it('orders rows by decreasing non-zeros within each group, and finds each pass of a row', () => {
    const csr = denseToCsr({
      rows: 4,
      cols: 2 * 9,
      data: Float32Array.from({ length: 4 * 18 }, (_, i) => (i < 18 ? +(i === 10) : i < 36 ? 1 : +(i % 2))),
    });
    expect([...sparseRowOrder(csr, 2)]).toEqual([1, 0, 2, 3]);
    // row 0's one non-zero is channel 1's tap 1; passes of one channel each
    const geo = convGeometry([1, 2, 5, 5], [4, 2, 3, 3]);
    const win = stagedWindow(geo, { px: 1, rows: 1, warps: 1, channels: 1, width: 4 });
    const w = stagedWeights(csr, geo, win);
    expect([...w.passPtr.subarray(0, 3)]).toEqual([0, 0, 1]);
    expect([...w.passPtr.subarray(3, 6)]).toEqual([1, 10, 19]);
    expect(w.offsets[0]).toBe(1);
  });

  it('names stagings and reads the names back; bad stagings are GpuErrors', () => {
    const s = { px: 7, rows: 4, warps: 8, channels: 12, width: 32 };
    expect(parseSparseStaging(sparseStagingName(s))).toEqual(s);
    expect(() => parseSparseStaging('p9r1w8c4l32')).toThrow(GpuError);
    expect(() => parseSparseStaging('p8r16w8c4l32')).toThrow(/at most 64/);
    expect(() => parseSparseStaging('p8r1w64c4l32')).toThrow(/at most 32/);
    expect(() => parseSparseStaging('p8r1w8c4l12')).toThrow(/power of two/);
    expect(
      () =>
        new Conv2dLayer(gpu, {
          weights: new Float32Array(9),
          shape: [1, 1, 3, 3],
          algorithm: 'sparse-staged',
          staging: { px: 0, rows: 1, warps: 1, channels: 1, width: 1 },
        }),
    ).toThrow(GpuError);
  });
});
