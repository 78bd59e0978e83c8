import { type Gpu, requestDevice } from '@zeroskip/gpu';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { expectExecutorsMatchOrt, randomValue } from '../testing/executors.js';
import { type AttrSpec, initializer, input, opModel, type Value, value } from '../testing/onnx-graph.js';

// Property tests of the ops every CNN uses: single-op ONNX models with random shapes and attributes,
// run by ONNX Runtime and by both executors. Sized for a two-core machine with a software GPU.

const RUNS = { seed: 20_261_122, numRuns: 6 };

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

/** Runs one op with fed inputs `x…` and constant inputs, on ORT and both executors. */
function check(
  op: string,
  opset: number,
  fed: Readonly<Record<string, Value>>,
  constants: Readonly<Record<string, Value | undefined>>,
  attrs: Record<string, AttrSpec>,
  order: readonly string[],
  {
    plans = ['auto'],
    outputs = ['y'],
  }: { plans?: readonly ('auto' | 'dense' | 'sparse')[]; outputs?: string[] } = {},
) {
  // absent optional inputs are '', and trailing ones are left out, as exporters write them
  const nodeInputs = order.map((name) => (name in fed || constants[name] ? name : ''));
  while (nodeInputs.at(-1) === '') nodeInputs.pop();
  const bytes = opModel({
    opset,
    op,
    attrs,
    inputs: [
      ...Object.entries(fed).map(([name, v]) => input(name, v.dtype, v.shape)),
      ...Object.entries(constants).flatMap(([name, v]) => (v ? [initializer(name, v)] : [])),
    ],
    nodeInputs,
    outputs,
  });
  return expectExecutorsMatchOrt(gpu, bytes, fed, { plans });
}

const int = (min: number, max: number) => fc.integer({ min, max });
const ints = (v: readonly number[]): Value => value('int64', [v.length], v);

