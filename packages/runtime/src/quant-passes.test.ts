import { bitsCode, quantLevels } from '@zeroskip/gpu';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runCpu } from './cpu-session.js';
import type { AttributeValue, Graph, GraphNode } from './graph.js';
import { importOnnx } from './onnx.js';
import {
  foldBatchNorm,
  foldConstants,
  fuseActivations,
  optimize,
  removeIdentities,
  removeUnused,
} from './passes.js';
import { fusePoolConvs } from './pool-conv-fusion.js';
import { binarizeSignConvs, foldQuantThresholds, fuseQuantEpilogues } from './quant-passes.js';
import { float32, type Tensor } from './tensor.js';
import { int, seedArb } from './testing/arbitraries.js';
import {
  expectClose,
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
import { randomTensor, uniform } from './testing/random.js';
import { ZOO } from './zoo/models.js';

const RUNS = { seed: 20_251, numRuns: 12 };
const ops = (g: Graph) => g.nodes.map((n) => n.op);

/** Seeded inputs on a half-unit grid in [−1.5, 1.5], so that about a sixth are exactly 0. */
const withZeros = (shape: readonly number[], seed: number): Value =>
  value(
    'float32',
    shape,
    uniform(
      shape.reduce((a, b) => a * b, 1),
      seed,
      -1.75,
      1.75,
    ).map((u) => Math.round(u * 2) / 2),
  );

/** O filters of `per` signs (some zeros when ternary) and a random magnitude α_o for each. */
function signedFilters(o: number, per: number, seed: number, ternary: boolean) {
  const alpha = Float32Array.from(uniform(o, seed, 0.1, 2));
  const signs = Float32Array.from(uniform(o * per, seed + 1), (u) =>
    ternary && Math.abs(u) < 0.3 ? 0 : Math.sign(u),
  );
  return { signs, alpha, scaled: signs.map((v, i) => v * alpha[Math.floor(i / per)]!) };
}

/** Imports and optimizes `bytes`; expects the CPU run to match ONNX Runtime's on input x. */
async function expectImportMatchesOrt(bytes: Uint8Array, x: Value): Promise<Graph> {
  const g = optimize(importOnnx(bytes));
  const want = await runOrt(bytes, { x });
  const got = runCpu(g, { x: toTensor(x) });
  for (const [name, t] of Object.entries(want)) expectClose(got[name], t);
  return g;
}

describe('binarizeSignConvs: PyTorch binary and ternary layers become QuantConv', () => {
  it('Sign → Conv with ±α_o filters (scaled, or Sign(W)·α folded from constants) matches ONNX Runtime', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          n: int(1, 2),
          c: int(1, 3),
          h: int(3, 6),
          w: int(3, 6),
          o: int(1, 4),
          k: int(1, 3),
          stride: int(1, 2),
          pad: int(0, 1),
          dilation: int(1, 2),
          bias: fc.boolean(),
          ternary: fc.boolean(),
          viaMul: fc.boolean(),
          seed: seedArb,
        }),
        async ({ n, c, h, w, o, k, stride, pad, dilation, bias, ternary, viaMul, seed }) => {
          fc.pre((k - 1) * dilation + 1 <= Math.min(h, w) + 2 * pad);
          const wShape = [o, c, k, k];
          const { signs, alpha, scaled } = signedFilters(o, c * k * k, seed, ternary);
          const consts: InitializerSpec[] = [];
          const nodes: NodeSpec[] = [{ op: 'Sign', inputs: ['x'], outputs: ['s'] }];
          if (viaMul) {
            // XNOR-Net's form: the sign of latent weights times the filter's α, constants folded on import
            const latent = signs.map((v, i) => v * (1 + (i % 3)));
            consts.push(initializer('latent', value('float32', wShape, latent)));
            consts.push(initializer('alpha', value('float32', [o, 1, 1, 1], alpha)));
            nodes.push({ op: 'Sign', inputs: ['latent'], outputs: ['wsign'] });
            nodes.push({ op: 'Mul', inputs: ['wsign', 'alpha'], outputs: ['wq'] });
          } else consts.push(initializer('wq', value('float32', wShape, scaled)));
          if (bias) consts.push(initializer('b', value('float32', [o], uniform(o, seed + 2))));
          nodes.push({
            op: 'Conv',
            inputs: ['s', 'wq', ...(bias ? ['b'] : [])],
            outputs: ['y'],
            attrs: { strides: [stride, stride], pads: [pad, pad, pad, pad], dilations: [dilation, dilation] },
          });
          const bytes = opModel({
            opset: 13,
            inputs: [input('x', 'float32', [n, c, h, w]), ...consts],
            outputs: ['y'],
            nodes,
          });
          const g = await expectImportMatchesOrt(bytes, withZeros([n, c, h, w], seed + 3));
          expect(ops(g)).toEqual(['QuantConv']);
          const q = g.nodes[0]!;
          expect(q.inputs[0]).toBe('x');
          expect(q.attrs).toMatchObject({ activations: 'sign0', output: 'float' });
          expect(q.attrs.weights).toBe(signs.includes(0) ? 'ternary' : 'binary');
        },
      ),
      RUNS,
    );
  });

  it('Sign → Gemm (transB 0 and 1, alpha, beta, bias) and Sign → MatMul become 1×1 QuantConvs between reshapes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          n: int(1, 3),
          k: int(1, 12),
          m: int(1, 6),
          op: fc.constantFrom('Gemm', 'MatMul'),
          transB: fc.boolean(),
          bias: fc.constantFrom('none', 'per-output', 'scalar'),
          ternary: fc.boolean(),
          seed: seedArb,
        }),
        async ({ n, k, m, op, transB, bias, ternary, seed }) => {
          // filters are rows of B when transB = 1, columns otherwise
          const filters = signedFilters(m, k, seed, ternary).scaled;
          const gemm = op === 'Gemm';
          const bShape = gemm && transB ? [m, k] : [k, m];
          const bData =
            gemm && transB
              ? filters
              : Float32Array.from({ length: k * m }, (_, i) => filters[(i % m) * k + Math.floor(i / m)]!);
          const withBias = gemm && bias !== 'none';
          const bytes = opModel({
            opset: 13,
            inputs: [
              input('x', 'float32', [n, k]),
              initializer('B', value('float32', bShape, bData)),
              ...(withBias
                ? [
                    initializer(
                      'C',
                      value(
                        'float32',
                        bias === 'scalar' ? [1] : [m],
                        uniform(bias === 'scalar' ? 1 : m, seed + 2),
                      ),
                    ),
                  ]
                : []),
            ],
            outputs: ['y'],
            nodes: [
              { op: 'Sign', inputs: ['x'], outputs: ['s'] },
              {
                op,
                inputs: ['s', 'B', ...(withBias ? ['C'] : [])],
                outputs: ['y'],
                attrs: gemm ? { transB: transB ? 1 : 0, alpha: { float: 0.75 }, beta: { float: 1.5 } } : {},
              },
            ],
          });
          const g = await expectImportMatchesOrt(bytes, withZeros([n, k], seed + 3));
          expect(ops(g)).toEqual(['Reshape', 'QuantConv', 'Reshape']);
          expect(g.initializers.get(g.nodes[1]!.inputs[1]!)!.shape).toEqual([m, k, 1, 1]);
        },
      ),
      RUNS,
    );
  });

  it('keeps a Sign that something else reads, and reads x itself', async () => {
    const x = withZeros([1, 2, 4, 4], 7);
    const bytes = opModel({
      opset: 13,
      inputs: [
        input('x', 'float32', [1, 2, 4, 4]),
        initializer('w', value('float32', [3, 2, 3, 3], signedFilters(3, 18, 8, false).scaled)),
      ],
      outputs: ['y', 'r'],
      nodes: [
        { op: 'Sign', inputs: ['x'], outputs: ['s'] },
        { op: 'Conv', inputs: ['s', 'w'], outputs: ['y'], attrs: { pads: [1, 1, 1, 1] } },
        { op: 'Relu', inputs: ['s'], outputs: ['r'] },
      ],
    });
    const g = await expectImportMatchesOrt(bytes, x);
    expect(ops(g).sort()).toEqual(['QuantConv', 'Relu', 'Sign']);
    expect(g.nodes.find((n) => n.op === 'QuantConv')!.inputs[0]).toBe('x');
  });

  it('leaves alone what does not match exactly: mixed magnitudes, groups, weights computed at run time', async () => {
    const w = signedFilters(2, 8, 11, false).scaled;
    const conv = (weights: Float32Array, attrs: NodeSpec['attrs'] = {}, wShape = [2, 2, 2, 2]) =>
      opModel({
        opset: 13,
        inputs: [input('x', 'float32', [1, 2, 3, 3]), initializer('w', value('float32', wShape, weights))],
        outputs: ['y'],
        nodes: [
          { op: 'Sign', inputs: ['x'], outputs: ['s'] },
          { op: 'Conv', inputs: ['s', 'w'], outputs: ['y'], ...(attrs ? { attrs } : {}) },
        ],
      });
    const x = withZeros([1, 2, 3, 3], 12);
    // one weight 0.1% off its filter's magnitude; a one-ulp difference is export noise and still matches
    const mixed = w.map((v, i) => (i === 5 ? v * 1.001 : v));
    const ulp = w.map((v, i) => (i === 5 ? Math.fround(v * (1 + 2 ** -23)) : v));
    expect(ops(await expectImportMatchesOrt(conv(mixed), x))).toEqual(['Sign', 'Conv']);
    expect(ops(await expectImportMatchesOrt(conv(ulp), x))).toEqual(['QuantConv']);
    const grouped = conv(w.subarray(0, 8), { group: 2 }, [2, 1, 2, 2]);
    expect(ops(await expectImportMatchesOrt(grouped, x))).toEqual(['Sign', 'Conv']);
    const fedWeights = opModel({
      opset: 13,
      inputs: [input('x', 'float32', [1, 2, 3, 3]), input('w', 'float32', [2, 2, 2, 2])],
      outputs: ['y'],
      nodes: [
        { op: 'Sign', inputs: ['x'], outputs: ['s'] },
        { op: 'Conv', inputs: ['s', 'w'], outputs: ['y'] },
      ],
    });
    expect(ops(binarizeSignConvs(importOnnx(fedWeights)))).toEqual(['Sign', 'Conv']);
  });
});

