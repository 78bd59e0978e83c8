import { type Gpu, requestDevice } from '@zeroskip/gpu';
import { roundHalfEven } from '@zeroskip/quant';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCpu } from './cpu-session.js';
import { RuntimeError } from './errors.js';
import type { Graph } from './graph.js';
import { importOnnx } from './onnx.js';
import { optimize } from './passes.js';
import { sizeOf, type Tensor } from './tensor.js';
import { int, seedArb } from './testing/arbitraries.js';
import {
  type InitializerSpec,
  initializer,
  input,
  type NodeSpec,
  opModel,
  runOrt,
  toTensor,
  type Value,
  value,
} from './testing/onnx-graph.js';
import { uniform } from './testing/random.js';
import { type PlanMode, WebGpuSession } from './webgpu-session.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

// A small CNN (conv, relu, max pool, conv, residual add, flatten, gemm) quantized as ONNX Runtime's
// quantizer writes it: uint8 activations calibrated on the input, int8 symmetric weights per tensor
// or per output channel, int32 biases at scale s_x·s_w; in the QDQ format and the QOperator one.

const CLASSES = 10;
const W1 = [4, 3, 3, 3];
const W2 = [4, 4, 3, 3];

/** uint8 parameters of an activation in [lo, hi], the range widened to hold 0 (zero point 0 after a relu). */
function activation(lo: number, hi: number): { scale: number; zero: number } {
  const [a, b] = [Math.min(lo, 0), Math.max(hi, 0)];
  const scale = Math.fround((b - a) / 255);
  return { scale, zero: Math.min(255, Math.max(0, roundHalfEven(-a / scale))) };
}

interface Weight {
  readonly q: Value;
  readonly scale: Value;
  readonly zero: Value;
  /** The int32 bias at scale s_x·s_w. */
  readonly bias: Value;
  readonly biasScale: Value;
}

/**
 * int8 symmetric weights (per output channel, axis 0, or one scale) and their bias, for input scale sx.
 * The weights use 7 bits (ONNX Runtime's reduce_range, its quantizer's default on x86): on a CPU with
 * AVX2 and no VNNI its u8×s8 kernels add pairs of products in int16 and saturate, and full-range
 * weights put its outputs many steps off the exact result.
 */
function quantizeWeight(w: number[], shape: number[], b: number[], sx: number, perChannel: boolean): Weight {
  const o = shape[0]!;
  const per = w.length / o;
  const max = (c: number) => Math.max(...w.slice(c * per, (c + 1) * per).map(Math.abs));
  const all = Math.max(...w.map(Math.abs));
  const scales = Array.from({ length: o }, (_, c) => Math.fround((perChannel ? max(c) : all) / 63));
  const dims = perChannel ? [o] : [];
  const bs = scales.map((s) => Math.fround(sx * s));
  return {
    q: value(
      'int8',
      shape,
      w.map((v, i) => roundHalfEven(v / scales[Math.floor(i / per)]!)),
    ),
    scale: value('float32', dims, perChannel ? scales : [scales[0]!]),
    zero: value('int8', dims, new Array(perChannel ? o : 1).fill(0)),
    bias: value(
      'int32',
      [o],
      b.map((v, c) => roundHalfEven(v / bs[c]!)),
    ),
    biasScale: value('float32', dims, perChannel ? bs : [bs[0]!]),
  };
}

/** The float network and its input: a batch of `n` images `size` square (even), weights from `seed`. */
function network(n: number, size: number, seed: number) {
  const xShape = [n, 3, size, size];
  const w3 = [CLASSES, 4 * (size / 2) ** 2];
  return {
    xShape,
    w3Shape: w3,
    float: {
      w1: uniform(sizeOf(W1), seed + 1, -0.5, 0.5),
      b1: uniform(W1[0]!, seed + 2, -0.2, 0.2),
      w2: uniform(sizeOf(W2), seed + 3, -0.4, 0.4),
      b2: uniform(W2[0]!, seed + 4, -0.2, 0.2),
      w3: uniform(sizeOf(w3), seed + 5, -0.3, 0.3),
      b3: uniform(CLASSES, seed + 6, -0.2, 0.2),
    },
    x: value('float32', xShape, uniform(sizeOf(xShape), seed + 7).map(Math.fround)),
  };
}
type Network = ReturnType<typeof network>;

