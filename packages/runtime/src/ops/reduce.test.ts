import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seedArb, shapeArb } from '../testing/arbitraries.js';
import { type Value, value } from '../testing/onnx-graph.js';
import { constant, expectOpMatchesOrt, fed, inferOp, type OpCase } from '../testing/op-cases.js';
import { randomFloats, randomValue } from '../testing/random.js';
import { reduceOps } from './reduce.js';

const SEED = { seed: 7_301, numRuns: 12 };

/** A shape, a subset of its axes (each written positive or negative, possibly none), and the flags. */
const caseArb = shapeArb(1, 4).chain((shape) =>
  fc.record({
    shape: fc.constant(shape),
    axes: fc
      .subarray(shape.map((_, i) => i))
      .chain((axes) => fc.tuple(...axes.map((a) => fc.constantFrom(a, a - shape.length)))),
    keepdims: fc.constantFrom(0, 1),
    noop: fc.constantFrom(0, 1),
    seed: seedArb,
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
          await expectOpMatchesOrt(def, {
            op: def.op,
            opset: 18,
            attrs: { keepdims, noop_with_empty_axes: noop },
            inputs: [fed(randomFloats(shape, seed, lo, hi)), constant(value('int64', [axes.length], axes))],
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
          await expectOpMatchesOrt(def, {
            op: def.op,
            opset: 18,
            attrs: { keepdims },
            inputs: [
              fed(randomValue('int64', shape, seed, -4, 5)),
              constant(value('int64', [axes.length], axes)),
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
      inputs: [fed(value('float32', [2, 3], [500, 501, 502, -1, 0, 1]))],
    });
    expect(y!.shape).toEqual([]);
  });

  it('rejects int64 for reductions that ONNX Runtime computes only in floating point, and unknown axes', () => {
    const mean = reduceOps.find((d) => d.op === 'ReduceMean')!;
    const c = (...inputs: Value[]): OpCase => ({ op: 'ReduceMean', opset: 18, inputs: inputs.map(fed) });
    expect(() => inferOp(mean, c(value('int64', [2], [1, 2])))).toThrow(/only float32 inputs/);
    expect(() => inferOp(mean, c(randomFloats([2], 1), value('int64', [1], [0])))).toThrow(
      /only constant axes lists/,
    );
  });
});
