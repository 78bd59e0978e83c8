import { type Gpu, requestDevice } from '@zeroskip/gpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCpu } from '../cpu-session.js';
import { importOnnx } from '../onnx.js';
import { expectClose, initializer, input, opModel, toTensor, value } from '../testing/onnx-graph.js';
import { type CaseInput, constant, expectExecutorsMatchCase, fed, type OpCase } from '../testing/op-cases.js';
import { randomFloats } from '../testing/random.js';
import { WebGpuSession } from '../webgpu-session.js';
import { reduceOps } from './reduce.js';

// The GPU side of each op, alone on a shared device, against ONNX Runtime (small shapes: lavapipe is slow).

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

let seed = 1;
/** Float32 values of a shape, each call seeded anew. */
const random = (shape: readonly number[], lo = -2, hi = 2) => randomFloats(shape, seed++, lo, hi);
const ints = (data: readonly number[]) => constant(value('int64', [data.length], data));
const floats = (data: readonly number[]) => constant(value('float32', [data.length], data));

/** Expects the GPU side to plan `kernel` and to match ONNX Runtime (a bare GpuOp takes ONNX Runtime's output shapes). */
const expectGpuMatchesOrt = (c: OpCase, kernel: string) => expectExecutorsMatchCase(gpu, c, { kernel });

const opset19 = (attrs: NonNullable<OpCase['attrs']>, inputs: OpCase['inputs']): OpCase => ({
  op: 'Resize',
  opset: 19,
  attrs,
  inputs,
});

