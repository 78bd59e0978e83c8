import { GEMV_MAX_ROWS, type Gpu, requestDevice } from '@zeroskip/gpu';
import { seededRandom } from '@zeroskip/quant';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectExecutorsMatchOrt } from '../testing/executors.js';
import { initializer, input, opModel, value } from '../testing/onnx-graph.js';
import { uniform } from '../testing/random.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

/** Weights [rows, cols], ±α or with `zeros` {−α, 0, α}: one α per row, or per column. */
function gridWeights(rows: number, cols: number, alphaPerRow: boolean, zeros: boolean, seed: number) {
  const r = seededRandom(seed);
  const alpha = Array.from({ length: alphaPerRow ? rows : cols }, () => 0.1 + r());
  return Float32Array.from({ length: rows * cols }, (_, i) => {
    const v = r();
    // the first weight stays non-zero: a layer of zeros is CSR's
    if (zeros && v < 0.4 && i > 0) return 0;
    const o = alphaPerRow ? Math.floor(i / cols) : i % cols;
    return (v < 0.7 ? -1 : 1) * alpha[o]!;
  });
}

interface Case {
  readonly m: number;
  readonly k: number;
  readonly hidden: number;
  readonly n: number;
  readonly transB: boolean;
  readonly alpha: number;
  /** MatMul's weights carry their α per input row: off every output's grid. */
  readonly alongK: boolean;
  readonly seed: number;
}

/** x → Gemm(ternary B, C; transB, alpha) → Relu → MatMul(binary W) → y. */
function model(c: Case): Uint8Array {
  const [rows, cols] = c.transB ? [c.hidden, c.k] : [c.k, c.hidden];
  return opModel({
    opset: 13,
    inputs: [
      input('x', 'float32', [c.m, c.k]),
      initializer('B', value('float32', [rows, cols], gridWeights(rows, cols, c.transB, true, c.seed))),
      initializer('C', value('float32', [c.hidden], uniform(c.hidden, c.seed + 1))),
      initializer(
        'W',
        value('float32', [c.hidden, c.n], gridWeights(c.hidden, c.n, c.alongK, false, c.seed + 2)),
      ),
    ],
    outputs: ['y'],
    nodes: [
      {
        op: 'Gemm',
        inputs: ['x', 'B', 'C'],
        outputs: ['a'],
        attrs: { transB: Number(c.transB), alpha: c.alpha },
      },
      { op: 'Relu', inputs: ['a'], outputs: ['r'] },
      { op: 'MatMul', inputs: ['r', 'W'], outputs: ['y'] },
    ],
  });
}

describe('FC layers on low-bit weights', { timeout: 600_000 }, () => {
  it('run on their bit planes over few rows, dense past them, and match ONNX Runtime on random shapes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          m: fc.constantFrom(1, 3, GEMV_MAX_ROWS, GEMV_MAX_ROWS + 4),
          k: fc.integer({ min: 1, max: 300 }),
          hidden: fc.integer({ min: 1, max: 48 }),
          n: fc.integer({ min: 1, max: 12 }),
          transB: fc.boolean(),
          alpha: fc.constantFrom(1, -0.5, 2),
          alongK: fc.boolean(),
          seed: fc.integer({ min: 1, max: 10_000 }),
        }),
        async (c) => {
          const x = value('float32', [c.m, c.k], uniform(c.m * c.k, c.seed + 3));
          const [auto, dense] = await expectExecutorsMatchOrt(
            gpu,
            model(c),
            { x },
            { plans: ['auto', 'dense'] },
          );
          const kernels = (plan: typeof auto) =>
            plan!.filter((p) => p.kernel.startsWith('fc-')).map((p) => p.kernel);
          const few = c.m <= GEMV_MAX_ROWS;
          // one α per input row is no output's grid, unless the layer has a single input
          const matmulGrid = !c.alongK || c.hidden === 1;
          expect(kernels(auto), JSON.stringify(c)).toEqual([
            few ? 'fc-lowbit' : 'fc-dense',
            few && matmulGrid ? 'fc-lowbit' : 'fc-dense',
          ]);
          expect(kernels(dense)).toEqual(['fc-dense', 'fc-dense']);
        },
      ),
      { seed: 23, numRuns: 10 },
    );
  });
});
