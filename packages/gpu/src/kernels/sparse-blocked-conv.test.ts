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
  blockedWeights,
  parseSparseBlocking,
  type SparseBlocking,
  sparseBlocking,
  sparseBlockingName,
  stripLayout,
} from './sparse-blocked-conv.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu.destroy());

function blockedError(
  geo: ConvGeometry,
  weights: Float32Array,
  activation: Activation,
  blocking: SparseBlocking | undefined,
  shared?: SharedWeights,
): Promise<number> {
  return layerError(gpu, geo, weights, activation, {
    algorithm: 'sparse-blocked',
    ...(blocking ? { blocking } : {}),
    ...(shared ? { shared } : {}),
  });
}

const convCase = arbitraryConvGeometry({ n: 4, cg: 6, og: 12, k: 3, extra: [7, 11] });

// explicit blockings as the benchmark's variants give them, split slices included
const blockingCase = fc.option(
  fc
    .record({
      rows: fc.constantFrom(1, 3, 8, 16),
      px: fc.integer({ min: 1, max: 8 }),
      threads: fc.constantFrom(1, 5, 32),
      blocks: fc.constantFrom(1, 2),
      split: fc.constantFrom(1, 2, 3),
    })
    .filter((b) => b.threads * b.blocks * b.split <= 256),
  { nil: undefined },
);

describe('register-blocked sparse conv', () => {
  it('matches the reference conv on random shapes, sparsities and blockings', async () => {
    await fc.assert(
      fc.asyncProperty(
        convCase,
        blockingCase,
        fc.constantFrom(0, 0.5, 0.9, 0.99, 1),
        fc.boolean(),
        fc.constantFrom<Activation>('none', 'relu', 'relu6'),
        fc.integer({ min: 0, max: 1000 }),
        async (geo, blocking, sparsity, emptyRows, activation, seed) => {
          const w = sparseWeights(geo, sparsity, emptyRows, seed);
          expect(await blockedError(geo, w, activation, blocking)).toBeLessThan(sumTolerance(geo.k, 2));
        },
      ),
      { seed: 2026, numRuns: 40, endOnFailure: true },
    );
  }, 600_000);

  it('reads both input layouts, runs shared weights, and splits a deep layer over few strips', async () => {
    // 20 strips of 4 per row: the row layout
    const wide = convGeometry([1, 3, 6, 80], [5, 3, 3, 3], { pads: [1, 1, 1, 1] });
    expect(stripLayout(wide, { px: 4 }).kind).toBe('rows');
    const w = sparseWeights(wide, 0.6, false, 7);
    expect(
      await blockedError(wide, w, 'none', { rows: 4, px: 4, threads: 32, blocks: 1, split: 1 }),
    ).toBeLessThan(sumTolerance(wide.k, 2));
    const geo = convGeometry([2, 8, 7, 9], [12, 4, 3, 3], { groups: 2, pads: [1, 1, 1, 1] });
    const shared = kmeansShare(sparseWeights(geo, 0.7, true, 3), { bits: 4 });
    expect(await blockedError(geo, shared.weights, 'relu', undefined, shared)).toBeLessThan(
      sumTolerance(geo.k),
    );
    const deep = convGeometry([1, 64, 5, 5], [8, 64, 3, 3], { pads: [1, 1, 1, 1] });
    expect(sparseBlocking(deep).split).toBeGreaterThan(1);
    expect(await blockedError(deep, sparseWeights(deep, 0.5, false, 4), 'none', undefined)).toBeLessThan(
      sumTolerance(deep.k, 2),
    );
  }, 300_000);
});

describe('register-blocked sparse conv parameters', () => {
  it('groups non-zeros by row block and (channel, kernel row), naming row and kernel column', () => {
    // two groups of 3 output channels, 2 input channels each, 1×2 kernels; blocks of 2 rows
    const geo = convGeometry([1, 4, 3, 3], [6, 2, 1, 2], { groups: 2 });
    const dense = new Float32Array(6 * 4);
    dense[0 * 4 + 3] = 1; // o0: c1 kx1
    dense[1 * 4 + 0] = 2; // o1: c0 kx0
    dense[2 * 4 + 2] = 3; // o2 (second block): c1 kx0
    dense[5 * 4 + 1] = 4; // o5 (group 1, second block): c0 kx1
    const { ptr, entries } = blockedWeights(denseToCsr({ rows: 6, cols: 4, data: dense }), geo, 2);
    // 4 blocks × 2 runs
    expect([...ptr]).toEqual([0, 1, 2, 2, 3, 3, 3, 4, 4]);
    const cases = [...entries].filter((_, i) => i % 2 === 0);
    const values = [...new Float32Array(entries.buffer)].filter((_, i) => i % 2 === 1);
    expect(cases).toEqual([1 * 2 + 0, 0 * 2 + 1, 0, 1]);
    expect(values).toEqual([2, 1, 3, 4]);
  });

  it('blocks 8 rows, fits px to the row, and splits the channel loop up to 8 ways', () => {
    const layer = (c: number, hw: number, o: number, n: number) =>
      convGeometry([n, c, hw, hw], [o, c, 3, 3], { pads: [1, 1, 1, 1] });
    expect(sparseBlocking(layer(512, 28, 512, 32))).toEqual({
      rows: 8,
      px: 7,
      threads: 32,
      blocks: 1,
      split: 8,
    });
    expect(sparseBlocking(layer(64, 224, 64, 32)).px).toBe(8);
    expect(sparseBlocking(layer(16, 7, 512, 1))).toEqual({
      rows: 8,
      px: 7,
      threads: 32,
      blocks: 1,
      split: 2,
    });
    expect(sparseBlocking(layer(8, 5, 4, 1))).toEqual({ rows: 4, px: 5, threads: 32, blocks: 1, split: 1 });
  });

  it('names blockings and reads the names back; bad blockings are GpuErrors', () => {
    const b = { rows: 8, px: 5, threads: 32, blocks: 2, split: 2 };
    expect(parseSparseBlocking(sparseBlockingName(b))).toEqual(b);
    expect(() => parseSparseBlocking('r16p9t64b1s1')).toThrow(/at most 128/);
    expect(() => parseSparseBlocking('r1p1t128b2s2')).toThrow(/at most 256/);
    expect(() => parseSparseBlocking('r8p8t256b1s1')).not.toThrow();
    expect(() => parseSparseBlocking('16x7')).toThrow(/r<rows>p<px>t<threads>b<blocks>s<split>/);
    expect(
      () =>
        new Conv2dLayer(gpu, {
          weights: new Float32Array(9),
          shape: [1, 1, 3, 3],
          algorithm: 'sparse-blocked',
          blocking: { rows: 0, px: 1, threads: 8, blocks: 1, split: 1 },
        }),
    ).toThrow(GpuError);
  });
});
