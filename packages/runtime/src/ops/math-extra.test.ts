import { type Gpu, requestDevice } from '@zeroskip/gpu';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { int, seedArb, shapeArb } from '../testing/arbitraries.js';
import { value } from '../testing/onnx-graph.js';
import {
  constant,
  expectOpAndExecutorsMatchOrt,
  fed,
  inferOp,
  type OpCase,
  runOp,
} from '../testing/op-cases.js';
import { smallValue as data } from '../testing/random.js';
import { cumSum } from './cum-sum.js';
import { einsum } from './einsum.js';
import { mod } from './mod.js';
import { trilu } from './trilu.js';

// CumSum, Mod, Trilu and Einsum against ONNX Runtime: the op's CPU side and shape inference, then
// both executors.

const RUNS = { seed: 73_421, numRuns: 20 };

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

describe('CumSum, Mod and Trilu against ONNX Runtime on both executors', { timeout: 120_000 }, () => {
  it('CumSum: float32 and int64, any axis (constant or computed), exclusive, reverse', async () => {
    await fc.assert(
      fc.asyncProperty(
        shapeArb(1, 3).chain((shape) =>
          fc.record({
            shape: fc.constant(shape),
            axis: int(-shape.length, shape.length - 1),
            exclusive: fc.constantFrom(0, 1),
            reverse: fc.constantFrom(0, 1),
            known: fc.boolean(),
            dtype: fc.constantFrom('float32' as const, 'int64' as const),
            opset: fc.constantFrom(11, 14),
            seed: seedArb,
          }),
        ),
        async ({ shape, axis, exclusive, reverse, known, dtype, opset, seed }) => {
          const a = value('int64', known ? [] : [1], [axis]);
          await expectOpAndExecutorsMatchOrt(gpu, cumSum, {
            op: 'CumSum',
            opset,
            attrs: { exclusive, reverse },
            inputs: [fed(data(dtype, shape, seed)), known ? constant(a) : fed(a)],
          });
        },
      ),
      RUNS,
    );
  });

  it('Mod: int64 floored (fmod 0) and truncated (fmod 1), float32 fmod, with broadcasting', async () => {
    await fc.assert(
      fc.asyncProperty(
        shapeArb(1, 3).chain((shape) =>
          fc.record({
            a: fc.constant(shape),
            // b broadcasts: a suffix of a's shape with some axes of size 1
            b: fc
              .tuple(
                int(0, shape.length),
                fc.array(fc.boolean(), { minLength: shape.length, maxLength: shape.length }),
              )
              .map(([drop, ones]) => shape.slice(drop).map((d, i) => (ones[i] ? 1 : d))),
            fmod: fc.constantFrom(0, 1),
            dtype: fc.constantFrom('float32' as const, 'int64' as const),
            seed: seedArb,
          }),
        ),
        async ({ a, b, fmod, dtype, seed }) => {
          const x = data(dtype, a, seed);
          // non-zero divisors of both signs
          const y = value(
            dtype,
            b,
            Array.from(data(dtype, b, seed + 1).data, (v) => (v === 0 ? 3 : dtype === 'float32' ? v * 2 : v)),
          );
          const dividend = value(
            dtype,
            a,
            Array.from(x.data, (v) => v * 7),
          );
          await expectOpAndExecutorsMatchOrt(gpu, mod, {
            op: 'Mod',
            opset: 13,
            attrs: { fmod: dtype === 'float32' ? 1 : fmod },
            inputs: [fed(dividend), fed(y)],
          });
        },
      ),
      RUNS,
    );
  });

  it('Mod refuses fmod=0 on floats and integer division by zero', () => {
    const c: OpCase = {
      op: 'Mod',
      opset: 13,
      inputs: [fed(data('float32', [2], 1)), fed(data('float32', [2], 2))],
    };
    expect(() => inferOp(mod, c)).toThrow(/fmod=0 on float32 operands.*set fmod=1/);
    const z: OpCase = {
      op: 'Mod',
      opset: 13,
      inputs: [fed(value('int64', [1], [4])), fed(value('int64', [1], [0]))],
    };
    expect(() => runOp(mod, z)).toThrow(/divides the integer 4 by zero/);
  });

  it('Trilu: upper and lower, any k (or none), float32, int64 and bool, batches of matrices', async () => {
    await fc.assert(
      fc.asyncProperty(
        shapeArb(2, 4),
        fc.option(int(-4, 4), { nil: undefined }),
        fc.constantFrom(0, 1),
        fc.constantFrom('float32' as const, 'int64' as const, 'bool' as const),
        seedArb,
        async (shape, k, upper, dtype, seed) => {
          await expectOpAndExecutorsMatchOrt(gpu, trilu, {
            op: 'Trilu',
            opset: 14,
            attrs: { upper },
            inputs: [
              fed(data(dtype, shape, seed)),
              k === undefined ? undefined : constant(value('int64', [], [k])),
            ],
          });
        },
      ),
      RUNS,
    );
  });
});

