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
  parseSparseTiling,
  type SparseTiling,
  sparseRowOrder,
  sparseTiling,
  sparseTilingName,
  tiledPadGeometry,
} from './sparse-tiled-conv.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu.destroy());

/** The tiled kernel's error through a Conv2dLayer. */
function tiledError(
  geo: ConvGeometry,
  weights: Float32Array,
  activation: Activation,
  tiling: SparseTiling | undefined,
  shared?: SharedWeights,
): Promise<number> {
  return layerError(gpu, geo, weights, activation, {
    algorithm: 'sparse-tiled',
    ...(tiling ? { tiling } : {}),
    ...(shared ? { shared } : {}),
  });
}

const convCase = arbitraryConvGeometry({ n: 5, cg: 6, og: 12, k: 3, extra: [7, 11] });

// explicit tilings as the benchmark's variants give them, odd sizes included
const tilingCase = fc.option(
  fc
    .record({
      px: fc.integer({ min: 1, max: 8 }),
      lanes: fc.constantFrom(1, 1, 2, 4),
      segments: fc.constantFrom(1, 3, 8),
      split: fc.constantFrom(1, 2, 3, 8),
      rows: fc.constantFrom(1, 2, 3),
    })
    .map(({ segments, ...t }) => ({ ...t, cols: segments * t.lanes }))
    .filter((t) => t.rows * t.split * t.cols <= 256),
  { nil: undefined },
);

describe('tiled sparse conv', () => {
  it('matches the reference conv on random shapes, sparsities and tilings', async () => {
    await fc.assert(
      fc.asyncProperty(
        convCase,
        tilingCase,
        fc.constantFrom(0, 0.5, 0.9, 0.99, 1),
        fc.boolean(),
        fc.constantFrom<Activation>('none', 'relu', 'relu6'),
        fc.integer({ min: 0, max: 1000 }),
        async (geo, tiling, sparsity, emptyRows, activation, seed) => {
          const w = sparseWeights(geo, sparsity, emptyRows, seed);
          expect(await tiledError(geo, w, activation, tiling)).toBeLessThan(sumTolerance(geo.k, 2));
        },
      ),
      { seed: 2026, numRuns: 40, endOnFailure: true },
    );
  }, 600_000);

  it('runs from 4-bit shared weights, and at the default tiling of a batch-1 deep layer (split-K)', async () => {
    const geo = convGeometry([2, 8, 7, 9], [12, 4, 3, 3], { groups: 2, pads: [1, 1, 1, 1] });
    const shared = kmeansShare(sparseWeights(geo, 0.7, true, 3), { bits: 4 });
    expect(await tiledError(geo, shared.weights, 'relu', undefined, shared)).toBeLessThan(
      sumTolerance(geo.k),
    );
    const deep = convGeometry([1, 96, 5, 5], [24, 96, 3, 3], { pads: [1, 1, 1, 1] });
    const w = sparseWeights(deep, 0.5, false, 4);
    const tiling = sparseTiling(deep, (deep.k * 0.5) / 1);
    expect(tiling.split).toBeGreaterThan(1);
    expect(await tiledError(deep, w, 'none', undefined)).toBeLessThan(sumTolerance(deep.k, 2));
  }, 300_000);
});