// ---- threshold folding: graphs of QuantConvs built directly (ONNX Runtime does not know the op) ----

type Reader = 'sign' | 'sign0' | 'bits';

interface ChainCase {
  readonly n: number;
  readonly c: number;
  readonly hw: number;
  readonly o1: number;
  readonly o2: number;
  readonly k1: number;
  readonly k2: number;
  readonly activations: { readonly mode: Reader; readonly bits: number };
  readonly weights: { readonly mode: 'binary' | 'ternary' | 'bits'; readonly bits: number };
  readonly pool: 'none' | '2x2' | '3x3/2';
  readonly clip: boolean;
  readonly reader: { readonly mode: Reader; readonly bits: number };
  readonly negativeScale: boolean;
  readonly seed: number;
}

const quantMode = fc.record({ mode: fc.constantFrom<Reader>('sign', 'sign0', 'bits'), bits: int(1, 4) });

const chainArb: fc.Arbitrary<ChainCase> = fc.record({
  n: int(1, 2),
  c: int(1, 4),
  hw: int(4, 8),
  o1: int(1, 6),
  o2: int(1, 3),
  k1: int(1, 3),
  k2: int(1, 3),
  activations: quantMode,
  weights: fc.record({ mode: fc.constantFrom('binary', 'ternary', 'bits'), bits: int(1, 3) }),
  pool: fc.constantFrom('none', '2x2', '3x3/2'),
  clip: fc.boolean(),
  reader: quantMode,
  negativeScale: fc.boolean(),
  seed: seedArb,
});

