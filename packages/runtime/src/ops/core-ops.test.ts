import { type Gpu, requestDevice } from '@zeroskip/gpu';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { int } from '../testing/arbitraries.js';
import { type Value, value } from '../testing/onnx-graph.js';
import { type CaseAttr, constant, expectExecutorsMatchCase, fed, type OpCase } from '../testing/op-cases.js';
import { randomFloats, randomValue } from '../testing/random.js';
import type { PlanMode } from '../webgpu-session.js';

// Property tests of the ops every CNN uses: single-op ONNX models with random shapes and attributes,
// run by ONNX Runtime and by both executors. Sized for a two-core machine with a software GPU.

const RUNS = { seed: 20_261_122, numRuns: 6 };

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

/**
 * Runs one op on ONNX Runtime and both executors, the WebGPU one under each of `plans`, where the op
 * must run on the GPU unless `onGpu` is false (the cases that the GPU kernels do not take).
 */
const check = (c: OpCase, { plans, onGpu = true }: { plans?: readonly PlanMode[]; onGpu?: boolean } = {}) =>
  expectExecutorsMatchCase(gpu, c, { ...(plans ? { plans } : {}), onGpu });

/** A constant int64 list. */
const ints = (v: readonly number[]) => constant(value('int64', [v.length], v));

/** Weights with about `zeros` of their values set to zero, so that the sparse kernels have work to skip. */
function sparseWeights(shape: readonly number[], seed: number, zeros: number): Value {
  const w = randomFloats(shape, seed);
  const data = Float32Array.from(w.data, (v, i) => (((i * 2654435761) >>> 0) / 2 ** 32 < zeros ? 0 : v));
  return { ...w, data };
}

describe('Conv, 1-D and 2-D, against ONNX Runtime on both executors and every conv kernel', () => {
  it('random groups, kernels, strides, dilations, pads and auto_pad', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          dims: int(1, 2),
          n: int(1, 2),
          groups: int(1, 3),
          cg: int(1, 3),
          og: int(1, 3),
          k: int(1, 3),
          stride: int(1, 2),
          dilation: int(1, 2),
          pads: fc.array(int(0, 2), { minLength: 4, maxLength: 4 }),
          autoPad: fc.constantFrom('NOTSET', 'NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'),
          extra: int(0, 5),
          bias: fc.boolean(),
          zeros: fc.constantFrom(0, 0.5, 0.9),
          seed: int(1, 1e6),
        }),
        async (p) => {
          // ONNX Runtime refuses dilations with SAME padding
          const dilation = p.autoPad.startsWith('SAME') ? 1 : p.dilation;
          const span = (p.k - 1) * dilation + 1;
          const spatial = Array.from({ length: p.dims }, (_, d) => span + ((p.extra + d) % 6));
          const x = randomFloats([p.n, p.groups * p.cg, ...spatial], p.seed);
          const o = p.groups * p.og;
          const w = sparseWeights([o, p.cg, ...spatial.map(() => p.k)], p.seed + 1, p.zeros);
          const attrs: Record<string, CaseAttr> = {
            group: p.groups,
            kernel_shape: spatial.map(() => p.k),
            strides: spatial.map(() => p.stride),
            dilations: spatial.map(() => dilation),
          };
          if (p.autoPad === 'NOTSET') attrs.pads = p.pads.slice(0, 2 * p.dims);
          else attrs.auto_pad = p.autoPad;
          const b = p.bias ? randomFloats([o], p.seed + 2) : undefined;
          await check(
            { op: 'Conv', opset: 13, attrs, inputs: [fed(x), constant(w), b && constant(b)] },
            { plans: ['dense', 'sparse'] },
          );
        },
      ),
      RUNS,
    );
  });
});

