import {
  QUANT_ACTIVATIONS,
  QUANT_OUTPUTS,
  QUANT_WEIGHTS,
  type QuantActivations,
  type QuantOutput,
  type QuantWeights,
  quantActivationCodes,
  quantConvAccumulators,
  quantConvGeometry,
  quantLevels,
  quantWeightCodes,
} from '@zeroskip/gpu';
import fc from 'fast-check';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { runCpu } from '../cpu-session.js';
import { RuntimeError } from '../errors.js';
import type { AttributeValue, Graph } from '../graph.js';
import { importOnnx } from '../onnx.js';
import { exportOnnx } from '../onnx-export.js';
import { float32, type Tensor } from '../tensor.js';
import { int, seedArb } from '../testing/arbitraries.js';
import {
  expectClose,
  initializer,
  input,
  type NodeSpec,
  opModel,
  runOrt,
  type Value,
  value,
} from '../testing/onnx-graph.js';
import { uniform } from '../testing/random.js';
import type { WeightEncoding } from '../weight-encoding.js';
import { decodeZsk, encodeZsk } from '../zsk.js';
import { quantConv } from './quant-conv.js';

// QuantConv on the CPU executor against ONNX Runtime running the same computation in standard ops:
// the activation quantizer, a Conv of the integer weight codes, then the output transform. Codes are
// small integers, so ONNX Runtime's f32 Conv sums them exactly and the discrete outputs must be equal.

interface Mode {
  readonly activations: QuantActivations;
  readonly weights: QuantWeights;
  readonly output: QuantOutput;
}

/** Bit widths of the "bits" modes (ignored by the others). */
interface Bits {
  readonly a: number;
  readonly w: number;
  readonly o: number;
}

interface Geometry {
  readonly x: readonly [number, number, number, number];
  readonly w: readonly [number, number, number, number];
  readonly strides: readonly [number, number];
  readonly pads: readonly [number, number, number, number];
  readonly dilations: readonly [number, number];
}

/** A QuantConv problem: the node's attributes, its input X and its constants W and S, B or T. */
interface Case {
  readonly attrs: Record<string, AttributeValue>;
  readonly x: Value;
  /** Normalized weights, as the node holds them. */
  readonly w: Float32Array;
  /** Integer weight codes, as the reference graph holds them. */
  readonly wCodes: Float32Array;
  readonly geo: Geometry;
  /** S and B for "float" output, T otherwise. */
  readonly params: readonly (readonly [string, Value])[];
  readonly mode: Mode;
  readonly bits: Bits;
}

const MODES: readonly Mode[] = QUANT_ACTIVATIONS.flatMap((activations) =>
  QUANT_WEIGHTS.flatMap((weights) => QUANT_OUTPUTS.map((output) => ({ activations, weights, output }))),
);

const specOf = (mode: Mode, bits: Bits, geo: Geometry) => ({
  ...mode,
  activationBits: bits.a,
  weightBits: bits.w,
  outputBits: bits.o,
  conv: { stride: geo.strides, pads: geo.pads, dilation: geo.dilations },
});

/** Inputs with the values that quantizers treat specially: zeros (±0), 1, rounding ties of every width. */
function inputValues(n: number, seed: number, la: number): number[] {
  const special = [0, -0, 1, 0.5, Math.fround(0.5 - 2 ** -25), 1.5, -1];
  const u = uniform(2 * n, seed, 0, 1);
  return Array.from({ length: n }, (_, i) => {
    const r = u[2 * i]!;
    const pick = u[2 * i + 1]!;
    if (r < 0.15) return special[Math.floor(pick * special.length)]!;
    // f32 (j + ½)/La: the point where a k-bit activation code steps up
    if (r < 0.3) return Math.fround((Math.floor(pick * la) + 0.5) / la);
    return Math.fround(-1.5 + 3 * pick);
  });
}

/** Integer weight codes on the grid of `weights`: ±1, {−1, 0, 1}, or odd 2q − Lw. */
function weightCodes(n: number, seed: number, weights: QuantWeights, lw: number): number[] {
  return uniform(n, seed, 0, 1).map((u) => {
    if (weights === 'binary') return u < 0.5 ? -1 : 1;
    if (weights === 'ternary') return Math.floor(u * 3) - 1;
    return 2 * Math.floor(u * (lw + 1)) - lw;
  });
}

