import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomArray } from './conformance/data.js';
import { type Gpu, requestDevice } from './device.js';
import { GpuError } from './errors.js';
import { sameBits } from './kernels/conv-check.js';
import { winogradWeightCount, winogradWeights } from './kernels/winograd.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

describe('tensors filled in place', { timeout: 120_000 }, () => {
  it('hold what the fill wrote into the mapped buffer, and can be released', async () => {
    const cases = fc.sample(
      fc.record({
        shape: fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 3 }),
        seed: fc.integer({ min: 1, max: 10_000 }),
      }),
      { numRuns: 8, seed: 21 },
    );
    for (const { shape, seed } of cases) {
      const want = randomArray(
        shape.reduce((a, b) => a * b, 1),
        seed,
      );
      const t = gpu.tensorFilled(shape, (view) => {
        expect(view.length).toBe(want.length);
        view.set(want);
      });
      expect(t.shape).toEqual(shape);
      expect(sameBits(await gpu.read(t), want)).toBe(true);
      gpu.release(t);
    }
  });

  it('are not created when the fill throws, and refuse sizes over the binding limit', () => {
    expect(() =>
      gpu.tensorFilled([4], () => {
        throw new GpuError('invalid-argument', 'refused');
      }),
    ).toThrow('refused');
    const over = Math.floor(gpu.limits.maxStorageBufferBindingSize / 4) + 1;
    expect(() => gpu.tensorFilled([over], () => {})).toThrow(GpuError);
  });
});

describe('Winograd weights written into a given array', () => {
  it('are bit for bit those it allocates, and a wrong length is refused', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(2 as const, 4 as const),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 1000 }),
        (block, groups, og, cg, seed) => {
          const shape = [groups * og, cg, 3, 3] as const;
          const w = randomArray(groups * og * cg * 9, seed, 0.3);
          const out = new Float32Array(winogradWeightCount(shape, block)).fill(Number.NaN);
          expect(winogradWeights(w, shape, groups, block, out)).toBe(out);
          expect(sameBits(out, winogradWeights(w, shape, groups, block))).toBe(true);
          expect(() => winogradWeights(w, shape, groups, block, new Float32Array(out.length + 1))).toThrow(
            GpuError,
          );
        },
      ),
      { seed: 22, numRuns: 30 },
    );
  });
});
