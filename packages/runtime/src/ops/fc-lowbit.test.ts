import { type Gpu, LOWBIT_MAX_ROWS, LOWBIT_MIN_WEIGHTS, requestDevice } from '@zeroskip/gpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectExecutorsMatchOrt } from '../testing/executors.js';
import { initializer, input, opModel, value } from '../testing/onnx-graph.js';
import { gridWeights, uniform } from '../testing/random.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

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

/** k × hidden is the low-bit kernel's smallest default layer, with a ragged last word of K. */
const K = 4097;
const HIDDEN = Math.ceil(LOWBIT_MIN_WEIGHTS / K);
const N = 24;

describe('FC layers on low-bit weights', { timeout: 600_000 }, () => {
  it.each<Case>([
    { m: 1, k: K, hidden: HIDDEN, n: N, transB: true, alpha: 1, alongK: false, seed: 3 },
    { m: LOWBIT_MAX_ROWS, k: K, hidden: HIDDEN, n: N, transB: false, alpha: -0.5, alongK: true, seed: 4 },
    { m: LOWBIT_MAX_ROWS + 1, k: K, hidden: HIDDEN, n: N, transB: true, alpha: 2, alongK: false, seed: 5 },
  ])('run on their bit planes where large and over few rows, and match ONNX Runtime: %o', async (c) => {
    const x = value('float32', [c.m, c.k], uniform(c.m * c.k, c.seed + 3));
    const [auto, dense] = await expectExecutorsMatchOrt(gpu, model(c), { x }, { plans: ['auto', 'dense'] });
    const kernels = (plan: typeof auto) =>
      plan!.filter((p) => p.kernel.startsWith('fc-')).map((p) => p.kernel);
    // the Gemm is large; the MatMul is small, and with one α per input row on no output's grid
    expect(kernels(auto)).toEqual([c.m <= LOWBIT_MAX_ROWS ? 'fc-lowbit' : 'fc-dense', 'fc-dense']);
    expect(kernels(dense)).toEqual(['fc-dense', 'fc-dense']);
  });
});
