import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomArray } from '../conformance/data.js';
import { type Gpu, requestDevice } from '../device.js';
import { convGeometry } from '../geometry.js';
import { ACTIVATIONS } from '../wgsl.js';
import { layerError, layerOf, sumTolerance } from './conv-check.js';
import { GEMV_MAX_ROWS, isGemv } from './gemv.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

/** An FC layer as the runtime builds it: a 1×1 conv on [n, c, 1, 1]. */
const fcGeometry = (n: number, c: number, o: number) => convGeometry([n, c, 1, 1], [o, c, 1, 1]);

describe('FC-like convs on a few images (the GEMV kernel)', { timeout: 300_000 }, () => {
  it('match the reference on random sizes, activations and residuals, odd K and ragged outputs included', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: GEMV_MAX_ROWS + 2 }),
        fc.integer({ min: 1, max: 700 }),
        fc.integer({ min: 1, max: 37 }),
        fc.constantFrom(...ACTIVATIONS),
        fc.boolean(),
        fc.integer({ min: 1, max: 10_000 }),
        async (n, c, o, activation, residual, seed) => {
          const geo = fcGeometry(n, c, o);
          const w = randomArray(o * c, seed);
          const err = await layerError(gpu, geo, w, activation, { algorithm: 'implicit-gemm' }, residual);
          expect(err, `n ${n} c ${c} o ${o} ${activation}`).toBeLessThan(sumTolerance(c, 8));
        },
      ),
      { seed: 61, numRuns: 12, endOnFailure: true },
    );
  });

  it('run as GEMV up to its row limit and as the tiled GEMM past it', async () => {
    for (const n of [1, GEMV_MAX_ROWS, GEMV_MAX_ROWS + 1]) {
      const geo = fcGeometry(n, 64, 12);
      const layer = layerOf(gpu, geo, { weights: randomArray(12 * 64, 1), algorithm: 'implicit-gemm' });
      const x = gpu.tensor([n, 64, 1, 1], randomArray(n * 64, 2));
      let labels: string[] = [];
      await gpu.submit((r) => {
        gpu.release(layer.encode(r, x));
        labels = [...r.labels];
      });
      expect(labels.includes('gemv'), `batch ${n}: ${labels}`).toBe(isGemv(geo));
      expect(isGemv(geo)).toBe(n <= GEMV_MAX_ROWS);
      gpu.release(x);
      layer.destroy();
    }
  });
});
