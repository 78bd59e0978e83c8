import fc from 'fast-check';
import { describe, it } from 'vitest';
import { value } from '../testing/onnx-graph.js';
import { argMax, argMin } from './arg-extreme.js';
import { expectOpMatchesOrt, uniform } from './compare-with-ort.js';

const caseArb = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }).chain((shape) =>
  fc.record({
    shape: fc.constant(shape),
    axis: fc.integer({ min: -shape.length, max: shape.length - 1 }),
    keepdims: fc.constantFrom(0, 1),
    last: fc.constantFrom(0, 1),
    seed: fc.integer({ min: 1, max: 1 << 30 }),
  }),
);

describe('ArgMax and ArgMin against ONNX Runtime (opset 13)', () => {
  for (const def of [argMax, argMin])
    for (const dtype of ['float32', 'int64'] as const)
      it(`${def.op} of ${dtype}: any axis, keepdims, select_last_index (ties included)`, async () => {
        await fc.assert(
          fc.asyncProperty(caseArb, async ({ shape, axis, keepdims, last, seed }) => {
            // few distinct values, so that ties are common
            const data = uniform(
              shape.reduce((a, b) => a * b, 1),
              seed,
              -2,
              2,
            ).map(Math.round);
            await expectOpMatchesOrt(def, {
              op: def.op,
              opset: 13,
              attrs: { axis, keepdims, select_last_index: last },
              inputs: [{ value: value(dtype, shape, data) }],
            });
          }),
          { seed: 11, numRuns: 12 },
        );
      });
});