/**
 * Thresholds around the values the accumulators take (ties included, some half-way, some ±∞), sorted
 * per channel. They are drawn from the reference's accumulators, which only shapes the test data.
 */
function thresholds(c: Omit<Case, 'params'>, levels: number, seed: number): Value {
  const spec = specOf(c.mode, c.bits, c.geo);
  const g = quantConvGeometry(c.geo.x, c.geo.w, spec);
  const acc = quantConvAccumulators(g, quantActivationCodes(c.x.data, spec), quantWeightCodes(c.w, spec));
  const plane = g.ho * g.wo;
  const u = uniform(3 * g.o * levels, seed, 0, 1);
  const rows = Array.from({ length: g.o }, (_, o) =>
    Array.from({ length: levels }, (_, j) => {
      const [r1, r2, r3] = [0, 1, 2].map((k) => u[3 * (o * levels + j) + k]!) as [number, number, number];
      if (r1 < 0.05) return r2 < 0.5 ? -Infinity : Infinity;
      const at = Math.floor(r2 * g.n) * g.o * plane + o * plane + Math.floor(r3 * plane);
      return acc[at]! + [0, 0, 0.5, -0.5, 1][Math.floor(r1 * 5)]!;
    }).sort((a, b) => a - b),
  );
  return value('float32', [g.o, levels], rows.flat());
}

function makeCase(mode: Mode, bits: Bits, geo: Geometry, seed: number): Case {
  const la = quantLevels(bits.a);
  const lw = mode.weights === 'bits' ? quantLevels(bits.w) : 1;
  const nx = geo.x.reduce((a, b) => a * b, 1);
  const nw = geo.w.reduce((a, b) => a * b, 1);
  const codes = weightCodes(nw, seed + 1, mode.weights, lw);
  const base = {
    attrs: {
      activations: mode.activations,
      weights: mode.weights,
      output: mode.output,
      ...(mode.activations === 'bits' ? { activation_bits: bits.a } : {}),
      ...(mode.weights === 'bits' ? { weight_bits: bits.w } : {}),
      ...(mode.output === 'bits' ? { output_bits: bits.o } : {}),
      kernel_shape: [geo.w[2], geo.w[3]],
      strides: [...geo.strides],
      pads: [...geo.pads],
      dilations: [...geo.dilations],
    },
    x: value('float32', geo.x, inputValues(nx, seed, la)),
    // W = 2q/Lw − 1 for code 2q − Lw, rounded to f32 as a trainer would store it
    w: Float32Array.from(codes, (k) => k / lw),
    wCodes: Float32Array.from(codes),
    geo,
    mode,
    bits,
  };
  const o = geo.w[0];
  if (mode.output === 'float')
    return {
      ...base,
      params: [
        ['S', value('float32', [o], uniform(o, seed + 2, -2, 2).map(Math.fround))],
        ['B', value('float32', [o], uniform(o, seed + 3, -3, 3).map(Math.fround))],
      ],
    };
  const levels = mode.output === 'sign' ? 1 : quantLevels(bits.o);
  return { ...base, params: [['T', thresholds(base, levels, seed + 4)]] };
}

/** The runtime graph: one QuantConv node reading X, with W and the output parameters as constants. */
function quantGraph(c: Case): Graph {
  return {
    nodes: [
      {
        op: 'QuantConv',
        name: 'qc',
        inputs: ['X', 'W', ...c.params.map(([name]) => name)],
        outputs: ['Y'],
        attrs: c.attrs,
      },
    ],
    initializers: new Map<string, Tensor>([
      ['W', float32(c.geo.w, c.w)],
      ...c.params.map(([name, v]): [string, Tensor] => [name, float32(v.shape, Float32Array.from(v.data))]),
    ]),
    inputs: [{ name: 'X', shape: c.geo.x, dtype: 'float32' }],
    outputs: ['Y'],
    opset: 17,
  };
}

/** The case's graph with constant `name` replaced. */
function withConstant(c: Case, name: string, t: Tensor): Graph {
  const g = quantGraph(c);
  return { ...g, initializers: new Map([...g.initializers, [name, t]]) };
}

const scalar = (v: number) => value('float32', [], [v]);

