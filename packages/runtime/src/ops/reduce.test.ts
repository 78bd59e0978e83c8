import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { value } from '../testing/onnx-graph.js';
import { expectOpMatchesOrt, nodeOf, uniform } from './compare-with-ort.js';
import { reduceOps } from './reduce.js';

const SEED = { seed: 7_301, numRuns: 12 };

const shapeArb = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 });

/** A shape, a subset of its axes (each written positive or negative, possibly none), and the flags. */
const caseArb = shapeArb.chain((shape) =>
  fc.record({
    shape: fc.constant(shape),
    axes: fc
      .subarray(shape.map((_, i) => i))
      .chain((axes) => fc.tuple(...axes.map((a) => fc.constantFrom(a, a - shape.length)))),
    keepdims: fc.constantFrom(0, 1),
    noop: fc.constantFrom(0, 1),
    seed: fc.integer({ min: 1, max: 1 << 30 }),
  }),
);

/** Values each reduction is defined and well conditioned on. */
const RANGES: Record<string, [number, number]> = { ReduceLogSum: [0.1, 2], ReduceProd: [0.5, 1.5] };

describe('reductions against ONNX Runtime (opset 18: axes as an input)', () => {
  for (const def of reduceOps) {
    it(`${def.op}: float32, negative axes, keepdims 0/1, empty axes with and without noop`, async () => {
      await fc.assert(
        fc.asyncProperty(caseArb, async ({ shape, axes, keepdims, noop, seed }) => {
          const [lo, hi] = RANGES[def.op] ?? [-3, 3];
          const n = shape.reduce((a, b) => a * b, 1);
          await expectOpMatchesOrt(def, {
            op: def.op,
            opset: 18,
            attrs: { keepdims, noop_with_empty_axes: noop },
            inputs: [
              { value: value('float32', shape, uniform(n, seed, lo, hi)) },
              { value: value('int64', [axes.length], axes), constant: true },
            ],
          });
        }),
        SEED,
      );
    });
  }

  for (const def of reduceOps.filter((d) =>
    ['ReduceMax', 'ReduceMin', 'ReduceSum', 'ReduceProd'].includes(d.op),
  )) {
    it(`${def.op}: int64 exactly`, async () => {
      await fc.assert(
        fc.asyncProperty(caseArb, async ({ shape, axes, keepdims, seed }) => {
          const n = shape.reduce((a, b) => a * b, 1);
          const ints = uniform(n, seed, -4, 5).map(Math.floor);
          await expectOpMatchesOrt(def, {
            op: def.op,
            opset: 18,
            attrs: { keepdims },
            inputs: [
              { value: value('int64', shape, ints) },
              { value: value('int64', [axes.length], axes), constant: true },
            ],
          });
        }),
        { ...SEED, numRuns: 6 },
      );
    });
  }

  it('an absent axes input reduces every axis; LogSumExp stays finite on large values', async () => {
    const logSumExp = reduceOps.find((d) => d.op === 'ReduceLogSumExp')!;
    const [y] = await expectOpMatchesOrt(logSumExp, {
      op: 'ReduceLogSumExp',
      opset: 18,
      attrs: { keepdims: 0 },
      inputs: [{ value: value('float32', [2, 3], [500, 501, 502, -1, 0, 1]) }],
    });
    expect(y!.shape).toEqual([]);
  });

  it('rejects int64 for reductions that ONNX Runtime computes only in floating point, and unknown axes', () => {
    const mean = reduceOps.find((d) => d.op === 'ReduceMean')!;
    const c = { op: 'ReduceMean', opset: 18, inputs: [] };
    expect(() => mean.infer(nodeOf(c), [{ shape: [2], dtype: 'int64' }], c)).toThrow(/only float32 inputs/);
    expect(() =>
      mean.infer(
        nodeOf({ ...c, inputs: [undefined, undefined] }),
        [
          { shape: [2], dtype: 'float32' },
          { shape: [1], dtype: 'int64' },
        ],
        c,
      ),
    ).toThrow(/only constant axes lists/);
  });
});