describe('Einsum against ONNX Runtime on both executors', { timeout: 120_000 }, () => {
  /** Equations of CNN and attention exports and the general cases: implicit output, '...', diagonals. */
  const EQUATIONS = [
    'ij,jk->ik',
    'bij,bjk->bik',
    'bhid,bhjd->bhij',
    'bhij,bhjd->bhid',
    'nchw,kc->nkhw',
    'ij->ji',
    'ij,jk',
    'ba',
    'i,j->ij',
    'ij->',
    'ii',
    'ii->i',
    'bii->bi',
    'bn,anm,bm->ba',
    '...ij,...jk->...ik',
    '...ji',
    '...i,...i->...',
  ];
  /** Input shapes for an equation: a random size per letter, '...' as 0 to 2 axes (some broadcast). */
  const shapesFor = (
    equation: string,
    sizes: readonly number[],
    dots: readonly number[],
    ones: readonly boolean[],
  ) => {
    const letter = (c: string) => sizes[c.charCodeAt(0) % sizes.length]!;
    const lhs = equation.split('->')[0]!.split(',');
    return lhs.map((term, t) =>
      term
        .split('...')
        .flatMap((part, p) => [
          ...(p === 1 ? dots.map((d, j) => (ones[(t + j) % ones.length] ? 1 : d)) : []),
          ...[...part].map(letter),
        ]),
    );
  };

  it('each equation at random sizes, float32 and int64', async () => {
    for (const [q, equation] of EQUATIONS.entries())
      await fc.assert(
        fc.asyncProperty(
          fc.array(int(1, 3), { minLength: 7, maxLength: 7 }),
          fc.array(int(1, 3), { maxLength: 2 }),
          fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
          fc.constantFrom('float32' as const, 'int64' as const),
          seedArb,
          async (sizes, dots, ones, dtype, seed) => {
            const shapes = shapesFor(equation, sizes, dots, ones);
            await expectOpAndExecutorsMatchOrt(gpu, einsum, {
              op: 'Einsum',
              opset: 12,
              attrs: { equation },
              inputs: shapes.map((s, i) => fed(data(dtype, s, seed + i))),
            });
          },
        ),
        { seed: RUNS.seed + q, numRuns: 5 },
      );
  });

  it('refuses a malformed equation and mismatched sizes, naming the node', () => {
    const c = (equation: string, shapes: number[][]): OpCase => ({
      op: 'Einsum',
      opset: 12,
      attrs: { equation },
      inputs: shapes.map((s, i) => fed(data('float32', s, i + 1))),
    });
    for (const [e, shapes, message] of [
      ['ij,jk->ik', [[2, 3]], /has 2 terms for 1 inputs/],
      [
        'ij,jk->ik',
        [
          [2, 3],
          [2, 2],
        ],
        /gives label 'j' sizes 3 and 2/,
      ],
      ['ij->ik', [[2, 3]], /output label that repeats or that no input has/],
      ['i1->i', [[2, 2]], /term 'i1'/],
      ['...ij->ij', [[3, 2, 2]], /'...' in its inputs but not in its output/],
    ] as const) {
      const k = c(
        e,
        shapes.map((s) => [...s]),
      );
      expect(() => inferOp(einsum, k)).toThrow(message);
    }
  });
});