/** Weights on the grid of `mode`: ±1, {−1, 0, 1} or 2q/Lw − 1. */
function gridWeights(shape: readonly number[], mode: ChainCase['weights'], seed: number): Tensor {
  const lw = quantLevels(mode.bits);
  const u = uniform(
    shape.reduce((a, b) => a * b, 1),
    seed,
    0,
    1,
  );
  const pick = (v: number) =>
    mode.mode === 'binary'
      ? v < 0.5
        ? -1
        : 1
      : mode.mode === 'ternary'
        ? Math.floor(v * 3) - 1
        : Math.fround((2 * Math.floor(v * (lw + 1))) / lw - 1);
  return float32(shape, Float32Array.from(u, pick));
}

const quantAttrs = (
  prefix: 'activation' | 'weight' | 'output',
  key: string,
  m: { mode: string; bits: number },
) => ({
  [key]: m.mode,
  ...(m.mode === 'bits' ? { [`${prefix}_bits`]: m.bits } : {}),
});

/** QuantConv(float) → [MaxPool] → BatchNormalization → [Clip] → QuantConv(reader): the graph and its values. */
function chain(t: ChainCase): { g: Graph; end: string; shift: Float32Array } {
  const init = new Map<string, Tensor>();
  const s = t.seed;
  init.set('w1', gridWeights([t.o1, t.c, t.k1, t.k1], t.weights, s));
  init.set('s1', randomTensor([t.o1], s + 1, t.negativeScale ? -0.5 : 0.05, 0.5));
  init.set('b1', randomTensor([t.o1], s + 2, -2, 2));
  // γ: about a quarter zero, the rest of either sign
  const gamma = Float32Array.from(uniform(t.o1, s + 3, -2, 2), (v) => (Math.abs(v) < 0.5 ? 0 : v));
  init.set('gamma', float32([t.o1], gamma));
  init.set('beta', randomTensor([t.o1], s + 4, -1, 1));
  init.set('mean', randomTensor([t.o1], s + 5, -1, 1));
  init.set('var', randomTensor([t.o1], s + 6, 0.1, 2));
  const bitsReader = t.reader.mode === 'bits';
  init.set('lo', float32([], Float32Array.of(bitsReader ? 0 : -1)));
  init.set('hi', float32([], Float32Array.of(1)));
  init.set('w2', gridWeights([t.o2, t.o1, t.k2, t.k2], { mode: 'ternary', bits: 1 }, s + 7));
  init.set('s2', randomTensor([t.o2], s + 8));
  init.set('b2', randomTensor([t.o2], s + 9));
  const conv = (k: number) => ({
    kernel_shape: [k, k],
    strides: [1, 1],
    pads: [1, 1, 1, 1],
    dilations: [1, 1],
  });
  const nodes: GraphNode[] = [];
  const add = (op: string, inputs: string[], output: string, attrs: Record<string, AttributeValue> = {}) => {
    nodes.push({ op, name: output, inputs, outputs: [output], attrs });
    return output;
  };
  let v = add('QuantConv', ['x', 'w1', 's1', 'b1'], 'y1', {
    ...conv(t.k1),
    ...quantAttrs('activation', 'activations', t.activations),
    ...quantAttrs('weight', 'weights', t.weights),
    output: 'float',
  });
  if (t.pool !== 'none') {
    const [k, stride] = t.pool === '2x2' ? [2, 1] : [3, 2];
    v = add('MaxPool', [v], 'pooled', { kernel_shape: [k, k], strides: [stride, stride] });
  }
  v = add('BatchNormalization', [v, 'gamma', 'beta', 'mean', 'var'], 'bn', { epsilon: 1e-5 });
  if (t.clip) v = add('Clip', [v, 'lo', 'hi'], 'clipped');
  add('QuantConv', [v, 'w2', 's2', 'b2'], 'y', {
    ...conv(t.k2),
    ...quantAttrs('activation', 'activations', t.reader),
    weights: 'ternary',
    output: 'float',
  });
  const g: Graph = {
    nodes,
    initializers: init,
    inputs: [{ name: 'x', shape: [t.n, t.c, t.hw, t.hw], dtype: 'float32' }],
    outputs: ['y'],
    opset: 13,
  };
  // per channel, the BN value at acc = 0: the scale of the float error in the folded comparison
  const scale = gamma.map((gm, ch) => gm / Math.sqrt(init.get('var')!.data[ch]! + 1e-5));
  const shift = scale.map(
    (sc, ch) =>
      init.get('b1')!.data[ch]! * sc + init.get('beta')!.data[ch]! - init.get('mean')!.data[ch]! * sc,
  );
  return { g, end: v, shift };
}

