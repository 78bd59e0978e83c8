import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { GraphNode } from '../graph.js';
import { float32, type Tensor } from '../tensor.js';
import { randomTensor } from '../testing/random.js';
import { fcWeights } from './fc.js';

/** w[o][i] = alpha·B[i][o] (or alpha·B[o][i] with transB), bias = beta·C, one element at a time. */
function reference(b: Tensor, transB: boolean, alpha: number, c: Tensor | undefined, beta: number) {
  const [rows, cols] = b.shape as [number, number];
  const [k, outputs] = transB ? [cols, rows] : [rows, cols];
  const w = new Float32Array(k * outputs);
  for (let o = 0; o < outputs; o++)
    for (let i = 0; i < k; i++) w[o * k + i] = alpha * b.data[transB ? o * cols + i : i * cols + o]!;
  const bias = c && Float32Array.from(c.data as Float32Array, (v) => beta * v);
  return { w, outputs, bias };
}

const zeros = (w: Float32Array) => w.reduce((n, v) => n + Number(v === 0), 0) / Math.max(1, w.length);

describe('fcWeights', () => {
  it('lays out alpha·B as [outputs, k] and beta·C as the bias for Gemm and MatMul on random shapes', () => {
    fc.assert(
      fc.property(
        fc.record({
          // past the transpose's 64-wide blocks, with ragged edges
          rows: fc.integer({ min: 1, max: 150 }),
          cols: fc.integer({ min: 1, max: 150 }),
          op: fc.constantFrom('Gemm', 'MatMul'),
          transB: fc.boolean(),
          alpha: fc.constantFrom(1, 1, 0.5, -1.75, 3),
          beta: fc.constantFrom(1, 0.25, -2),
          bias: fc.boolean(),
          pruned: fc.double({ min: 0, max: 0.95, noNaN: true }),
          seed: fc.integer({ min: 1, max: 10_000 }),
        }),
        (p) => {
          const gemm = p.op === 'Gemm';
          const transB = gemm && p.transB;
          const b = randomTensor([p.rows, p.cols], p.seed);
          const bd = b.data as Float32Array;
          for (let i = 0; i < bd.length; i++) if ((i * 7919) % 1000 < 1000 * p.pruned) bd[i] = 0;
          const outputs = transB ? p.rows : p.cols;
          const c = gemm && p.bias ? randomTensor([outputs], p.seed + 1) : undefined;
          const constants: Record<string, Tensor> = { b, ...(c ? { c } : {}) };
          const node: GraphNode = {
            op: p.op,
            name: 'fc',
            inputs: ['x', 'b', ...(c ? ['c'] : [])],
            outputs: ['y'],
            attrs: gemm ? { transB: Number(p.transB), alpha: p.alpha, beta: p.beta } : {},
          };
          const got = fcWeights(node, { constant: (name) => constants[name] });
          const want = reference(b, transB, gemm ? p.alpha : 1, c, p.beta);
          expect(got.outputs).toBe(want.outputs);
          expect(got.w).toEqual(want.w);
          expect(got.bias).toEqual(want.bias);
          if (got.sparsity !== undefined) expect(got.sparsity).toBeCloseTo(zeros(want.w), 12);
        },
      ),
      { seed: 13, numRuns: 60 },
    );
  });

  it('reports the known sparsity where alpha is 1, and leaves it to be counted otherwise', () => {
    const b = float32([2, 2], Float32Array.of(0, 1, 0, 2));
    const node = (alpha: number): GraphNode => ({
      op: 'Gemm',
      name: 'fc',
      inputs: ['x', 'b'],
      outputs: ['y'],
      attrs: { transB: 1, alpha },
    });
    expect(fcWeights(node(1), { constant: () => b }).sparsity).toBe(0.5);
    expect(fcWeights(node(2), { constant: () => b }).sparsity).toBeUndefined();
  });
});