describe('tiled sparse conv parameters', () => {
  const layer = (c: number, hw: number, o: number, n: number, stride = 1) =>
    convGeometry([n, c, hw, hw], [o, c, 3, 3], { pads: [1, 1, 1, 1], stride: [stride, stride] });

  it('gives whole rows to threads of narrow maps, splits deep rows, and fills wide ones with columns', () => {
    expect(sparseTiling(layer(512, 7, 512, 1), 461)).toEqual({
      px: 7,
      lanes: 1,
      cols: 8,
      split: 16,
      rows: 1,
    });
    expect(sparseTiling(layer(512, 14, 512, 1), 461)).toEqual({
      px: 7,
      lanes: 2,
      cols: 32,
      split: 4,
      rows: 1,
    });
    // rows up to a warp wide: 2 lanes and 32 columns, the split filling the workgroup
    expect(sparseTiling(layer(128, 28, 128, 1), 115)).toEqual({
      px: 7,
      lanes: 2,
      cols: 32,
      split: 4,
      rows: 1,
    });
    // a warp's 32 lanes read 32 consecutive pixels per load, 7 times across a 224-wide row
    expect(sparseTiling(layer(64, 224, 64, 32), 58)).toEqual({
      px: 7,
      lanes: 32,
      cols: 128,
      split: 1,
      rows: 1,
    });
    // a slice keeps at least 8 non-zeros: a 9-non-zero row is never split
    expect(sparseTiling(layer(8, 3, 4, 1), 9).split).toBe(1);
    for (const wo of [1, 5, 13, 27, 56, 113]) {
      const t = sparseTiling(layer(16, wo, 16, 2), 20);
      expect(t.px).toBeLessThanOrEqual(8);
      expect(t.rows * t.split * t.cols).toBeLessThanOrEqual(256);
      expect(t.cols % t.lanes).toBe(0);
    }
  });

  it("reads an unpadded conv's input as it is: one dispatch, the surplus pixels past a row's end unstored", async () => {
    // rows of 13 and 5 outputs in segments of 8 and 6 pixels: the last segment of each row reads the
    // next row, and the last image's reads run past the input's end
    for (const [input, weights, stride, tiling] of [
      [[3, 6, 13, 13], [12, 6, 1, 1], 1, { px: 4, lanes: 2, cols: 8, split: 1, rows: 1 }],
      [[2, 5, 11, 9], [7, 5, 3, 3], 2, { px: 3, lanes: 2, cols: 4, split: 2, rows: 2 }],
    ] as const) {
      const geo = convGeometry(input, weights, { stride: [stride, stride] });
      expect(tiledPadGeometry(geo, tiling)).toEqual(geo);
      const w = sparseWeights(geo, 0.5, false, 11);
      expect(await tiledError(geo, w, 'relu', tiling)).toBeLessThan(sumTolerance(geo.k, 2));
      const layer = new Conv2dLayer(gpu, {
        weights: w,
        shape: weights,
        stride: [stride, stride],
        algorithm: 'sparse-tiled',
        tiling,
      });
      const x = gpu.tensor(input, new Float32Array(input.reduce((a: number, b: number) => a * b, 1)));
      let labels: string[] = [];
      await gpu.submit((r) => {
        gpu.release(layer.encode(r, x));
        labels = [...r.labels];
      });
      expect(labels).toEqual(['conv-sparse-tiled']);
      gpu.release(x);
      layer.destroy();
    }
  });

  it('pads wide enough for the last chunk of a row', () => {
    const geo = layer(4, 13, 4, 1, 2);
    // 7 outputs in segments of 4 (one lane of 4 pixels, or 2 lanes of 2) read up to x = (8 − 1)·2 + 2
    for (const [px, lanes] of [
      [4, 1],
      [2, 2],
    ] as const) {
      const pad = tiledPadGeometry(geo, { px, lanes, cols: 8, split: 1, rows: 1 });
      expect(pad.w + pad.pl + pad.pr).toBe(17);
    }
    expect(tiledPadGeometry(geo, { px: 7, lanes: 1, cols: 8, split: 1, rows: 1 }).pr).toBe(geo.pr);
  });

  it('orders rows by decreasing non-zeros, keeping equal rows in channel order', () => {
    const csr = denseToCsr({
      rows: 4,
      cols: 3,
      data: Float32Array.from([1, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1]),
    });
    expect([...sparseRowOrder(csr)]).toEqual([1, 3, 0, 2]);
  });

  it('names tilings and reads the names back; bad tilings are GpuErrors', () => {
    const t = { px: 6, lanes: 4, cols: 16, split: 4, rows: 2 };
    expect(parseSparseTiling(sparseTilingName(t))).toEqual(t);
    expect(() => parseSparseTiling('p9l1c8s1r1')).toThrow(GpuError);
    expect(() => parseSparseTiling('p4l1c128s4r1')).toThrow(/at most 256/);
    expect(() => parseSparseTiling('p4l32c48s1r1')).toThrow(/lanes must divide cols/);
    expect(() => parseSparseTiling('8x128')).toThrow(/p<px>l<lanes>c<cols>s<split>r<rows>/);
    expect(
      () =>
        new Conv2dLayer(gpu, {
          weights: new Float32Array(9),
          shape: [1, 1, 3, 3],
          algorithm: 'sparse-tiled',
          tiling: { px: 0, lanes: 1, cols: 8, split: 1, rows: 1 },
        }),
    ).toThrow(GpuError);
  });
});
