import fc from 'fast-check';
import { describe, it } from 'vitest';
import { seedArb } from '../testing/arbitraries.js';
import { expectOpMatchesOrt, fed } from '../testing/op-cases.js';
import { randomFloats } from '../testing/random.js';
import { depthToSpace, spaceToDepth } from './depth-to-space.js';

const SEED = { seed: 5, numRuns: 12 };
const dims = fc.record({
  n: fc.integer({ min: 1, max: 2 }),
  c: fc.integer({ min: 1, max: 3 }),
  h: fc.integer({ min: 1, max: 3 }),
  w: fc.integer({ min: 1, max: 3 }),
  b: fc.integer({ min: 1, max: 3 }),
  seed: seedArb,
});

describe('DepthToSpace and SpaceToDepth against ONNX Runtime (opset 13)', () => {
  for (const mode of ['DCR', 'CRD'])
    it(`DepthToSpace ${mode}`, async () => {
      await fc.assert(
        fc.asyncProperty(dims, async ({ n, c, h, w, b, seed }) => {
          const shape = [n, c * b * b, h, w];
          await expectOpMatchesOrt(depthToSpace, {
            op: 'DepthToSpace',
            opset: 13,
            attrs: { blocksize: b, mode },
            inputs: [fed(randomFloats(shape, seed))],
          });
        }),
        SEED,
      );
    });

  it('SpaceToDepth', async () => {
    await fc.assert(
      fc.asyncProperty(dims, async ({ n, c, h, w, b, seed }) => {
        const shape = [n, c, h * b, w * b];
        await expectOpMatchesOrt(spaceToDepth, {
          op: 'SpaceToDepth',
          opset: 13,
          attrs: { blocksize: b },
          inputs: [fed(randomFloats(shape, seed))],
        });
      }),
      SEED,
    );
  });
});