describe('pooling against ONNX Runtime on both executors', () => {
  it('MaxPool and AveragePool, 1-D and 2-D, with ceil_mode, count_include_pad, dilations and auto_pad', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          op: fc.constantFrom('MaxPool', 'AveragePool'),
          dims: int(1, 2),
          c: int(1, 4),
          k: int(1, 3),
          stride: int(1, 3),
          dilation: int(1, 2),
          pad: int(0, 2),
          ceil: int(0, 1),
          includePad: int(0, 1),
          autoPad: fc.constantFrom('NOTSET', 'NOTSET', 'SAME_UPPER', 'VALID'),
          extra: int(0, 6),
          // MaxPool also takes 8-bit codes
          dtype: fc.constantFrom('float32', 'int8', 'uint8'),
          seed: int(1, 1e6),
        }),
        async (p) => {
          // AveragePool takes dilations from opset 19; MaxPool from 10
          const dilation = p.op === 'MaxPool' ? p.dilation : 1;
          const span = (p.k - 1) * dilation + 1;
          const spatial = Array.from({ length: p.dims }, (_, d) => span + ((p.extra + 3 * d) % 7));
          const attrs: Record<string, CaseAttr> = {
            kernel_shape: spatial.map(() => p.k),
            strides: spatial.map(() => p.stride),
            ceil_mode: p.ceil,
          };
          if (dilation > 1) attrs.dilations = spatial.map(() => dilation);
          if (p.op === 'AveragePool') attrs.count_include_pad = p.includePad;
          // ONNX wants pads smaller than the kernel
          if (p.autoPad === 'NOTSET')
            attrs.pads = spatial
              .flatMap(() => [Math.min(p.pad, p.k - 1)])
              .concat(spatial.map(() => Math.min(p.pad, p.k - 1)));
          else attrs.auto_pad = p.autoPad;
          const shape = [2, p.c, ...spatial];
          const x =
            p.op === 'MaxPool' && p.dtype !== 'float32'
              ? randomValue(
                  p.dtype,
                  shape,
                  p.seed,
                  p.dtype === 'int8' ? -128 : 0,
                  p.dtype === 'int8' ? 128 : 256,
                )
              : randomFloats(shape, p.seed);
          // 8-bit codes pool on the CPU: the GPU holds float32 activations
          await check({ op: p.op, opset: 13, attrs, inputs: [fed(x)] }, { onGpu: p.dtype === 'float32' });
        },
      ),
      RUNS,
    );
  });

  it('GlobalAveragePool on 1-D and 2-D inputs', async () => {
    for (const shape of [
      [2, 3, 7],
      [1, 5, 4, 3],
    ])
      await check({ op: 'GlobalAveragePool', opset: 13, inputs: [fed(randomFloats(shape, 3))] });
  });
});

describe('Gemm and MatMul against ONNX Runtime on both executors', () => {
  it('Gemm with transposes, alpha, beta and every C broadcast, weights constant or fed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          m: int(1, 4),
          k: int(1, 6),
          n: int(1, 5),
          transA: int(0, 1),
          transB: int(0, 1),
          alpha: fc.constantFrom(1, 0.5, -2),
          beta: fc.constantFrom(1, 0.25),
          c: fc.constantFrom('none', 'n', 'mn', '1n', 'm1', 'scalar'),
          constB: fc.boolean(),
          seed: int(1, 1e6),
        }),
        async (p) => {
          const a = randomFloats(p.transA ? [p.k, p.m] : [p.m, p.k], p.seed);
          const b = randomFloats(p.transB ? [p.n, p.k] : [p.k, p.n], p.seed + 1);
          const cShape = {
            none: undefined,
            n: [p.n],
            mn: [p.m, p.n],
            '1n': [1, p.n],
            m1: [p.m, 1],
            scalar: [],
          }[p.c];
          const c = cShape && randomFloats(cShape, p.seed + 2);
          const attrs = { transA: p.transA, transB: p.transB, alpha: p.alpha, beta: p.beta };
          await check(
            {
              op: 'Gemm',
              opset: 13,
              attrs,
              inputs: [fed(a), p.constB ? constant(b) : fed(b), c && constant(c)],
            },
            // the FC kernels take constant weights and a bias of one value per output
            { plans: ['dense', 'sparse'], onGpu: p.constB && ['none', 'n', '1n'].includes(p.c) && !p.transA },
          );
        },
      ),
      RUNS,
    );
  });

  it('MatMul with broadcast batches, 1-D operands and constant 2-D weights', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          batchA: fc.array(int(1, 3), { maxLength: 2 }),
          batchB: fc.array(int(1, 3), { maxLength: 2 }),
          m: int(1, 4),
          k: int(1, 5),
          n: int(1, 4),
          vecA: fc.boolean(),
          vecB: fc.boolean(),
          constB: fc.boolean(),
          seed: int(1, 1e6),
        }),
        async (p) => {
          // broadcastable batches: where both have an axis, one of the two sizes is 1 or they agree
          const bB = p.batchB.map((d, i) => {
            const a = p.batchA[p.batchA.length - p.batchB.length + i];
            return a === undefined || a === 1 || d === 1 ? d : a;
          });
          const a = randomFloats(p.vecA ? [p.k] : [...p.batchA, p.m, p.k], p.seed);
          const constB = p.constB && !p.vecB;
          const b = randomFloats(p.vecB ? [p.k] : constB ? [p.k, p.n] : [...bB, p.k, p.n], p.seed + 1);
          await check({ op: 'MatMul', opset: 13, inputs: [fed(a), constB ? constant(b) : fed(b)] });
        },
      ),
      RUNS,
    );
  });
});