/** The same computation in standard ONNX ops (opset 17). */
function referenceModel(c: Case): Uint8Array {
  const { mode, geo } = c;
  const o = geo.w[0];
  const consts = [
    initializer('zero', scalar(0)),
    initializer('one', scalar(1)),
    initializer('minus_one', scalar(-1)),
    initializer('half', scalar(0.5)),
    initializer('la', scalar(quantLevels(c.bits.a))),
    initializer('Wc', value('float32', geo.w, c.wCodes)),
  ];
  const quantize: NodeSpec[] =
    mode.activations === 'sign'
      ? [
          { op: 'Less', inputs: ['X', 'zero'], outputs: ['negative'] },
          { op: 'Where', inputs: ['negative', 'minus_one', 'one'], outputs: ['A'] },
        ]
      : mode.activations === 'sign0'
        ? [{ op: 'Sign', inputs: ['X'], outputs: ['A'] }]
        : [
            { op: 'Clip', inputs: ['X', 'zero', 'one'], outputs: ['clipped'] },
            { op: 'Mul', inputs: ['clipped', 'la'], outputs: ['scaled'] },
            { op: 'Add', inputs: ['scaled', 'half'], outputs: ['shifted'] },
            { op: 'Floor', inputs: ['shifted'], outputs: ['A'] },
          ];
  const conv: NodeSpec = {
    op: 'Conv',
    inputs: ['A', 'Wc'],
    outputs: ['acc'],
    attrs: {
      kernel_shape: [geo.w[2], geo.w[3]],
      strides: [...geo.strides],
      pads: [...geo.pads],
      dilations: [...geo.dilations],
    },
  };
  // parameters per channel, broadcast over [N, O, Ho, Wo] (and the threshold axis of "bits")
  const perChannel = c.params.map(([name, v]) =>
    initializer(
      `${name}c`,
      value('float32', mode.output === 'bits' ? [o, v.shape[1]!, 1, 1] : [o, 1, 1], v.data),
    ),
  );
  const transform: NodeSpec[] =
    mode.output === 'float'
      ? [
          { op: 'Mul', inputs: ['acc', 'Sc'], outputs: ['scaled_acc'] },
          { op: 'Add', inputs: ['scaled_acc', 'Bc'], outputs: ['Y'] },
        ]
      : mode.output === 'sign'
        ? [
            { op: 'GreaterOrEqual', inputs: ['acc', 'Tc'], outputs: ['above'] },
            { op: 'Where', inputs: ['above', 'one', 'minus_one'], outputs: ['Y'] },
          ]
        : [
            { op: 'Unsqueeze', inputs: ['acc', 'axis2'], outputs: ['acc5'] },
            { op: 'GreaterOrEqual', inputs: ['acc5', 'Tc'], outputs: ['above'] },
            {
              op: 'Cast',
              inputs: ['above'],
              outputs: ['counts'],
              attrs: { to: onnxProto.onnx.TensorProto.DataType.FLOAT },
            },
            { op: 'ReduceSum', inputs: ['counts', 'axis2'], outputs: ['code'], attrs: { keepdims: 0 } },
            { op: 'Div', inputs: ['code', 'lo'], outputs: ['Y'] },
          ];
  return opModel({
    opset: 17,
    inputs: [
      input('X', 'float32', geo.x),
      ...consts,
      ...perChannel,
      initializer('axis2', value('int64', [1], [2])),
      initializer('lo', scalar(quantLevels(c.bits.o))),
    ],
    nodes: [...quantize, conv, ...transform],
    outputs: ['Y'],
  });
}

const feedsOf = (c: Case) => ({ X: float32(c.x.shape, Float32Array.from(c.x.data)) });

/** Runs the case on the CPU executor and in ONNX Runtime; discrete outputs must be equal, float ones close. */
async function expectMatchesOrt(c: Case): Promise<void> {
  const want = (await runOrt(referenceModel(c), { X: c.x })).Y!;
  const got = runCpu(quantGraph(c), feedsOf(c)).Y!;
  if (c.mode.output === 'float') expectClose(got, want, 1e-5);
  else {
    expect(got.shape).toEqual(want.shape);
    expect(Array.from(got.data)).toEqual(Array.from(want.data));
  }
}

const pair = (lo: number, hi: number) => fc.tuple(int(lo, hi), int(lo, hi));

