import { denseToCsr } from '@zeroskip/sparse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomArray } from './conformance/data.js';
import { type Gpu, requestDevice } from './device.js';
import { GpuError } from './errors.js';
import {
  Conv2dLayer,
  FcLayer,
  SPARSE_CONV_THRESHOLD,
  SPARSE_FC_THRESHOLD,
  weightSparsity,
} from './layers.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

const shape = [6, 4, 3, 3] as const;
const conv = (weights: Float32Array, sparsity?: number) =>
  new Conv2dLayer(gpu, { weights, shape, ...(sparsity === undefined ? {} : { sparsity }) });
const fcLayer = (weights: Float32Array, sparsity?: number) =>
  new FcLayer(gpu, { weights, outputs: 6, ...(sparsity === undefined ? {} : { sparsity }) });

describe('layer sparsity', { timeout: 120_000 }, () => {
  it('is counted in the weights unless the spec gives it, and auto chooses by it', () => {
    const half = randomArray(6 * 4 * 9, 1, 0.5);
    const zeros = half.reduce((n, v) => n + Number(v === 0), 0) / half.length;
    const counted = conv(half);
    expect(counted.sparsity).toBeCloseTo(zeros, 12);
    expect(counted.algorithm).toBe('implicit-gemm');
    const given = conv(half, SPARSE_CONV_THRESHOLD);
    expect(given.sparsity).toBe(SPARSE_CONV_THRESHOLD);
    expect(given.algorithm).toBe('sparse-tiled');
    const fc = fcLayer(half, SPARSE_FC_THRESHOLD);
    expect(fc.algorithm).toBe('sparse');
    expect(fcLayer(half, 0).algorithm).toBe('dense');
    for (const layer of [counted, given, fc]) layer.destroy();
  });

  it('counts the same from CSR as from the dense weights, FC and conv alike; no weights count as dense', () => {
    const w = randomArray(6 * 4 * 9, 3, 0.7);
    const csr = denseToCsr({ rows: 6, cols: 4 * 9, data: w });
    expect(weightSparsity({ csr })).toBe(weightSparsity({ weights: w }));
    const layers = [new FcLayer(gpu, { csr, outputs: 6 }), fcLayer(w), new Conv2dLayer(gpu, { csr, shape })];
    // 0.7 of them zero: above the FC threshold, below the conv one
    expect(layers.map((l) => l.algorithm)).toEqual(['sparse', 'sparse', 'implicit-gemm']);
    for (const layer of layers) layer.destroy();
    expect(weightSparsity({ weights: new Float32Array(0) })).toBe(0);
    expect(weightSparsity({ csr: denseToCsr({ rows: 0, cols: 3, data: new Float32Array(0) }) })).toBe(0);
  });

  it('outside [0, 1] is refused', () => {
    const w = randomArray(6 * 4 * 9, 2);
    for (const bad of [-0.1, 1.5, Number.NaN]) {
      expect(() => conv(w, bad)).toThrow(GpuError);
      expect(() => fcLayer(w, bad)).toThrow(GpuError);
    }
  });
});