describe('pointwise, normalisation and layout ops against ONNX Runtime on both executors', () => {
  it('Add, Sub, Mul and Div with broadcasting', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          op: fc.constantFrom('Add', 'Sub', 'Mul', 'Div'),
          shape: fc.array(int(1, 4), { minLength: 1, maxLength: 4 }),
          dropA: int(0, 3),
          dropB: int(0, 3),
          onesA: int(0, 15),
          onesB: int(0, 15),
          constB: fc.boolean(),
          seed: int(1, 1e6),
        }),
        async (p) => {
          const operand = (drop: number, ones: number) =>
            p.shape.slice(Math.min(drop, p.shape.length - 1)).map((d, i) => ((ones >> i) & 1 ? 1 : d));
          const a = randomFloats(operand(p.dropA, p.onesA), p.seed);
          // divisors kept away from zero
          const b = randomFloats(operand(p.dropB, p.onesB), p.seed + 1, 0.5, 2);
          await check({ op: p.op, opset: 13, inputs: [fed(a), p.constB ? constant(b) : fed(b)] });
        },
      ),
      RUNS,
    );
  });

  it('Relu, Sigmoid, Clip, LeakyRelu, HardSigmoid and HardSwish', async () => {
    const x = randomFloats([2, 3, 5], 11, -8, 8);
    for (const [op, attrs, bounds] of [
      ['Relu', {}, []],
      ['Sigmoid', {}, []],
      ['Clip', {}, [-0.5, 6]],
      ['Clip', {}, [0]],
      ['LeakyRelu', { alpha: 0.3 }, []],
      ['HardSigmoid', { alpha: 0.3, beta: 0.4 }, []],
      ['HardSwish', {}, []],
    ] as const)
      await check({
        op,
        opset: 14,
        attrs,
        inputs: [fed(x), ...bounds.map((b) => constant(value('float32', [], [b])))],
      });
  });

  it('BatchNormalization with constant statistics on 2-D, 3-D and 4-D inputs', async () => {
    for (const shape of [
      [3, 4],
      [2, 4, 5],
      [1, 4, 3, 2],
    ]) {
      const param = (seed: number, lo = -1) => randomFloats([4], seed, lo, 1.5);
      await check({
        op: 'BatchNormalization',
        opset: 15,
        attrs: { epsilon: 1e-3 },
        inputs: [fed(randomFloats(shape, 5)), ...[param(1), param(2), param(3), param(4, 0.1)].map(constant)],
      });
    }
  });

  it('Softmax on every axis, before and after opset 13', async () => {
    for (const opset of [11, 13])
      for (const axis of [-3, -1, 0, 1, 2])
        await check(
          { op: 'Softmax', opset, attrs: { axis }, inputs: [fed(randomFloats([2, 3, 4], axis + 9, -3, 3))] },
          // the kernel normalises the last axis; opset 13's other axes move last and back around it
          { onGpu: true },
        );
  });

  it('Concat, Transpose, Flatten, Reshape, Squeeze and Unsqueeze', async () => {
    const x = randomFloats([2, 1, 3, 4], 1);
    const concat = (axis: number, z: Value) => ({
      op: 'Concat',
      opset: 13,
      attrs: { axis },
      inputs: [fed(x), fed(z)],
    });
    await check(concat(1, randomFloats([2, 3, 3, 4], 2)));
    await check(concat(-1, randomFloats([2, 1, 3, 2], 3)));
    await check({ op: 'Transpose', opset: 13, attrs: { perm: [3, 0, 2, 1] }, inputs: [fed(x)] });
    await check({ op: 'Transpose', opset: 13, inputs: [fed(x)] });
    await check({ op: 'Flatten', opset: 13, attrs: { axis: 2 }, inputs: [fed(x)] });
    await check({ op: 'Reshape', opset: 14, inputs: [fed(x), ints([0, -1, 2])] });
    await check({ op: 'Squeeze', opset: 13, inputs: [fed(x), ints([1])] });
    await check({ op: 'Unsqueeze', opset: 13, inputs: [fed(x), ints([0, -1])] });
  });

  it('Slice (negative steps and clamped ends), Split, Gather and Pad (every mode)', async () => {
    const x = randomFloats([3, 4, 5], 7);
    // starts, ends, axes, steps
    const slice = (...bounds: number[][]) => ({
      op: 'Slice',
      opset: 13,
      inputs: [fed(x), ...bounds.map(ints)],
    });
    // the gather kernel walks forward: negative steps run on the CPU
    await check(slice([1, -1], [3, -6], [0, 2], [1, -2]), { onGpu: false });
    await check(slice([0], [1e9], [1], [2]));
    await check({ op: 'Split', opset: 13, attrs: { axis: 1 }, inputs: [fed(x), ints([1, 3])], outputs: 2 });
    await check({
      op: 'Gather',
      opset: 13,
      attrs: { axis: 2 },
      inputs: [fed(x), constant(value('int64', [2, 2], [2, -1, 0, 0]))],
    });
    for (const mode of ['constant', 'edge', 'reflect', 'wrap'])
      await check(
        {
          op: 'Pad',
          opset: 19,
          attrs: { mode },
          inputs: [
            fed(x),
            ints([0, 1, 2, 1, 0, 3]),
            mode === 'constant' ? constant(value('float32', [], [0.5])) : undefined,
          ],
        },
        { onGpu: true },
      );
    // any rank and mode; the pads stay below each axis's length, which reflect needs in ONNX Runtime
    await fc.assert(
      fc.asyncProperty(
        fc
          .array(int(1, 4), { minLength: 1, maxLength: 4 })
          .chain((shape) =>
            fc.tuple(
              fc.constant(shape),
              fc.tuple(...shape.map((n) => int(0, n - 1))),
              fc.tuple(...shape.map((n) => int(0, n - 1))),
              fc.constantFrom('constant', 'edge', 'reflect', 'wrap'),
              int(1, 1000),
            ),
          ),
        async ([shape, before, after, mode, seed]) =>
          check({
            op: 'Pad',
            opset: 19,
            attrs: { mode },
            inputs: [
              fed(randomFloats(shape, seed)),
              ints([...before, ...after]),
              mode === 'constant' ? constant(value('float32', [], [-2])) : undefined,
            ],
          }),
      ),
      { seed: 23, numRuns: 10 },
    );
    // negative pads crop, which the GPU kernel leaves to the CPU
    await check({ op: 'Pad', opset: 19, inputs: [fed(x), ints([0, -1, 2, 1, 0, -1])] }, { onGpu: false });
  });
});