const floatNodes: NodeSpec[] = [
  { op: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['c1'], attrs: { pads: [1, 1, 1, 1] } },
  { op: 'Relu', inputs: ['c1'], outputs: ['r1'] },
  { op: 'MaxPool', inputs: ['r1'], outputs: ['p1'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
  { op: 'Conv', inputs: ['p1', 'w2', 'b2'], outputs: ['c2'], attrs: { pads: [1, 1, 1, 1] } },
  { op: 'Add', inputs: ['p1', 'c2'], outputs: ['a'] },
  { op: 'Flatten', inputs: ['a'], outputs: ['f'] },
  { op: 'Gemm', inputs: ['f', 'w3', 'b3'], outputs: ['y'], attrs: { transB: 1 } },
];

/** Activation ranges of the float network on x, as a calibrator measures them. */
async function calibrate({ xShape, w3Shape, float, x }: Network) {
  const f = (name: keyof Network['float'], shape: number[]) =>
    initializer(name, value('float32', shape, float[name]));
  const bytes = opModel({
    opset: 13,
    inputs: [
      input('x', 'float32', xShape),
      f('w1', W1),
      f('b1', [W1[0]!]),
      f('w2', W2),
      f('b2', [W2[0]!]),
      f('w3', w3Shape),
      f('b3', [CLASSES]),
    ],
    nodes: floatNodes,
    outputs: ['r1', 'c2', 'a', 'y'],
  });
  const out = await runOrt(bytes, { x });
  const range = (t: Tensor | Value) => {
    const v = Array.from(t.data);
    return activation(Math.min(...v), Math.max(...v));
  };
  return { x: range(x), r1: range(out.r1!), c2: range(out.c2!), a: range(out.a!), y: range(out.y!) };
}

type Format = 'qdq' | 'qoperator';

/** The quantized model in either format; its output y is float. */
async function quantizedModel(net: Network, format: Format, perChannel: boolean): Promise<Uint8Array> {
  const r = await calibrate(net);
  const { float, w3Shape: W3 } = net;
  const w1 = quantizeWeight(float.w1, W1, float.b1, r.x.scale, perChannel);
  const w2 = quantizeWeight(float.w2, W2, float.b2, r.r1.scale, perChannel);
  const w3 = quantizeWeight(float.w3, W3, float.b3, r.a.scale, perChannel);
  const inits: InitializerSpec[] = [];
  const scalar = (name: string, dtype: 'float32' | 'uint8', v: number) => {
    inits.push(initializer(name, value(dtype, [], [v])));
    return name;
  };
  /** scale and zero point names of an activation */
  const act = (name: keyof typeof r) => [
    scalar(`${name}_s`, 'float32', r[name].scale),
    scalar(`${name}_z`, 'uint8', r[name].zero),
  ];
  const weight = (name: string, w: Weight) => {
    inits.push(
      initializer(`${name}_q`, w.q),
      initializer(`${name}_s`, w.scale),
      initializer(`${name}_z`, w.zero),
      initializer(`${name}_b`, w.bias),
      initializer(`${name}_bs`, w.biasScale),
    );
    return { q: `${name}_q`, s: `${name}_s`, z: `${name}_z`, b: `${name}_b`, bs: `${name}_bs` };
  };
  const [ws1, ws2, ws3] = [weight('w1', w1), weight('w2', w2), weight('w3', w3)];
  const q = (from: string, p: string[], to: string): NodeSpec => ({
    op: 'QuantizeLinear',
    inputs: [from, ...p],
    outputs: [to],
  });
  const dq = (from: string, p: string[], to: string, axis = 0): NodeSpec => ({
    op: 'DequantizeLinear',
    inputs: [from, ...p],
    outputs: [to],
    ...(p.length > 0 ? { attrs: { axis } } : {}),
  });
  const pads = { pads: [1, 1, 1, 1] };
  const pool = { kernel_shape: [2, 2], strides: [2, 2] };
  let nodes: NodeSpec[];
  if (format === 'qdq') {
    const dqWeight = (w: typeof ws1, to: string): NodeSpec[] => [
      dq(w.q, [w.s, w.z], `${to}`),
      dq(w.b, [w.bs], `${to}_b`),
    ];
    nodes = [
      q('x', act('x'), 'xq'),
      dq('xq', act('x'), 'xd'),
      ...dqWeight(ws1, 'w1d'),
      { op: 'Conv', inputs: ['xd', 'w1d', 'w1d_b'], outputs: ['c1'], attrs: pads },
      { op: 'Relu', inputs: ['c1'], outputs: ['r1'] },
      q('r1', act('r1'), 'r1q'),
      dq('r1q', act('r1'), 'r1d'),
      { op: 'MaxPool', inputs: ['r1d'], outputs: ['p1'], attrs: pool },
      q('p1', act('r1'), 'p1q'),
      dq('p1q', act('r1'), 'p1d'),
      ...dqWeight(ws2, 'w2d'),
      { op: 'Conv', inputs: ['p1d', 'w2d', 'w2d_b'], outputs: ['c2'], attrs: pads },
      q('c2', act('c2'), 'c2q'),
      dq('c2q', act('c2'), 'c2d'),
      { op: 'Add', inputs: ['p1d', 'c2d'], outputs: ['a'] },
      q('a', act('a'), 'aq'),
      dq('aq', act('a'), 'ad'),
      { op: 'Flatten', inputs: ['ad'], outputs: ['f'] },
      ...dqWeight(ws3, 'w3d'),
      { op: 'Gemm', inputs: ['f', 'w3d', 'w3d_b'], outputs: ['g'], attrs: { transB: 1 } },
      q('g', act('y'), 'gq'),
      dq('gq', act('y'), 'y'),
    ];
  } else {
    // QLinearMatMul takes [K, N] weights, scaled per column
    const t = w3.q.data;
    inits.push(
      initializer(
        'w3_t',
        value(
          'int8',
          [W3[1]!, W3[0]!],
          Array.from({ length: t.length }, (_, i) => t[(i % W3[0]!) * W3[1]! + Math.floor(i / W3[0]!)]!),
        ),
      ),
    );
    const qconv = (from: string, xp: string[], w: typeof ws1, yp: string[], to: string): NodeSpec => ({
      op: 'QLinearConv',
      inputs: [from, ...xp, w.q, w.s, w.z, ...yp, w.b],
      outputs: [to],
      attrs: pads,
    });
    nodes = [
      q('x', act('x'), 'xq'),
      // the relu is the output range's zero point 0: QLinearConv saturates below it
      qconv('xq', act('x'), ws1, act('r1'), 'r1q'),
      { op: 'MaxPool', inputs: ['r1q'], outputs: ['p1q'], attrs: pool },
      qconv('p1q', act('r1'), ws2, act('c2'), 'c2q'),
      // Add has no QOperator form in ai.onnx: it runs in float between its (de)quantizations
      dq('p1q', act('r1'), 'p1d'),
      dq('c2q', act('c2'), 'c2d'),
      { op: 'Add', inputs: ['p1d', 'c2d'], outputs: ['a'] },
      q('a', act('a'), 'aq'),
      { op: 'Flatten', inputs: ['aq'], outputs: ['fq'] },
      {
        op: 'QLinearMatMul',
        inputs: ['fq', ...act('a'), 'w3_t', ws3.s, ws3.z, ...act('y')],
        outputs: ['gq'],
      },
      dq('gq', act('y'), 'y'),
    ];
  }
  return opModel({ opset: 13, inputs: [input('x', 'float32', net.xShape), ...inits], nodes, outputs: ['y'] });
}

/**
 * The tolerance of a quantized model's float output against ONNX Runtime's: 1e-4 relative (the usual
 * one), except that an element may be one output quantization step apart. ONNX Runtime requantizes an
 * exact int32 accumulator (f32(acc)·f32(s_x·s_w/s_y)); the float kernels accumulate (q − z)·s in f32
 * in their own order and divide by s_y, so a value within float rounding of a k + ½ boundary may round
 * to the other side, and that step may move the later layers' values by at most about one step. Such
 * elements must stay few: at most an eighth of the output.
 */
function expectWithinOneStep(got: Tensor | undefined, want: Tensor, step: number): void {
  expect(got?.shape).toEqual(want.shape);
  const scale = Math.max(...want.data.map(Math.abs));
  let stepped = 0;
  for (const [i, e] of want.data.entries()) {
    const d = Math.abs(got!.data[i]! - e);
    if (d <= 1e-4 * scale + 1e-5) continue;
    expect(d).toBeLessThanOrEqual(step * (1 + 1e-4));
    stepped++;
  }
  expect(stepped).toBeLessThanOrEqual(want.data.length / 8);
}

const PLANS: readonly PlanMode[] = ['auto', 'dense'];

async function expectModelMatchesOrt(net: Network, bytes: Uint8Array, step: number): Promise<Graph> {
  const want = (await runOrt(bytes, { x: net.x })).y!;
  const g = optimize(importOnnx(bytes));
  const feeds = { x: toTensor(net.x) };
  expectWithinOneStep(runCpu(g, feeds).y, want, step);
  for (const plan of PLANS) {
    const session = await WebGpuSession.create(g, { gpu, plan });
    try {
      expectWithinOneStep((await session.run(feeds)).y, want, step);
      // the whole network runs on the GPU: every conv and GEMM, and every (de)quantization as FakeQuantize
      expect(session.plan.filter((e) => e.kernel === 'cpu').map((e) => e.op)).toEqual([]);
      expect(session.plan.filter((e) => e.op === 'FakeQuantize').length).toBeGreaterThan(0);
    } finally {
      session.destroy();
    }
  }
  return g;
}

const networkArb = fc.record({ n: int(1, 2), size: fc.constantFrom(4, 6, 8), seed: seedArb });

describe('int8 CNNs, QDQ and QOperator formats, on both executors against ONNX Runtime', () => {
  for (const format of ['qdq', 'qoperator'] as const)
    for (const perChannel of [false, true])
      it(`${format}, weights ${perChannel ? 'per channel' : 'per tensor'}`, async () => {
        await fc.assert(
          fc.asyncProperty(networkArb, async ({ n, size, seed }) => {
            const net = network(n, size, seed);
            const bytes = await quantizedModel(net, format, perChannel);
            const g = await expectModelMatchesOrt(net, bytes, (await calibrate(net)).y.scale);
            // weights and biases folded to float; nothing integer is left between the layers
            const ops = g.nodes.map((n) => n.op);
            expect(ops.filter((op) => /Quantize|QLinear/.test(op) && op !== 'FakeQuantize')).toEqual([]);
            expect(ops.filter((op) => op === 'Conv').length).toBe(2);
          }),
          { seed: 12, numRuns: 3 },
        );
      }, 120_000);

  it('the QDQ model on the CPU before optimization matches too (the quantization ops as written)', async () => {
    const net = network(2, 8, 30);
    const bytes = await quantizedModel(net, 'qdq', true);
    const want = (await runOrt(bytes, { x: net.x })).y!;
    const got = runCpu(importOnnx(bytes), { x: toTensor(net.x) }).y;
    expectWithinOneStep(got, want, (await calibrate(net)).y.scale);
  });
});

describe('FakeQuantize on the GPU', () => {
  it('per-axis QuantizeLinear → DequantizeLinear pairs on activations: exactly ONNX Runtime, int8 and uint8', async () => {
    for (const dtype of ['int8', 'uint8'] as const) {
      const shape = [2, 3, 5, 4];
      const scales = value('float32', [3], [0.02, 0.05, 0.11]);
      const zeros = value(dtype, [3], dtype === 'int8' ? [-3, 0, 7] : [120, 128, 3]);
      // a third of the values exactly halfway between two steps of their channel's scale
      const data = uniform(sizeOf(shape), 21, -12, 12).map((v, i) => {
        const s = scales.data[Math.floor(i / 20) % 3]!;
        return Math.fround(i % 3 === 0 ? (Math.round(v / s) + 0.5) * s : v);
      });
      const bytes = opModel({
        opset: 13,
        inputs: [input('x', 'float32', shape), initializer('s', scales), initializer('z', zeros)],
        nodes: [
          { op: 'QuantizeLinear', inputs: ['x', 's', 'z'], outputs: ['q'], attrs: { axis: 1 } },
          { op: 'DequantizeLinear', inputs: ['q', 's', 'z'], outputs: ['y'], attrs: { axis: 1 } },
        ],
        outputs: ['y'],
      });
      const xv = value('float32', shape, data);
      const want = (await runOrt(bytes, { x: xv })).y!;
      const g = optimize(importOnnx(bytes));
      expect(g.nodes.map((n) => n.op)).toEqual(['FakeQuantize']);
      const session = await WebGpuSession.create(g, { gpu });
      try {
        const got = (await session.run({ x: toTensor(xv) })).y!;
        expect(session.plan.map((e) => e.kernel)).toEqual(['fake-quantize']);
        expect(Array.from(got.data, (v) => v + 0)).toEqual(Array.from(want.data));
      } finally {
        session.destroy();
      }
    }
  }, 120_000);
});

describe('refused int8 models', () => {
  const quantizeModel = (scale: Value, zero: Value | undefined, attrs = {}, opset = 21) =>
    opModel({
      opset,
      inputs: [
        input('x', 'float32', [2, 4]),
        initializer('s', scale),
        ...(zero ? [initializer('z', zero)] : []),
      ],
      nodes: [{ op: 'QuantizeLinear', inputs: ['x', 's', ...(zero ? ['z'] : [])], outputs: ['y'], attrs }],
      outputs: ['y'],
    });
  const fail = (bytes: Uint8Array, code: string) => {
    const run = () =>
      runCpu(optimize(importOnnx(bytes)), { x: toTensor(value('float32', [2, 4], uniform(8, 3))) });
    expect(run).toThrow(RuntimeError);
    expect(run).toThrow(expect.objectContaining({ code }));
  };

  it('a float8 output type, blocked quantization and a scale that fits no axis give typed errors', () => {
    fail(quantizeModel(value('float32', [], [0.1]), undefined, { output_dtype: 17 }), 'unsupported-op');
    fail(
      quantizeModel(value('float32', [2, 2], [0.1, 0.1, 0.1, 0.1]), undefined, { block_size: 2, axis: 1 }),
      'unsupported-op',
    );
    fail(
      quantizeModel(value('float32', [3], [0.1, 0.1, 0.1]), value('uint8', [3], [0, 0, 0]), { axis: 1 }),
      'invalid-model',
    );
  });
});