/** Random geometries: channels up to 40 (past one 32-bit word), pads, strides, dilations, and an input the kernel fits. */
const geometryArb = fc
  .record({
    n: int(1, 2),
    c: int(1, 40),
    o: int(1, 4),
    kernel: pair(1, 3),
    strides: pair(1, 2),
    dilations: pair(1, 2),
    pads: fc.tuple(int(0, 2), int(0, 2), int(0, 2), int(0, 2)),
    extra: pair(0, 3),
  })
  .map(({ n, c, o, kernel, strides, dilations, pads, extra }): Geometry => {
    const span = (d: 0 | 1) => dilations[d] * (kernel[d] - 1) + 1 - pads[d] - pads[d + 2]!;
    return {
      x: [n, c, Math.max(1, span(0) + extra[0]), Math.max(1, span(1) + extra[1])],
      w: [o, c, kernel[0], kernel[1]],
      strides,
      pads,
      dilations,
    };
  });

const bitsArb = fc.record({ a: int(1, 8), w: int(1, 8), o: int(1, 8) });

/** Whether the accumulators of the case stay exact (below 2^24); wider ones are an error, tested below. */
const exact = (m: Mode, b: Bits, g: Geometry) =>
  g.w[1] *
    g.w[2] *
    g.w[3] *
    (m.activations === 'bits' ? quantLevels(b.a) : 1) *
    (m.weights === 'bits' ? quantLevels(b.w) : 1) <
  2 ** 24;

const plain = (x: Geometry['x'], w: Geometry['w']): Geometry => ({
  x,
  w,
  strides: [1, 1],
  pads: [0, 0, 0, 0],
  dilations: [1, 1],
});

describe.each(MODES)(
  'QuantConv: activations $activations, weights $weights, output $output, against ONNX Runtime',
  (mode) => {
    it('random geometries, bit widths and data', async () => {
      await fc.assert(
        fc.asyncProperty(geometryArb, bitsArb, seedArb, async (geo, bits, seed) => {
          fc.pre(exact(mode, bits, geo));
          await expectMatchesOrt(makeCase(mode, bits, geo, seed));
        }),
        { seed: 20_261_122, numRuns: 4 },
      );
    });

    it('the FC form on [N, C, 1, 1] and a kernel covering the whole input, channels past 32', async () => {
      const bits = { a: 3, w: 4, o: 2 };
      await expectMatchesOrt(makeCase(mode, bits, plain([2, 45, 1, 1], [5, 45, 1, 1]), 11));
      await expectMatchesOrt(makeCase(mode, bits, plain([2, 33, 3, 4], [3, 33, 3, 4]), 12));
      await expectMatchesOrt(makeCase(mode, { a: 8, w: 5, o: 8 }, plain([1, 70, 2, 2], [2, 70, 2, 2]), 13));
    });

    it('quantizer edge values: ±0, tiny values and the f32 rounding tie of 1-bit activations', async () => {
      const c = makeCase(mode, { a: 1, w: 2, o: 3 }, plain([1, 8, 3, 3], [2, 8, 2, 2]), 14);
      // 0.5 − 2^−25 + 0.5 rounds up to 1 in f32: the code is 1, where exact arithmetic gives 0
      const edges = [0, -0, Math.fround(0.5 - 2 ** -25), 0.5, 1, -1, 2 ** -30, -(2 ** -30)];
      const x = Array.from(c.x.data, (_, i) => edges[(i * 5) % edges.length]!);
      await expectMatchesOrt({ ...c, x: value('float32', c.x.shape, x) });
    });
  },
);

