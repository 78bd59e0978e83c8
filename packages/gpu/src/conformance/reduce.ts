import { seededRandom } from '@zeroskip/quant';
import type { Gpu } from '../device.js';
import { GpuError } from '../errors.js';
import {
  argReduceReference,
  encodeArgReduce,
  encodeReduce,
  REDUCE_OPS,
  type ReduceOp,
  reduceReference,
} from '../kernels/reduce.js';
import { assert, assertClose, assertEqual, assertThrows } from './assert.js';
import type { ConformanceCase } from './case.js';
import { randomArray } from './data.js';

/** A seeded random shape of rank 1–6 (at most a few hundred elements) and a random set of its axes. */
function randomProblem(seed: number): { shape: number[]; axes: number[] } {
  const rnd = seededRandom(seed);
  const rank = 1 + Math.floor(rnd() * 6);
  const shape = Array.from({ length: rank }, () => 1 + Math.floor(rnd() * (rank > 4 ? 3 : 5)));
  const axes = shape.map((_, d) => d).filter(() => rnd() < 0.5);
  // negative axes count from the end
  return { shape, axes: axes.map((a) => (rnd() < 0.3 ? a - rank : a)) };
}

/** Inputs each op is defined on without overflow: positive for log_sum, near 1 for prod. */
function inputFor(op: ReduceOp, n: number, seed: number): Float32Array {
  const x = randomArray(n, seed);
  if (op === 'log_sum') return x.map((v) => Math.abs(v) + 0.1);
  if (op === 'prod') return x.map((v) => 1 + v / 4);
  if (op === 'log_sum_exp') return x.map((v) => v * 40);
  return x;
}

export const reduceCases: ConformanceCase[] = [
  {
    group: 'reduce',
    name: 'every reduction over random axis sets of rank 1–6 tensors (one pipeline per op)',
    run: async (g: Gpu) => {
      for (let t = 0; t < 6; t++) {
        const { shape, axes } = randomProblem(t + 1);
        const size = shape.reduce((a, b) => a * b, 1);
        const kept = shape.filter((_, d) => !axes.some((a) => (a + shape.length) % shape.length === d));
        const runs = REDUCE_OPS.map((op, i) => {
          const x = inputFor(op, size, 50 * t + i);
          return { op, x, xt: g.tensor(shape, x), y: g.empty(kept) };
        });
        await g.submit((r) => {
          for (const { op, xt, y } of runs) encodeReduce(r, xt, y, op, axes);
        });
        for (const { op, x, y } of runs)
          assertClose(
            await g.read(y),
            reduceReference(x, shape, axes, op),
            1e-5,
            1e-6,
            `reduce ${op} of [${shape.join(', ')}] over [${axes.join(', ')}]`,
          );
      }
      const before = g.pipelineCount;
      await g.submit((r) => encodeReduce(r, g.tensor([3, 4], randomArray(12, 9)), g.empty([3]), 'sum', [1]));
      assert(g.pipelineCount === before, 'a new shape compiled a new reduce pipeline.');
    },
  },
  {
    group: 'reduce',
    name: 'argmax and argmin along each axis with ties, first or last index',
    run: async (g: Gpu) => {
      const shape = [3, 5, 4, 2];
      // few distinct values, so that ties are common
      const x = randomArray(120, 77).map((v) => Math.round(v * 2));
      const xt = g.tensor(shape, x);
      const runs = shape.flatMap((_, axis) =>
        (['argmax', 'argmin'] as const).flatMap((op) =>
          [false, true].map((last) => ({ axis, op, last, y: g.empty(shape.filter((__, d) => d !== axis)) })),
        ),
      );
      await g.submit((r) => {
        for (const { axis, op, last, y } of runs)
          encodeArgReduce(r, xt, y, op, axis - (axis % 2) * shape.length, last);
      });
      for (const { axis, op, last, y } of runs)
        assertEqual(
          await g.read(y),
          argReduceReference(x, shape, axis, op, last),
          `${op} axis ${axis} last ${last}`,
        );
      await assertThrows(
        () => g.submit((r) => encodeReduce(r, xt, g.empty([3]), 'sum', [7])),
        GpuError,
        /axis/,
      );
      await assertThrows(
        () => g.submit((r) => encodeReduce(r, xt, g.empty([2]), 'max', [1, 2])),
        GpuError,
        /elements/,
      );
    },
  },
];