/** The value the reader's quantizer reads back for BN value v: ±1 (sign0: 0 at 0) or code/L. */
function quantized(v: number, r: ChainCase['reader']): number {
  if (r.mode === 'bits') return Math.fround(bitsCode(v, r.bits) / quantLevels(r.bits));
  return v < 0 ? -1 : r.mode === 'sign0' && v === 0 ? 0 : 1;
}

/** Distance from v to the nearest step of the reader's quantizer. */
function boundaryDistance(v: number, r: ChainCase['reader']): number {
  if (r.mode !== 'bits') return Math.abs(v);
  const l = quantLevels(r.bits);
  return Math.min(...Array.from({ length: l }, (_, j) => Math.abs(v - (j + 0.5) / l)));
}

describe('foldQuantThresholds: batch norm + quantizer into integer thresholds', () => {
  it('QuantConv(float) → [MaxPool] → BN → [Clip] → QuantConv(sign | sign0 | bits) gives the unfolded codes', () => {
    fc.assert(
      fc.property(chainArb, (t) => {
        const { g, end, shift } = chain(t);
        const folded = foldQuantThresholds(g);
        if (t.pool !== 'none' && g.initializers.get('gamma')!.data.some((v) => v < 0)) {
          // a BN of negative scale after the max would need the min of the codes
          expect(folded.nodes).toEqual(g.nodes);
          return;
        }
        const pool = t.pool === 'none' ? [] : ['MaxPool'];
        expect(ops(folded)).toEqual(['QuantConv', ...pool, 'QuantConv']);
        const [first, reader] = [folded.nodes[0]!, folded.nodes.at(-1)!];
        expect(first.attrs.output).toBe(t.reader.mode === 'bits' ? 'bits' : 'sign');
        if (t.reader.mode === 'bits') expect(first.attrs.output_bits).toBe(t.reader.bits);
        expect(reader.attrs.activations).toBe(t.reader.mode === 'bits' ? 'bits' : 'sign');
        expect(folded.nodes.at(-2)!.outputs).toEqual([end]);

        const x = { x: randomTensor([t.n, t.c, t.hw, t.hw], t.seed + 10, -1.5, 1.5) };
        const want = runCpu({ ...g, outputs: ['y', end] }, x);
        const got = runCpu({ ...folded, outputs: ['y', end] }, x);
        const v = want[end]!;
        const plane = v.data.length / (t.n * t.o1);
        let mismatches = 0;
        for (let e = 0; e < v.data.length; e++) {
          if (got[end]!.data[e] === quantized(v.data[e]!, t.reader)) continue;
          mismatches++;
          const ch = Math.floor(e / plane) % t.o1;
          expect(boundaryDistance(v.data[e]!, t.reader)).toBeLessThanOrEqual(
            1e-4 * (Math.abs(shift[ch]!) + 1),
          );
        }
        expect(mismatches).toBeLessThanOrEqual(0.01 * v.data.length);
        if (mismatches === 0) expect(Array.from(got.y!.data)).toEqual(Array.from(want.y!.data));
      }),
      { ...RUNS, numRuns: 60 },
    );
  });

  it('the thresholds reproduce the float decision at every accumulator, values exactly on a step included', () => {
    // one tap of weight 1 on a 3-bit input, acc = 0..7, y = acc·f32(1/6) and an identity BN: acc = 1, 3
    // and 5 land exactly on the 2-bit reader's steps ½/3, 1.5/3 and 2.5/3
    const t: ChainCase = {
      n: 1,
      c: 1,
      hw: 8,
      o1: 1,
      o2: 1,
      k1: 1,
      k2: 1,
      activations: { mode: 'bits', bits: 3 },
      weights: { mode: 'binary', bits: 1 },
      pool: 'none',
      clip: false,
      reader: { mode: 'bits', bits: 2 },
      negativeScale: false,
      seed: 1,
    };
    const chained = chain(t);
    const { end } = chained;
    const g: Graph = {
      ...chained.g,
      nodes: chained.g.nodes.map((n) =>
        n.op === 'BatchNormalization' ? { ...n, attrs: { epsilon: 0 } } : n,
      ),
    };
    const one = (v: number) => float32([1], Float32Array.of(v));
    for (const [name, v] of [
      ['s1', 1 / 6],
      ['b1', 0],
      ['gamma', 1],
      ['beta', 0],
      ['mean', 0],
      ['var', 1],
    ] as const)
      g.initializers.set(name, one(v));
    g.initializers.set('w1', float32([1, 1, 1, 1], Float32Array.of(1)));
    const x = {
      x: float32(
        [1, 1, 8, 8],
        Float32Array.from({ length: 64 }, (_, i) => (i % 8) / 7),
      ),
    };
    const folded = foldQuantThresholds(g);
    expect(folded.nodes[0]!.attrs.output).toBe('bits');
    const want = runCpu({ ...g, outputs: [end] }, x)[end]!;
    const got = runCpu({ ...folded, outputs: [end] }, x)[end]!;
    expect(Array.from(got.data)).toEqual(Array.from(want.data, (v) => quantized(v, t.reader)));
  });

  it('a BN after a float QuantConv with no quantizer after it goes into S and B', () => {
    fc.assert(
      fc.property(chainArb, (t) => {
        const { g } = chain({ ...t, pool: 'none', clip: false });
        const plain: Graph = { ...g, nodes: g.nodes.slice(0, 2), outputs: ['bn'] };
        const folded = foldQuantThresholds(plain);
        expect(ops(folded)).toEqual(['QuantConv']);
        expect(folded.nodes[0]!.attrs.output).toBe('float');
        const x = { x: randomTensor([t.n, t.c, t.hw, t.hw], t.seed + 10, -1.5, 1.5) };
        expectClose(runCpu(folded, x).bn, runCpu(plain, x).bn, 1e-5);
      }),
      RUNS,
    );
  });

  it('a sign0 reader that the BN value can reach exactly at 0 keeps its BN (folded into S and B instead)', () => {
    const t = fc.sample(chainArb, { seed: 5, numRuns: 1 })[0]!;
    const { g } = chain({ ...t, pool: 'none', clip: false, reader: { mode: 'sign0', bits: 1 } });
    // γ = 0 and β = 0: the value is 0 in channel 0 whatever the accumulator
    const gamma = g.initializers.get('gamma')!.data.slice() as Float32Array;
    const beta = g.initializers.get('beta')!.data.slice() as Float32Array;
    gamma[0] = 0;
    beta[0] = 0;
    g.initializers.set('gamma', float32([t.o1], gamma));
    g.initializers.set('beta', float32([t.o1], beta));
    const folded = foldQuantThresholds(g);
    expect(ops(folded)).toEqual(['QuantConv', 'QuantConv']);
    expect(folded.nodes[0]!.attrs.output).toBe('float');
    expect(folded.nodes[1]!.attrs.activations).toBe('sign0');
    const x = { x: randomTensor([t.n, t.c, t.hw, t.hw], t.seed, -1.5, 1.5) };
    expectClose(runCpu(folded, x).y, runCpu(g, x).y, 1e-5);
  });

  it('optimize leaves a float first layer (Conv → MaxPool → BN with its Clip fused → QuantConv(sign)) computing the same', () => {
    const t = fc.sample(chainArb, { seed: 9, numRuns: 1 })[0]!;
    const { g } = chain({ ...t, pool: '2x2', clip: true, reader: { mode: 'sign', bits: 1 } });
    const first = g.nodes[0]!;
    g.initializers.set('w1', randomTensor(g.initializers.get('w1')!.shape, t.seed));
    g.initializers.set('cb', randomTensor([t.o1], t.seed + 1));
    const conv: GraphNode = {
      ...first,
      op: 'Conv',
      inputs: ['x', 'w1', 'cb'],
      attrs: { pads: [1, 1, 1, 1] },
    };
    const net: Graph = { ...g, nodes: [conv, ...g.nodes.slice(1)] };
    const optimized = optimize(net);
    expect(ops(optimized)).toEqual(['Conv', 'MaxPool', 'BatchNormalization', 'QuantConv']);
    expect(optimized.nodes[2]!.attrs.activation).toBe('htanh');
    const x = { x: randomTensor([t.n, t.c, t.hw, t.hw], t.seed + 2, -1.5, 1.5) };
    expect(Array.from(runCpu(optimized, x).y!.data)).toEqual(Array.from(runCpu(net, x).y!.data));
  });

  it('an imported BNN (Sign → Conv → BN → Hardtanh → Sign → Conv) optimizes to thresholded QuantConvs and matches ONNX Runtime', async () => {
    const [c, o1, o2, seed] = [3, 5, 4, 17];
    const bn = (name: string, values: number[]) => initializer(name, value('float32', [o1], values));
    const bytes = opModel({
      opset: 13,
      inputs: [
        input('x', 'float32', [2, c, 6, 6]),
        initializer('w1', value('float32', [o1, c, 3, 3], signedFilters(o1, c * 9, seed, false).scaled)),
        initializer('w2', value('float32', [o2, o1, 3, 3], signedFilters(o2, o1 * 9, seed + 1, true).scaled)),
        bn('gamma', uniform(o1, seed + 2, 0.2, 2)),
        bn('beta', uniform(o1, seed + 3)),
        bn('mean', uniform(o1, seed + 4)),
        bn('var', uniform(o1, seed + 5, 0.2, 2)),
        initializer('lo', value('float32', [], [-1])),
        initializer('hi', value('float32', [], [1])),
      ],
      outputs: ['y'],
      nodes: [
        { op: 'Sign', inputs: ['x'], outputs: ['s1'] },
        { op: 'Conv', inputs: ['s1', 'w1'], outputs: ['c1'], attrs: { pads: [1, 1, 1, 1] } },
        { op: 'MaxPool', inputs: ['c1'], outputs: ['p1'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
        { op: 'BatchNormalization', inputs: ['p1', 'gamma', 'beta', 'mean', 'var'], outputs: ['b1'] },
        { op: 'Clip', inputs: ['b1', 'lo', 'hi'], outputs: ['h1'] },
        { op: 'Sign', inputs: ['h1'], outputs: ['s2'] },
        { op: 'Conv', inputs: ['s2', 'w2'], outputs: ['y'], attrs: { pads: [1, 1, 1, 1] } },
      ],
    });
    const g = await expectImportMatchesOrt(bytes, withZeros([2, c, 6, 6], seed + 6));
    // the max pool of the first layer's signs is that layer's own (fuseQuantConvPool)
    expect(ops(g)).toEqual(['QuantConv', 'QuantConv']);
    expect(g.nodes[0]!.attrs).toMatchObject({
      activations: 'sign0',
      output: 'sign',
      pool_kernel_shape: [2, 2],
      pool_strides: [2, 2],
    });
    expect(g.nodes[1]!.attrs).toMatchObject({ activations: 'sign', weights: 'ternary', output: 'float' });
  });
});

describe('fuseQuantEpilogues: a Bi-Real block in one QuantConv', () => {
  it('the Bi-Real ResNet-18 loses every Add and pack between binary layers and computes the same, bit for bit', () => {
    // optimize() without its Bi-Real block fusion: the unfused reference
    const built = ZOO['bireal-resnet-18']!.build({ seed: 5, size: 32 });
    const quantized = foldQuantThresholds(binarizeSignConvs(foldConstants(removeIdentities(built))));
    const g = removeUnused(fuseActivations(foldBatchNorm(quantized)));
    const fused = fuseQuantEpilogues(g);
    expect(ops(g).filter((o) => o === 'Add')).toHaveLength(16);
    // (optimize() also fuses each shortcut's average pool into its 1×1 conv)
    expect(ops(optimize(built))).toEqual(ops(removeUnused(fusePoolConvs(fused))));
    expect(ops(fused)).not.toContain('Add');
    const convs = fused.nodes.filter((n) => n.op === 'QuantConv');
    expect(convs.map((n) => n.inputs.length)).toEqual(Array(16).fill(5));
    // every block output but the last feeds a binary conv, which reads the sign output
    expect(convs.map((n) => n.outputs.length)).toEqual([...Array(15).fill(2), 1]);
    for (const n of convs.slice(1)) expect(n.inputs[0]).toMatch(/::sign$/);
    const x = randomTensor(g.inputs[0]!.shape, 6, -2, 2);
    const want = runCpu(g, { input: x });
    const got = runCpu(fused, { input: x });
    for (const o of g.outputs) expect(Array.from(got[o]!.data)).toEqual(Array.from(want[o]!.data));
  });

  it('fuses an Add on either side, with R computed after the conv; leaves broadcasts, shared Y and sign0 readers', () => {
    fc.assert(
      fc.property(
        fc.record({
          c: int(1, 40),
          o: int(1, 40),
          hw: int(2, 5),
          yFirst: fc.boolean(),
          broadcast: fc.boolean(),
          shared: fc.boolean(),
          reader: fc.constantFrom('sign', 'sign0'),
          seed: seedArb,
        }),
        ({ c, o, hw, yFirst, broadcast, shared, reader, seed }) => {
          const init = new Map<string, Tensor>([
            ['w1', float32([o, c, 3, 3], Float32Array.from(uniform(o * c * 9, seed), Math.sign))],
            ['s1', randomTensor([o], seed + 1, 0.05, 0.5)],
            ['b1', randomTensor([o], seed + 2, -1, 1)],
            ['w2', float32([3, o, 1, 1], Float32Array.from(uniform(3 * o, seed + 3), Math.sign))],
            ['s2', randomTensor([3], seed + 4)],
            ['b2', randomTensor([3], seed + 5)],
          ]);
          const qc = (
            x: string,
            w: string,
            s: string,
            b: string,
            y: string,
            activations: string,
            k: number,
          ) => ({
            op: 'QuantConv',
            name: y,
            inputs: [x, w, s, b],
            outputs: [y],
            attrs: {
              kernel_shape: [k, k],
              pads: k === 3 ? [1, 1, 1, 1] : [0, 0, 0, 0],
              activations,
              weights: 'binary',
              output: 'float',
            },
          });
          const nodes: GraphNode[] = [
            qc('x', 'w1', 's1', 'b1', 'y1', 'sign', 3),
            // the residual, computed after the conv: a broadcast one has one channel
            broadcast
              ? {
                  op: 'ReduceMax',
                  name: 'r',
                  inputs: ['shortcut'],
                  outputs: ['r'],
                  attrs: { axes: [1], keepdims: 1 },
                }
              : { op: 'Relu', name: 'r', inputs: ['shortcut'], outputs: ['r'], attrs: {} },
            {
              op: 'Add',
              name: 'sum',
              inputs: yFirst ? ['y1', 'r'] : ['r', 'y1'],
              outputs: ['sum'],
              attrs: {},
            },
            qc('sum', 'w2', 's2', 'b2', 'y2', reader, 1),
          ];
          const outputs = ['y2', ...(shared ? ['y1'] : [])];
          const g: Graph = {
            nodes,
            initializers: init,
            inputs: [
              { name: 'x', shape: [1, c, hw, hw], dtype: 'float32' },
              { name: 'shortcut', shape: [1, o, hw, hw], dtype: 'float32' },
            ],
            outputs,
            opset: 13,
          };
          const fused = fuseQuantEpilogues(g);
          const residual = !broadcast && !shared;
          expect(ops(fused).includes('Add')).toBe(!residual);
          const first = fused.nodes.find((n) => n.name === 'y1')!;
          expect(first.outputs.length).toBe(reader === 'sign' && residual ? 2 : 1);
          const feeds = {
            x: randomTensor([1, c, hw, hw], seed + 6, -2, 2),
            shortcut: randomTensor([1, o, hw, hw], seed + 7, -2, 2),
          };
          const want = runCpu(g, feeds);
          const got = runCpu(fused, feeds);
          for (const v of outputs) expect(Array.from(got[v]!.data)).toEqual(Array.from(want[v]!.data));
        },
      ),
      RUNS,
    );
  });
});
