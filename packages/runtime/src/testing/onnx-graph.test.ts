import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runCpu } from '../cpu-session.js';
import { importOnnx } from '../onnx.js';
import { float32, int64, sizeOf, type Tensor } from '../tensor.js';
import { shapeArb } from './arbitraries.js';
import {
  expectClose,
  initializer,
  input,
  irVersionOf,
  opModel,
  runOrt,
  toTensor,
  value,
} from './onnx-graph.js';
import { randomTensor } from './random.js';

const SEED = { seed: 20_240_611, numRuns: 8 };

describe('onnx-graph test builder', () => {
  it('writes the IR version each opset came with', () => {
    expect([7, 8, 9, 10, 11, 12, 14, 15, 18, 19, 20, 21].map(irVersionOf)).toEqual([
      3, 3, 4, 5, 6, 7, 7, 8, 8, 9, 9, 10,
    ]);
  });

  it('round-trips every element type through ONNX Runtime in the runtime form', async () => {
    const cases = [
      value('float32', [2], [1.5, -2]),
      value('float64', [2], [0.25, 3]),
      value('int64', [3], [-(2 ** 40), 0, 7]),
      value('int32', [2], [-5, 9]),
      value('uint8', [2], [0, 255]),
      value('bool', [2], [1, 0]),
    ];
    for (const v of cases) {
      const bytes = opModel({
        opset: 13,
        op: 'Identity',
        inputs: [input('x', v.dtype, v.shape)],
        outputs: ['y'],
      });
      const out = await runOrt(bytes, { x: v });
      expectClose(out.y, toTensor(v), 0);
    }
  });

  it('Relu: ONNX Runtime and runCpu agree on random shapes', async () => {
    await fc.assert(
      fc.asyncProperty(shapeArb(1, 4), async (shape) => {
        const x = randomTensor(shape, shape.length * 31 + sizeOf(shape));
        const bytes = opModel({
          opset: 14,
          op: 'Relu',
          inputs: [input('x', 'float32', shape)],
          outputs: ['y'],
        });
        expectClose(runCpu(importOnnx(bytes), { x }).y, (await runOrt(bytes, { x })).y);
      }),
      SEED,
    );
  });

  it('Conv with pads, strides and a weight initializer: ONNX Runtime and runCpu agree', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          c: fc.integer({ min: 1, max: 3 }),
          o: fc.integer({ min: 1, max: 3 }),
          h: fc.integer({ min: 3, max: 7 }),
          k: fc.integer({ min: 1, max: 3 }),
          s: fc.integer({ min: 1, max: 2 }),
          pads: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 4, maxLength: 4 }),
        }),
        async ({ c, o, h, k, s, pads }) => {
          const x = randomTensor([1, c, h, h + 1], c * 7 + h);
          const w = randomTensor([o, c, k, k], o * 11 + k);
          const bytes = opModel({
            opset: 11,
            op: 'Conv',
            attrs: { pads, strides: [s, s], kernel_shape: [k, k] },
            inputs: [input('x', 'float32', ['N', c, h, h + 1]), initializer('w', w)],
            outputs: ['y'],
          });
          expectClose(runCpu(importOnnx(bytes), { x }).y, (await runOrt(bytes, { x })).y);
        },
      ),
      SEED,
    );
  });

  it('Softmax: axis 1 flattens the tail at opset 11 but not at 13, in ONNX Runtime and runCpu alike', async () => {
    const x = randomTensor([2, 3, 4], 5);
    const outs: Tensor[] = [];
    for (const opset of [11, 13]) {
      const bytes = opModel({
        opset,
        op: 'Softmax',
        attrs: { axis: 1 },
        inputs: [input('x', 'float32', [2, 3, 4])],
        outputs: ['y'],
      });
      const want = (await runOrt(bytes, { x })).y!;
      expectClose(runCpu(importOnnx(bytes), { x }).y, want);
      outs.push(want);
    }
    expect(Array.from(outs[0]!.data)).not.toEqual(Array.from(outs[1]!.data));
  });

  it('typed attributes override the name-based default, and several nodes chain', async () => {
    const x = float32([4], Float32Array.of(-2, -0.5, 0.5, 2));
    const bytes = opModel({
      opset: 13,
      inputs: [input('x', 'float32', [4]), initializer('shape', int64([2], [2, 2]))],
      nodes: [
        { op: 'LeakyRelu', inputs: ['x'], outputs: ['l'], attrs: { alpha: { float: 2 } } },
        { op: 'Reshape', inputs: ['l', 'shape'], outputs: ['y'] },
      ],
      outputs: ['y'],
    });
    const want = float32([2, 2], Float32Array.of(-4, -1, 0.5, 2));
    expectClose((await runOrt(bytes, { x })).y, want);
    expectClose(runCpu(importOnnx(bytes), { x }).y, want);
  });
});
