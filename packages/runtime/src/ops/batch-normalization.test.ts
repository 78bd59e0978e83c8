import { type Gpu, requestDevice } from '@zeroskip/gpu';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importOnnx } from '../onnx.js';
import { int, seedArb, shapeArb } from '../testing/arbitraries.js';
import { expectOptimizedMatchesOrt } from '../testing/executors.js';
import { initializer, input, opModel } from '../testing/onnx-graph.js';
import {
  constant,
  expectExecutorsMatchCase,
  expectOpMatchesOrt,
  fed,
  type OpCase,
} from '../testing/op-cases.js';
import { randomFloats } from '../testing/random.js';
import { batchNormalization } from './batch-normalization.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

const SEED = { seed: 5, numRuns: 10 };

/** A batch norm of [N, C, …spatial] with its four parameters constant, in opset 9, 13 or 15. */
function bnCase(
  [n, c, spatial]: [number, number, number[]],
  opset: number,
  outputs: number,
  seed: number,
  attrs: OpCase['attrs'] = {},
): OpCase {
  return {
    op: 'BatchNormalization',
    opset,
    attrs,
    outputs,
    inputs: [
      fed(randomFloats([n, c, ...spatial], seed, -3, 5)),
      constant(randomFloats([c], seed + 1, 0.5, 2)),
      constant(randomFloats([c], seed + 2, -1, 1)),
      constant(randomFloats([c], seed + 3, -1, 1)),
      constant(randomFloats([c], seed + 4, 0.5, 2)),
    ],
  };
}

const shapeCase = fc.tuple(int(1, 3), int(1, 5), shapeArb(0, 2));

describe('BatchNormalization in training mode (by its batch statistics) against ONNX Runtime', () => {
  it('opsets 9 and 13 with the running and saved statistics as outputs', async () => {
    await fc.assert(
      fc.asyncProperty(
        shapeCase,
        fc.constantFrom(9, 13),
        fc.double({ min: 0, max: 1, noNaN: true }),
        seedArb,
        async (shape, opset, momentum, seed) => {
          // through import, which marks the node's training mode (these opsets have no attribute for it)
          await expectExecutorsMatchCase(gpu, bnCase(shape, opset, 5, seed, { momentum, epsilon: 1e-3 }));
        },
      ),
      SEED,
    );
  });

  it('opset 15, training_mode 0 and 1', async () => {
    await fc.assert(
      fc.asyncProperty(
        shapeCase,
        // ONNX ties the running statistics' outputs to training mode
        fc.constantFrom([1, 0], [3, 1]),
        seedArb,
        async (shape, [outputs, mode], seed) => {
          // ε of 0.01: where a channel's values nearly agree, ONNX Runtime's float32 statistics drift by 1e-4
          const c = bnCase(shape, 15, outputs, seed, { training_mode: mode, epsilon: 0.01 });
          await expectOpMatchesOrt(batchNormalization, c);
          await expectExecutorsMatchCase(gpu, c);
        },
      ),
      SEED,
    );
  });

  it('import marks training mode from the outputs', () => {
    const mode = (opset: number, outputs: number, attrs = {}) =>
      importOnnx(
        opModel({
          opset,
          op: 'BatchNormalization',
          attrs,
          inputs: [
            input('x', 'float32', [1, 2, 3]),
            ...['s', 'b', 'm', 'v'].map((p) => input(p, 'float32', [2])),
          ],
          outputs: ['y', 'rm', 'rv', 'sm', 'sv'].slice(0, outputs),
        }),
      ).nodes[0]!.attrs.training_mode;
    expect([mode(13, 5), mode(13, 1), mode(15, 3, { training_mode: 1 }), mode(15, 1)]).toEqual([
      1,
      undefined,
      1,
      undefined,
    ]);
  });

  // NF-Nets standardize their weights with a training-mode batch norm; an export in train() mode
  // normalizes activations by the batch. Neither may fold into the conv before it as an inference one.
  it('after a conv, with unread statistics: runs on the GPU and is not folded into the conv', async () => {
    await fc.assert(
      fc.asyncProperty(int(1, 3), int(1, 4), int(1, 4), int(2, 5), seedArb, async (n, ci, co, hw, seed) => {
        const bytes = opModel({
          opset: 13,
          inputs: [
            input('x', 'float32', [n, ci, hw, hw]),
            initializer('w', randomFloats([co, ci, 3, 3], seed, -1, 1)),
            ...['s', 'b', 'm', 'v'].map((p, i) => initializer(p, randomFloats([co], seed + i + 1, 0.5, 2))),
          ],
          outputs: ['y'],
          nodes: [
            { op: 'Conv', inputs: ['x', 'w'], outputs: ['c'], attrs: { pads: [1, 1, 1, 1] } },
            {
              op: 'BatchNormalization',
              inputs: ['c', 's', 'b', 'm', 'v'],
              outputs: ['bn', 'rm', 'rv', 'sm', 'sv'],
            },
            { op: 'Relu', inputs: ['bn'], outputs: ['y'] },
          ],
        });
        const g = await expectOptimizedMatchesOrt(gpu, bytes, { x: randomFloats([n, ci, hw, hw], seed + 9) });
        expect(g.nodes.map((node) => node.op)).toContain('BatchNormalization');
      }),
      SEED,
    );
  });
});
