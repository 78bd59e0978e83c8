import { seededRandom } from '@zeroskip/quant';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lowBitRows } from '../bit-weights.js';
import { randomArray } from '../conformance/data.js';
import { type Gpu, requestDevice } from '../device.js';
import { chooseFcAlgorithm, FcLayer, LOWBIT_MAX_ROWS, LOWBIT_MIN_WEIGHTS } from '../layers.js';
import { fcReference } from '../reference.js';
import type { GpuTensor } from '../tensor.js';
import { ACTIVATIONS, type Activation } from '../wgsl.js';
import { relativeError, sumTolerance } from './conv-check.js';
import { GEMV_MAX_ROWS } from './gemv.js';
import { encodeLowBitFc, type LowBitWeights, lowBitRowsPerGroup } from './lowbit-fc.js';

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

/** The kernel's error against the f32 reference, with `rows` output channels per workgroup or, left out, through FcLayer. */
async function lowBitError(
  batch: number,
  k: number,
  outputs: number,
  weights: LowBitWeights,
  activation: Activation,
  seed: number,
  rows?: number,
): Promise<number> {
  const w = gridWeights(outputs, k, weights, seed);
  const bias = randomArray(outputs, seed + 1);
  const x = randomArray(batch * k, seed + 2);
  const xt = gpu.tensor([batch, k], x);
  const layer = new FcLayer(gpu, { weights: w, outputs, bias, activation, algorithm: 'lowbit' });
  const bits = lowBitRows(w, outputs)!;
  const planes = gpu.tensor([bits.planes.length], bits.planes);
  const alpha = gpu.tensor([outputs], bits.alpha);
  const b = gpu.tensor([outputs], bias);
  let y: GpuTensor | undefined;
  await gpu.submit((r) => {
    if (rows === undefined) y = layer.encode(r, xt);
    else {
      y = gpu.empty([batch, outputs]);
      encodeLowBitFc(
        r,
        { x: xt, planes, alpha, bias: b, y },
        { batch, k, outputs },
        bits.weights,
        activation,
        rows,
      );
    }
  });
  const got = await gpu.read(y!);
  for (const t of [y!, xt, planes, alpha, b]) gpu.release(t);
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
        fc.constantFrom(undefined, 1, 3, 8, 16),
        async (batch, k, outputs, weights, activation, seed, rows) => {
          const err = await lowBitError(batch, k, outputs, weights, activation, seed, rows);
          expect(
            err,
            `batch ${batch} k ${k} outputs ${outputs} ${weights} ${activation} rows ${rows}`,
          ).toBeLessThan(sumTolerance(k, 8));
        },
      ),
      { seed: 37, numRuns: 10, endOnFailure: true },
    );
  });

  it('is the default for large low-bit layers over few rows, and a GpuError for off-grid weights', () => {
    const big = { weights: 'ternary', count: LOWBIT_MIN_WEIGHTS } as const;
    expect(chooseFcAlgorithm(0.4, 1, big)).toBe('lowbit');
    expect(chooseFcAlgorithm(0.4, LOWBIT_MAX_ROWS, big)).toBe('lowbit');
    expect(chooseFcAlgorithm(0.4, LOWBIT_MAX_ROWS + 1, big)).toBe('dense');
    expect(chooseFcAlgorithm(0.4, undefined, big)).toBe('dense');
    expect(chooseFcAlgorithm(0.4, 1, { ...big, count: LOWBIT_MIN_WEIGHTS - 1 })).toBe('dense');
    // CSR reads fewer bytes than two planes only below 1/32 of the weights
    expect(chooseFcAlgorithm(0.99, 1, big)).toBe('sparse');
    expect(chooseFcAlgorithm(0.95, 1, big)).toBe('lowbit');
    // a small layer stays on the f32 GEMV, without its weights being scanned
    const small = new FcLayer(gpu, { weights: gridWeights(16, 96, 'ternary', 5), outputs: 16, rows: 1 });
    expect(small.algorithm).toBe('dense');
    small.destroy();
    expect(
      () => new FcLayer(gpu, { weights: randomArray(16 * 96, 1), outputs: 16, algorithm: 'lowbit' }),
    ).toThrow(/not ±α or \{−α, 0, α\}/);
  });

  it('takes 16 output channels per workgroup on a batch of wide layers, fewer on one row and narrow layers', () => {
    expect(lowBitRowsPerGroup(4096, 1)).toBe(8);
    expect(lowBitRowsPerGroup(4096, 2)).toBe(16);
    expect(lowBitRowsPerGroup(1000, 4)).toBe(4);
    expect(lowBitRowsPerGroup(10, 1)).toBe(4);
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
    // exported ±α with float noise: α is the row's mean magnitude
    const noisy = lowBitRows(Float32Array.from([1, -(1 + 2 ** -22), 0.5, 0.5]), 2);
    expect(noisy?.alpha[0]).toBeCloseTo(1, 6);
    expect(lowBitRows(Float32Array.from([1, -(1 + 2 ** -18)]), 1)).toBeUndefined();
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