/** Weights with about `zeros` of their values set to zero, so that the sparse kernels have work to skip. */
function sparseWeights(shape: readonly number[], seed: number, zeros: number): Value {
  const w = randomValue(shape, seed);
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
          const x = randomValue([p.n, p.groups * p.cg, ...spatial], p.seed);
          const o = p.groups * p.og;
          const w = sparseWeights([o, p.cg, ...spatial.map(() => p.k)], p.seed + 1, p.zeros);
          const attrs: Record<string, AttrSpec> = {
            group: p.groups,
            kernel_shape: spatial.map(() => p.k),
            strides: spatial.map(() => p.stride),
            dilations: spatial.map(() => dilation),
          };
          if (p.autoPad === 'NOTSET') attrs.pads = p.pads.slice(0, 2 * p.dims);
          else attrs.auto_pad = p.autoPad;
          const b = p.bias ? randomValue([o], p.seed + 2) : undefined;
          await check('Conv', 13, { x }, { w, b }, attrs, ['x', 'w', 'b'], { plans: ['dense', 'sparse'] });
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
          seed: int(1, 1e6),
        }),
        async (p) => {
          // AveragePool takes dilations from opset 19; MaxPool from 10
          const dilation = p.op === 'MaxPool' ? p.dilation : 1;
          const span = (p.k - 1) * dilation + 1;
          const spatial = Array.from({ length: p.dims }, (_, d) => span + ((p.extra + 3 * d) % 7));
          const attrs: Record<string, AttrSpec> = {
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
          const x = randomValue([2, p.c, ...spatial], p.seed);
          await check(p.op, 13, { x }, {}, attrs, ['x']);
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
      await check('GlobalAveragePool', 13, { x: randomValue(shape, 3) }, {}, {}, ['x']);
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
          const a = randomValue(p.transA ? [p.k, p.m] : [p.m, p.k], p.seed);
          const b = randomValue(p.transB ? [p.n, p.k] : [p.k, p.n], p.seed + 1);
          const cShape = {
            none: undefined,
            n: [p.n],
            mn: [p.m, p.n],
            '1n': [1, p.n],
            m1: [p.m, 1],
            scalar: [],
          }[p.c];
          const c = cShape && randomValue(cShape, p.seed + 2);
          const attrs = { transA: p.transA, transB: p.transB, alpha: p.alpha, beta: p.beta };
          await check(
            'Gemm',
            13,
            p.constB ? { a } : { a, b },
            p.constB ? { b, c } : { c },
            attrs,
            ['a', 'b', 'c'],
            { plans: ['dense', 'sparse'] },
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
          const a = randomValue(p.vecA ? [p.k] : [...p.batchA, p.m, p.k], p.seed);
          const constB = p.constB && !p.vecB;
          const b = randomValue(p.vecB ? [p.k] : constB ? [p.k, p.n] : [...bB, p.k, p.n], p.seed + 1);
          await check('MatMul', 13, constB ? { a } : { a, b }, constB ? { b } : {}, {}, ['a', 'b']);
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
          const a = randomValue(operand(p.dropA, p.onesA), p.seed);
          // divisors kept away from zero
          const b = randomValue(operand(p.dropB, p.onesB), p.seed + 1, 0.5, 2);
          await check(p.op, 13, p.constB ? { a } : { a, b }, p.constB ? { b } : {}, {}, ['a', 'b']);
        },
      ),
      RUNS,
    );
  });

  it('Relu, Sigmoid, Clip, LeakyRelu, HardSigmoid and HardSwish', async () => {
    const x = randomValue([2, 3, 5], 11, -8, 8);
    for (const [op, attrs, constants] of [
      ['Relu', {}, {}],
      ['Sigmoid', {}, {}],
      ['Clip', {}, { lo: value('float32', [], [-0.5]), hi: value('float32', [], [6]) }],
      ['Clip', {}, { lo: value('float32', [], [0]) }],
      ['LeakyRelu', { alpha: 0.3 }, {}],
      ['HardSigmoid', { alpha: 0.3, beta: 0.4 }, {}],
      ['HardSwish', {}, {}],
    ] as const)
      await check(op, 14, { x }, constants, attrs, ['x', 'lo', 'hi']);
  });

  it('BatchNormalization with constant statistics on 2-D, 3-D and 4-D inputs', async () => {
    for (const shape of [
      [3, 4],
      [2, 4, 5],
      [1, 4, 3, 2],
    ]) {
      const param = (seed: number, lo = -1) => randomValue([4], seed, lo, 1.5);
      await check(
        'BatchNormalization',
        15,
        { x: randomValue(shape, 5) },
        { s: param(1), b: param(2), m: param(3), v: param(4, 0.1) },
        { epsilon: 1e-3 },
        ['x', 's', 'b', 'm', 'v'],
      );
    }
  });

  it('Softmax on every axis, before and after opset 13', async () => {
    for (const opset of [11, 13])
      for (const axis of [-3, -1, 0, 1, 2])
        await check('Softmax', opset, { x: randomValue([2, 3, 4], axis + 9, -3, 3) }, {}, { axis }, ['x']);
  });

  it('Concat, Transpose, Flatten, Reshape, Squeeze and Unsqueeze', async () => {
    const x = randomValue([2, 1, 3, 4], 1);
    await check('Concat', 13, { x, z: randomValue([2, 3, 3, 4], 2) }, {}, { axis: 1 }, ['x', 'z']);
    await check('Concat', 13, { x, z: randomValue([2, 1, 3, 2], 3) }, {}, { axis: -1 }, ['x', 'z']);
    await check('Transpose', 13, { x }, {}, { perm: [3, 0, 2, 1] }, ['x']);
    await check('Transpose', 13, { x }, {}, {}, ['x']);
    await check('Flatten', 13, { x }, {}, { axis: 2 }, ['x']);
    await check('Reshape', 14, { x }, { s: ints([0, -1, 2]) }, {}, ['x', 's']);
    await check('Squeeze', 13, { x }, { a: ints([1]) }, {}, ['x', 'a']);
    await check('Unsqueeze', 13, { x }, { a: ints([0, -1]) }, {}, ['x', 'a']);
  });

  it('Slice (negative steps and clamped ends), Split, Gather and Pad (every mode)', async () => {
    const x = randomValue([3, 4, 5], 7);
    await check(
      'Slice',
      13,
      { x },
      { s: ints([1, -1]), e: ints([3, -6]), a: ints([0, 2]), st: ints([1, -2]) },
      {},
      ['x', 's', 'e', 'a', 'st'],
    );
    await check('Slice', 13, { x }, { s: ints([0]), e: ints([1e9]), a: ints([1]), st: ints([2]) }, {}, [
      'x',
      's',
      'e',
      'a',
      'st',
    ]);
    await check('Split', 13, { x }, { s: ints([1, 3]) }, { axis: 1 }, ['x', 's'], { outputs: ['y', 'y2'] });
    await check('Gather', 13, { x }, { i: value('int64', [2, 2], [2, -1, 0, 0]) }, { axis: 2 }, ['x', 'i']);
    for (const mode of ['constant', 'edge', 'reflect', 'wrap'])
      await check(
        'Pad',
        19,
        { x },
        { p: ints([0, 1, 2, 1, 0, 3]), v: value('float32', [], [0.5]) },
        { mode },
        ['x', 'p', mode === 'constant' ? 'v' : ''],
      );
  });
});
