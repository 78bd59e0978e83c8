import { seededRandom } from '@zeroskip/quant';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lowBitRows } from '../bit-weights.js';
import { randomArray } from '../conformance/data.js';
import { type Gpu, requestDevice } from '../device.js';
import { chooseFcAlgorithm, FcLayer } from '../layers.js';
import { fcReference } from '../reference.js';
import { ACTIVATIONS, type Activation } from '../wgsl.js';
import { relativeError, sumTolerance } from './conv-check.js';
import { GEMV_MAX_ROWS } from './gemv.js';
import type { LowBitWeights } from './lowbit-fc.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

/** W [outputs, k]: ±α_o per row, and about `zeros` of them 0 for ternary rows. */
function gridWeights(outputs: number, k: number, weights: LowBitWeights, seed: number): Float32Array {
  const r = seededRandom(seed);
  const alpha = Array.from({ length: outputs }, () => 0.05 + r());
  return Float32Array.from({ length: outputs * k }, (_, i) => {
    const v = r();
    if (weights === 'ternary' && v < 0.4) return 0;
    return (v < 0.7 ? -1 : 1) * alpha[Math.floor(i / k)]!;
  });
}

async function lowBitError(
  batch: number,
  k: number,
  outputs: number,
  weights: LowBitWeights,
  activation: Activation,
  seed: number,
): Promise<number> {
  const w = gridWeights(outputs, k, weights, seed);
  const bias = randomArray(outputs, seed + 1);
  const x = randomArray(batch * k, seed + 2);
  const layer = new FcLayer(gpu, { weights: w, outputs, bias, activation, algorithm: 'lowbit' });
  const xt = gpu.tensor([batch, k], x);
  let y: ReturnType<typeof layer.encode> | undefined;
  await gpu.submit((r) => {
    y = layer.encode(r, xt);
  });
  const got = await gpu.read(y!);
  gpu.release(y!);
  gpu.release(xt);
  layer.destroy();
  return relativeError(got, fcReference(x, batch, w, outputs, bias, activation));
}

describe('low-bit FC on bit planes', { timeout: 300_000 }, () => {
  it('matches the f32 reference on random sizes: batches past a chunk, K past words, K of vectors only, K below 4', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 * GEMV_MAX_ROWS + 3 }),
        fc.oneof(fc.constantFrom(3, 64, 100, 1024), fc.integer({ min: 1, max: 1200 })),
        fc.integer({ min: 1, max: 40 }),
        fc.constantFrom<LowBitWeights>('binary', 'ternary'),
        fc.constantFrom(...ACTIVATIONS),
        fc.integer({ min: 1, max: 10_000 }),
        async (batch, k, outputs, weights, activation, seed) => {
          const err = await lowBitError(batch, k, outputs, weights, activation, seed);
          expect(err, `batch ${batch} k ${k} outputs ${outputs} ${weights} ${activation}`).toBeLessThan(
            sumTolerance(k, 8),
          );
        },
      ),
      { seed: 37, numRuns: 12, endOnFailure: true },
    );
  });

  it('is what auto picks for low-bit weights over few rows, and a GpuError for off-grid weights', () => {
    const w = gridWeights(16, 96, 'ternary', 5);
    const layer = (rows: number) => new FcLayer(gpu, { weights: w, outputs: 16, rows });
    for (const [rows, algorithm] of [
      [1, 'lowbit'],
      [GEMV_MAX_ROWS, 'lowbit'],
      [GEMV_MAX_ROWS + 1, 'dense'],
    ] as const) {
      const l = layer(rows);
      expect(l.algorithm, `rows ${rows}`).toBe(algorithm);
      l.destroy();
    }
    expect(
      () => new FcLayer(gpu, { weights: randomArray(16 * 96, 1), outputs: 16, algorithm: 'lowbit' }),
    ).toThrow(/not ±α or \{−α, 0, α\}/);
    // CSR reads fewer bytes than two planes only below 1/32 of the weights
    expect(chooseFcAlgorithm(0.99, 1, 'ternary')).toBe('sparse');
    expect(chooseFcAlgorithm(0.95, 1, 'ternary')).toBe('lowbit');
  });
});

describe('lowBitRows', () => {
  it('finds binary and ternary rows with their own α, in either layout, and refuses anything else', () => {
    const w = Float32Array.from([0.5, -0.5, 0.5, 2, 2, -2]);
    const binary = lowBitRows(w, 2)!;
    expect(binary.weights).toBe('binary');
    expect([...binary.alpha]).toEqual([0.5, 2]);
    expect([...binary.planes]).toEqual([0b010, 0b100]);
    // the same weights as Wᵀ [k, outputs], scaled by Gemm's alpha
    const t = Float32Array.from([0.5, 2, -0.5, 2, 0.5, -2]);
    const scaled = lowBitRows(t, 2, { transposed: true, scale: 3 })!;
    expect([...scaled.planes]).toEqual([0b010, 0b100]);
    expect([...scaled.alpha]).toEqual([1.5, 6]);
    const ternary = lowBitRows(Float32Array.from([0, -1, 1, 0]), 2)!;
    expect(ternary.weights).toBe('ternary');
    // non-zero plane, then sign plane
    expect([...ternary.planes]).toEqual([0b10, 0b01, 0b10, 0b00]);
    expect(lowBitRows(Float32Array.from([1, -1, 0.5, 1]), 2)).toBeUndefined();
    expect(lowBitRows(Float32Array.from([1, Number.NaN]), 1)).toBeUndefined();
    expect(lowBitRows(Float32Array.from([Number.POSITIVE_INFINITY, 0]), 1)).toBeUndefined();
  });

  it('packs bit j of word w as weight 32·w + j, past 32 weights', () => {
    const k = 70;
    const w = Float32Array.from({ length: k }, (_, j) => (j === 33 || j === 69 ? -1 : 1));
    const { planes } = lowBitRows(w, 1)!;
    expect([...planes]).toEqual([0, 1 << 1, 1 << 5]);
  });
});
