import fc from 'fast-check';
import { describe, it } from 'vitest';
import { sizeOf } from '../tensor.js';
import { seedArb, shapeArb } from '../testing/arbitraries.js';
import { value } from '../testing/onnx-graph.js';
import { expectOpMatchesOrt, fed } from '../testing/op-cases.js';
import { uniform } from '../testing/random.js';
import { argMax, argMin } from './arg-extreme.js';

const caseArb = shapeArb(1, 4).chain((shape) =>
  fc.record({
    shape: fc.constant(shape),
    axis: fc.integer({ min: -shape.length, max: shape.length - 1 }),
    keepdims: fc.constantFrom(0, 1),
    last: fc.constantFrom(0, 1),
    seed: seedArb,
  }),
);

describe('ArgMax and ArgMin against ONNX Runtime (opset 13)', () => {
  for (const def of [argMax, argMin])
    for (const dtype of ['float32', 'int64'] as const)
      it(`${def.op} of ${dtype}: any axis, keepdims, select_last_index (ties included)`, async () => {
        await fc.assert(
          fc.asyncProperty(caseArb, async ({ shape, axis, keepdims, last, seed }) => {
            // few distinct values, so that ties are common
            const data = uniform(sizeOf(shape), seed, -2, 2).map(Math.round);
            await expectOpMatchesOrt(def, {
              op: def.op,
              opset: 13,
              attrs: { axis, keepdims, select_last_index: last },
              inputs: [fed(value(dtype, shape, data))],
            });
          }),
          { seed: 11, numRuns: 12 },
        );
      });
});
