import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gpu, requestDevice } from '../device.js';
import { ALL_FINITE, encodeFirstNonFinite } from './finite-check.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

describe('encodeFirstNonFinite', () => {
  it('finds the first NaN or ±Infinity, or reports all finite, whatever was found before', async () => {
    const allFinite = gpu.tensor([1], Uint32Array.of(ALL_FINITE));
    const first = gpu.empty([1], 'u32');
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5000 }),
        fc.array(fc.tuple(fc.nat(), fc.constantFrom(Number.NaN, Infinity, -Infinity)), { maxLength: 4 }),
        async (n, bad) => {
          const x = Float32Array.from({ length: n }, (_, i) => ((i * 7919) % 2001) - 1000 + 1e-3 * i);
          // the largest finite floats and subnormals are finite too
          x[0] = 3.4e38;
          if (n > 1) x[1] = 1e-45;
          for (const [at, v] of bad) x[at % n] = v;
          const t = gpu.tensor([n], x);
          await gpu.submit((r) => encodeFirstNonFinite(r, t, first, allFinite));
          const want = x.findIndex((v) => !Number.isFinite(v));
          expect((await gpu.readU32(first))[0]).toBe(want < 0 ? ALL_FINITE : want);
          gpu.release(t);
        },
      ),
      { seed: 3, numRuns: 25 },
    );
    gpu.release(first);
    gpu.release(allFinite);
  }, 120_000);
});