describe('QuantConv rejects malformed nodes with typed errors', () => {
  const base = makeCase(
    { activations: 'bits', weights: 'bits', output: 'bits' },
    { a: 2, w: 2, o: 2 },
    plain([1, 3, 4, 4], [2, 3, 3, 3]),
    5,
  );
  const signCase = makeCase(
    { activations: 'sign', weights: 'binary', output: 'sign' },
    { a: 1, w: 1, o: 1 },
    plain([1, 3, 4, 4], [2, 3, 3, 3]),
    6,
  );
  const floatCase = makeCase(
    { activations: 'sign0', weights: 'ternary', output: 'float' },
    { a: 1, w: 1, o: 1 },
    plain([1, 3, 4, 4], [2, 3, 3, 3]),
    7,
  );

  /** Runs shape inference and the CPU executor on the graph, expecting both to throw this error. */
  function expectInvalid(g: Graph, message: RegExp, { runs = true } = {}): void {
    const node = g.nodes[0]!;
    const info = (name: string) => {
      const t = g.initializers.get(name);
      const fedInput = g.inputs.find((i) => i.name === name);
      return t
        ? { shape: t.shape, dtype: t.dtype, value: t }
        : { shape: fedInput!.shape, dtype: fedInput!.dtype };
    };
    const attempts: (() => unknown)[] = [() => quantConv.infer(node, node.inputs.map(info), g)];
    if (runs) {
      const x = g.inputs[0]!;
      attempts.push(() =>
        runCpu(g, { [x.name]: float32(x.shape, new Float32Array(x.shape.reduce((a, b) => a * b, 1))) }),
      );
    }
    for (const attempt of attempts) {
      let thrown: unknown;
      try {
        attempt();
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(RuntimeError);
      expect((thrown as RuntimeError).code).toBe('invalid-model');
      expect((thrown as RuntimeError).message).toMatch(message);
    }
  }

  const withAttrs = (c: Case, attrs: Record<string, AttributeValue>): Graph => {
    const g = quantGraph(c);
    return { ...g, nodes: [{ ...g.nodes[0]!, attrs: { ...g.nodes[0]!.attrs, ...attrs } }] };
  };

  it('unknown activations, weights or output modes', () => {
    expectInvalid(withAttrs(base, { activations: 'relu' }), /activations 'relu'.*'sign', 'sign0', 'bits'/);
    expectInvalid(withAttrs(base, { weights: 'int4' }), /weights 'int4'/);
    expectInvalid(withAttrs(base, { output: 'softmax' }), /output 'softmax'/);
  });

  it('bit widths outside 1..8 or missing', () => {
    expectInvalid(withAttrs(base, { activation_bits: 0 }), /activation_bits, an integer in 1\.\.8.*got 0/);
    expectInvalid(withAttrs(base, { weight_bits: 9 }), /weight_bits, an integer in 1\.\.8.*got 9/);
    const { output_bits: _, ...noOutputBits } = base.attrs;
    expectInvalid(
      { ...quantGraph(base), nodes: [{ ...quantGraph(base).nodes[0]!, attrs: noOutputBits }] },
      /output_bits.*got undefined/,
    );
  });

  it('a kernel_shape that W does not have', () => {
    expectInvalid(withAttrs(base, { kernel_shape: [2, 3] }), /kernel_shape \[2, 3\] but W is \[2, 3, 3, 3\]/);
  });

  it('more than one group', () => {
    expectInvalid(withAttrs(base, { group: 3 }), /group 3/);
  });

  it('W computed at run time rather than a constant', () => {
    const g = quantGraph(base);
    const initializers = new Map(g.initializers);
    initializers.delete('W');
    expectInvalid(
      { ...g, initializers, inputs: [...g.inputs, { name: 'W', shape: base.geo.w, dtype: 'float32' }] },
      /W must be a constant/,
      { runs: false },
    );
  });

  it('W off its grid', () => {
    const offGrid = (c: Case, at: number, v: number) => {
      const w = Float32Array.from(c.w);
      w[at] = v;
      return withConstant(c, 'W', float32(c.geo.w, w));
    };
    expectInvalid(offGrid(signCase, 4, 0), /W value 0 at index 4, off the "binary" grid/);
    expectInvalid(offGrid(floatCase, 2, 0.5), /W value 0.5 at index 2, off the "ternary" grid/);
    // the 2-bit grid is {−1, −⅓, ⅓, 1}: 0 and ⅔ are between its points
    expectInvalid(offGrid(base, 7, 0), /W value 0 at index 7, off the "bits" grid of 2 bits/);
    expectInvalid(offGrid(base, 1, Math.fround(2 / 3)), /off the "bits" grid of 2 bits/);
    expectInvalid(offGrid(base, 0, Number.NaN), /W value NaN at index 0/);
  });

  it('S, B or T of the wrong shape, or missing', () => {
    expectInvalid(
      withConstant(floatCase, 'S', float32([3], new Float32Array(3))),
      /S of float32 \[2\], got float32 \[3\]/,
    );
    expectInvalid(
      withConstant(signCase, 'T', float32([2, 2], new Float32Array(4))),
      /T of float32 \[2, 1\], got float32 \[2, 2\]/,
    );
    expectInvalid(
      withConstant(base, 'T', float32([2], new Float32Array(2))),
      /T of float32 \[2, 3\], got float32 \[2\]/,
    );
    const g = quantGraph(floatCase);
    expectInvalid(
      { ...g, nodes: [{ ...g.nodes[0]!, inputs: ['X', 'W', 'S'] }] },
      /takes 4 inputs \(X, W, S, B, and optionally R\), got 3/,
    );
    // a residual R of the output's shape [1, 2, 2, 2], and at most Sign(Y) and Y as outputs
    const withR = {
      ...g,
      initializers: new Map([...g.initializers, ['R', float32([1, 2, 2, 3], new Float32Array(12))]]),
    };
    expectInvalid(
      { ...withR, nodes: [{ ...g.nodes[0]!, inputs: ['X', 'W', 'S', 'B', 'R'] }] },
      /R of float32 \[1, 2, 2, 2\], got float32 \[1, 2, 2, 3\]/,
    );
    expectInvalid(
      { ...g, nodes: [{ ...g.nodes[0]!, outputs: ['a', 'b', 'c'] }] },
      /has 3 outputs; it has Y, or with "float" output Sign\(Y\) and Y/,
      { runs: false },
    );
    expectInvalid(
      { ...quantGraph(signCase), nodes: [{ ...quantGraph(signCase).nodes[0]!, outputs: ['a', 'b'] }] },
      /has 2 outputs/,
      { runs: false },
    );
  });

  it('thresholds that decrease along a row or are NaN', () => {
    expectInvalid(
      withConstant(base, 'T', float32([2, 3], Float32Array.of(0, 1, 2, 5, 4, 6))),
      /T\[1\].*nondecreasing/,
    );
    expectInvalid(withConstant(signCase, 'T', float32([2, 1], Float32Array.of(0, Number.NaN))), /T\[1\]/);
  });

  it('accumulators that could pass 2^24', () => {
    const wide = makeCase(
      { activations: 'bits', weights: 'bits', output: 'float' },
      { a: 8, w: 8, o: 1 },
      plain([1, 300, 1, 1], [1, 300, 1, 1]),
      8,
    );
    expectInvalid(quantGraph(wide), /2\^24/);
  });
});

describe('QuantConv in files', () => {
  const cases = MODES.filter((m) => m.activations === 'bits').map((mode, i) =>
    makeCase(mode, { a: 2, w: 3, o: 2 }, plain([1, 40, 5, 5], [4, 40, 3, 3]), 30 + i),
  );

  it('.zsk keeps W compact with the binary, ternary and dorefa encodings and reads it back exactly', () => {
    for (const c of cases) {
      // the dorefa encoding's scale is max|W|, which must be 1 for W's grid to be the stored grid
      const w = Float32Array.from(c.w);
      w[0] = 1;
      const g = withConstant(c, 'W', float32(c.geo.w, w));
      const encoding: WeightEncoding =
        c.mode.weights === 'bits' ? { kind: 'dorefa', bits: c.bits.w } : { kind: c.mode.weights };
      const raw = encodeZsk(g);
      const bytes = encodeZsk(g, new Map([['W', encoding]]));
      // W alone takes 4 bytes a weight raw, at most 3 bits encoded
      expect(raw.length - bytes.length).toBeGreaterThan(0.75 * 4 * w.length);
      const back = decodeZsk(bytes).graph;
      expect(Array.from(back.initializers.get('W')!.data)).toEqual(Array.from(w));
      expect(Array.from(runCpu(back, feedsOf(c)).Y!.data)).toEqual(Array.from(runCpu(g, feedsOf(c)).Y!.data));
    }
  });

  it('ONNX export writes QuantConv in the ai.zeroskip domain and import reads it back', () => {
    for (const c of cases) {
      const g = quantGraph(c);
      const bytes = exportOnnx(g);
      const model = onnxProto.onnx.ModelProto.decode(bytes);
      expect(model.graph?.node?.[0]).toMatchObject({ opType: 'QuantConv', domain: 'ai.zeroskip' });
      expect(model.opsetImport.map((o) => o.domain)).toContain('ai.zeroskip');
      const back = importOnnx(bytes);
      expect(back.nodes[0]).toMatchObject({ op: 'QuantConv', attrs: g.nodes[0]!.attrs });
      expect(Array.from(runCpu(back, feedsOf(c)).Y!.data)).toEqual(Array.from(runCpu(g, feedsOf(c)).Y!.data));
    }
  });
});
