import { type Gpu, requestDevice } from '@zeroskip/gpu';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { int, seedArb, shapeArb } from '../testing/arbitraries.js';
import { value } from '../testing/onnx-graph.js';
import { expectOpAndExecutorsMatchOrt, fed, inferOp, type OpCase, runOp } from '../testing/op-cases.js';
import { randomFloats } from '../testing/random.js';
import { lpNormalization } from './lp-normalization.js';
import { meanVarianceNormalization } from './mean-variance-normalization.js';

// LpNormalization and MeanVarianceNormalization against ONNX Runtime: the op's CPU side and shape
// inference, then both executors.

const RUNS = { seed: 52_907, numRuns: 20 };

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

describe('LpNormalization against ONNX Runtime on both executors', { timeout: 120_000 }, () => {
  it('p 1 and 2 along any axis, negative ones included', async () => {
    await fc.assert(
      fc.asyncProperty(
        shapeArb(1, 4).chain((shape) =>
          fc.record({
            shape: fc.constant(shape),
            axis: int(-shape.length, shape.length - 1),
            p: fc.constantFrom(1, 2),
            seed: seedArb,
          }),
        ),
        async ({ shape, axis, p, seed }) => {
          const x = randomFloats(shape, seed, -3, 3);
          await expectOpAndExecutorsMatchOrt(gpu, lpNormalization, {
            op: 'LpNormalization',
            opset: 13,
            attrs: { axis, p },
            inputs: [fed(x)],
          });
        },
      ),
      RUNS,
    );
  });

  it('a lane of zeros stays zero; p = 3 is refused', async () => {
    const x = value('float32', [2, 3], [0, 0, 0, 1, -2, 2]);
    for (const p of [1, 2])
      await expectOpAndExecutorsMatchOrt(gpu, lpNormalization, {
        op: 'LpNormalization',
        opset: 13,
        attrs: { axis: 1, p },
        inputs: [fed(x)],
      });
    const c: OpCase = { op: 'LpNormalization', opset: 13, attrs: { p: 3 }, inputs: [fed(x)] };
    expect(() => inferOp(lpNormalization, c)).toThrow(/p = 3; ONNX defines it for p = 1 and p = 2 only/);
  });
});

describe('MeanVarianceNormalization against ONNX Runtime on both executors', { timeout: 120_000 }, () => {
  it('the default axes [0, 2, 3] and random sets of axes, at opsets 9 and 13', async () => {
    await fc.assert(
      fc.asyncProperty(
        shapeArb(2, 4).chain((shape) =>
          fc.record({
            shape: fc.constant(shape),
            axes: fc.option(
              fc
                .subarray(
                  shape.map((_, i) => i),
                  { minLength: 1 },
                )
                .chain((axes) => fc.tuple(...axes.map((a) => fc.constantFrom(a, a - shape.length)))),
              { nil: undefined },
            ),
            opset: fc.constantFrom(9, 13),
            seed: seedArb,
          }),
        ),
        async ({ shape, axes, opset, seed }) => {
          // the default axes need rank 4
          const x = randomFloats(axes ? shape : [...shape, 2, 3].slice(0, 4), seed, -3, 3);
          // every group needs two distinct values: ONNX Runtime leaves out ONNX's epsilon, so a constant group is NaN there
          const groups = axes
            ? shape.reduce(
                (n, d, i) => n * (axes.some((a) => (a + shape.length) % shape.length === i) ? 1 : d),
                1,
              )
            : x.shape[1]!;
          fc.pre(x.data.length / groups >= 2);
          await expectOpAndExecutorsMatchOrt(gpu, meanVarianceNormalization, {
            op: 'MeanVarianceNormalization',
            opset,
            attrs: axes ? { axes } : {},
            inputs: [fed(x)],
          });
        },
      ),
      RUNS,
    );
  });

  it('a constant group becomes zeros, as ONNX defines it with its epsilon', () => {
    const c: OpCase = {
      op: 'MeanVarianceNormalization',
      opset: 13,
      attrs: { axes: [1] },
      inputs: [fed(value('float32', [2, 2], [5, 5, 1, 3]))],
    };
    const [y] = runOp(meanVarianceNormalization, c);
    expect(Array.from(y!.data)).toEqual([0, 0, -1, 1]);
  });
});