describe('GPU sides against ONNX Runtime', { timeout: 120_000 }, () => {
  it('Resize: nearest, linear and cubic on H and W in several coordinate modes; equal shapes are a view', async () => {
    const x = fed(random([1, 2, 3, 4]));
    const cases: [NonNullable<OpCase['attrs']>, (CaseInput | undefined)[]][] = [
      [
        { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' },
        [x, undefined, floats([1, 1, 2, 1.5])],
      ],
      [
        { mode: 'nearest', coordinate_transformation_mode: 'half_pixel' },
        [x, undefined, undefined, ints([1, 2, 2, 3])],
      ],
      [
        { mode: 'linear', coordinate_transformation_mode: 'align_corners' },
        [x, undefined, floats([1, 1, 2.5, 0.75])],
      ],
      [
        { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' },
        [x, undefined, floats([1, 1, 0.4, 2])],
      ],
      [
        { mode: 'cubic', coordinate_transformation_mode: 'half_pixel', exclude_outside: 1 },
        [x, undefined, floats([1, 1, 2, 2])],
      ],
      [
        { mode: 'linear', coordinate_transformation_mode: 'tf_crop_and_resize', extrapolation_value: 3 },
        [x, floats([0, 0, -0.2, 0.1, 1, 1, 0.9, 1.2]), floats([1, 1, 2, 1.5])],
      ],
      // scale 1 keeps its axis whatever the roi, as ONNX Runtime does
      [
        { mode: 'nearest', coordinate_transformation_mode: 'tf_crop_and_resize', extrapolation_value: 3 },
        [x, floats([0, 0, 0.2, 0.1, 1, 1, 0.7, 1.2]), floats([1, 1, 1, 1.5])],
      ],
      // exact ties of nearest rounding (1.5 / 3 − 0.5 = 0), where an inexact GPU division picks the neighbour
      [
        { mode: 'nearest', coordinate_transformation_mode: 'half_pixel', nearest_mode: 'ceil' },
        [x, undefined, floats([1, 1, 3, 3])],
      ],
    ];
    for (const [attrs, inputs] of cases) await expectGpuMatchesOrt(opset19(attrs, inputs), 'resize');
    await expectGpuMatchesOrt(opset19({ mode: 'linear' }, [x, undefined, floats([1, 1, 1.2, 1.1])]), 'view');
  });

  it('ConvTranspose 2-D with groups, strides, dilations, pads, output_padding and bias; 1-D', async () => {
    await expectGpuMatchesOrt(
      {
        op: 'ConvTranspose',
        opset: 11,
        attrs: { group: 2, strides: [2, 3], dilations: [1, 2], pads: [1, 0, 0, 2], output_padding: [1, 0] },
        inputs: [fed(random([1, 4, 3, 3])), constant(random([4, 3, 2, 3])), constant(random([6]))],
      },
      'conv-transpose',
    );
    await expectGpuMatchesOrt(
      {
        op: 'ConvTranspose',
        opset: 11,
        attrs: { strides: [2], auto_pad: 'SAME_UPPER' },
        inputs: [fed(random([2, 2, 5])), constant(random([2, 3, 3]))],
      },
      'conv-transpose',
    );
  });

  it('LRN, InstanceNormalization, LayerNormalization and GroupNormalization', async () => {
    await expectGpuMatchesOrt(
      {
        op: 'LRN',
        opset: 13,
        attrs: { size: 3, alpha: 0.5, beta: 0.6, bias: 1.5 },
        inputs: [fed(random([2, 5, 2, 3]))],
      },
      'lrn',
    );
    await expectGpuMatchesOrt(
      {
        op: 'InstanceNormalization',
        opset: 13,
        attrs: { epsilon: 1e-3 },
        inputs: [fed(random([2, 3, 4, 5])), constant(random([3])), constant(random([3]))],
      },
      'instance-norm',
    );
    for (const [axis, bias] of [
      [-1, true],
      [1, false],
    ] as const)
      await expectGpuMatchesOrt(
        {
          op: 'LayerNormalization',
          opset: 17,
          attrs: { axis },
          inputs: [
            fed(random([2, 3, 4])),
            constant(random(axis === 1 ? [3, 4] : [4])),
            bias ? constant(random([4])) : undefined,
          ],
        },
        'layer-norm',
      );
    await expectGpuMatchesOrt(
      {
        op: 'GroupNormalization',
        opset: 21,
        attrs: { num_groups: 2, epsilon: 1e-5 },
        inputs: [fed(random([2, 4, 3, 2])), constant(random([4])), constant(random([4]))],
      },
      'group-norm',
    );
  });

  it('GroupNormalization (opset 18, affine per group) on the GPU agrees with its CPU side', async () => {
    // ONNX Runtime has no GroupNormalization-18: the GPU plan is checked against the CPU executor
    const x = random([2, 4, 3]);
    const g = importOnnx(
      opModel({
        opset: 18,
        op: 'GroupNormalization',
        attrs: { num_groups: 2, epsilon: 1e-5 },
        inputs: [
          input('x', 'float32', [2, 4, 3]),
          initializer('s', random([2])),
          initializer('b', random([2])),
        ],
        outputs: ['y'],
      }),
    );
    const feeds = { x: toTensor(x) };
    const session = await WebGpuSession.create(g, { gpu });
    try {
      expect(session.plan.map((e) => e.kernel)).toEqual(['group-norm']);
      expectClose((await session.run(feeds)).y, runCpu(g, feeds).y);
    } finally {
      session.destroy();
    }
  });

  it('reductions over some axes, all axes, and none (noop_with_empty_axes)', async () => {
    const x = fed(random([2, 3, 4], 0.5, 1.5));
    for (const def of reduceOps)
      for (const [axes, noop] of [
        [[0, -1], 0],
        [[], 0],
        [[], 1],
      ] as const)
        await expectGpuMatchesOrt(
          {
            op: def.op,
            opset: 18,
            attrs: { keepdims: 0, noop_with_empty_axes: noop },
            inputs: [x, ints(axes)],
          },
          'reduce',
        );
  });

  it('DepthToSpace (DCR, CRD) and SpaceToDepth as transposes', async () => {
    for (const mode of ['DCR', 'CRD'])
      await expectGpuMatchesOrt(
        { op: 'DepthToSpace', opset: 13, attrs: { blocksize: 2, mode }, inputs: [fed(random([2, 8, 2, 3]))] },
        'transpose',
      );
    await expectGpuMatchesOrt(
      { op: 'SpaceToDepth', opset: 13, attrs: { blocksize: 2 }, inputs: [fed(random([1, 3, 4, 6]))] },
      'transpose',
    );
  });

  it('batched MatMul: broadcast batches, 1-D operands, constant 3-D weights; leaves FC layers alone', async () => {
    const shapes: [number[], number[], boolean][] = [
      [[2, 3, 4], [4, 5], true],
      [[2, 1, 3, 4], [3, 4, 2], false],
      [[4], [2, 4, 3], false],
      [[2, 3, 4], [4], false],
    ];
    for (const [a, b, weight] of shapes)
      await expectGpuMatchesOrt(
        { op: 'MatMul', opset: 13, inputs: [fed(random(a)), weight ? constant(random(b)) : fed(random(b))] },
        'matmul',
      );
    await expectGpuMatchesOrt(
      { op: 'MatMul', opset: 13, inputs: [fed(random([2, 4])), constant(random([4, 3]))] },
      'fc-dense',
    );
  });
});
