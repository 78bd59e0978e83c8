import { type Gpu, requestDevice } from '@zeroskip/gpu';
import { seededRandom } from '@zeroskip/quant';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCpu } from '../cpu-session.js';
import type { Graph, GraphNode } from '../graph.js';
import { optimize } from '../passes.js';
import { fuseQuantEpilogues } from '../quant-passes.js';
import { float32, type Tensor } from '../tensor.js';
import { seedArb } from '../testing/arbitraries.js';
import { expectClose } from '../testing/onnx-graph.js';
import { randomTensor } from '../testing/random.js';
import { WebGpuSession } from '../webgpu-session.js';
import { ZOO } from '../zoo/models.js';

// The binary path of the WebGPU executor against the CPU executor: float pixels are packed once,
// QuantConvs with threshold outputs hand packed planes to max pools and to the next QuantConv, and only
// the last layer writes floats. Sign and k-bit values are discrete, so the outputs must be equal.

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

type Quant = { kind: 'sign' } | { kind: 'bits'; bits: number };

interface Chain {
  readonly n: number;
  readonly c: number;
  readonly size: number;
  readonly widths: readonly [number, number];
  readonly quant: Quant;
  readonly weightBits: number;
  readonly seed: number;
}

const attrs = (q: Quant, role: 'activation' | 'output') =>
  q.kind === 'sign' ? {} : { [`${role}_bits`]: q.bits };

/** pixels → QuantConv(→ packed) → MaxPool → QuantConv(→ packed) → QuantConv covering the whole map (→ float). */
function chain(p: Chain): Graph {
  const rand = seededRandom(p.seed);
  const initializers = new Map<string, Tensor>();
  const nodes: GraphNode[] = [];
  const weightMode =
    p.weightBits === 0 ? { weights: 'binary' } : { weights: 'bits', weight_bits: p.weightBits };
  const levels = p.weightBits === 0 ? 1 : 2 ** p.weightBits - 1;
  const activations = p.quant.kind === 'sign' ? 'sign' : 'bits';
  const outLevels = p.quant.kind === 'sign' ? 1 : 2 ** p.quant.bits - 1;
  let x = 'pixels';
  let c = p.c;
  let size = p.size;
  const layer = (out: number, k: number, pad: number, output: 'float' | 'quant') => {
    const name = `q${nodes.length}`;
    const w = Float32Array.from({ length: out * c * k * k }, () =>
      p.weightBits === 0 ? (rand() < 0.5 ? -1 : 1) : (2 * Math.floor(rand() * (levels + 1))) / levels - 1,
    );
    initializers.set(`${name}.w`, float32([out, c, k, k], w));
    const fan = c * k * k * (p.quant.kind === 'sign' ? 1 : 2 ** p.quant.bits - 1) * levels;
    const params =
      output === 'float'
        ? [
            [
              `${name}.s`,
              float32(
                [out],
                Float32Array.from({ length: out }, () => 0.1 + rand()),
              ),
            ],
            [
              `${name}.b`,
              float32(
                [out],
                Float32Array.from({ length: out }, () => rand() - 0.5),
              ),
            ],
          ]
        : [
            [
              `${name}.t`,
              float32(
                [out, outLevels],
                Float32Array.from({ length: out * outLevels }, (_, i) =>
                  // nondecreasing integer thresholds around 0, where accumulators fall often
                  Math.round((((i % outLevels) + rand()) / outLevels - 0.5) * Math.sqrt(fan)),
                ),
              ),
            ],
          ];
    for (const [n, t] of params) initializers.set(n as string, t as Tensor);
    nodes.push({
      op: 'QuantConv',
      name,
      inputs: [x, `${name}.w`, ...params.map(([n]) => n as string)],
      outputs: [`${name}.y`],
      attrs: {
        kernel_shape: [k, k],
        pads: [pad, pad, pad, pad],
        activations,
        ...attrs(p.quant, 'activation'),
        ...weightMode,
        output: output === 'float' ? 'float' : activations,
        ...(output === 'float' ? {} : attrs(p.quant, 'output')),
      },
    });
    x = `${name}.y`;
    c = out;
    size = size + 2 * pad - k + 1;
  };
  layer(p.widths[0], 3, 1, 'quant');
  nodes.push({
    op: 'MaxPool',
    name: 'pool',
    inputs: [x],
    outputs: ['pooled'],
    attrs: { kernel_shape: [2, 2], strides: [2, 2] },
  });
  x = 'pooled';
  size = Math.floor(size / 2);
  layer(p.widths[1], 3, 1, 'quant');
  layer(10, size, 0, 'float');
  return {
    nodes,
    initializers,
    inputs: [{ name: 'pixels', dtype: 'float32', shape: [p.n, p.c, p.size, p.size] }],
    outputs: [x],
    opset: 17,
  };
}

const chainArb = fc.record({
  n: fc.integer({ min: 1, max: 2 }),
  c: fc.integer({ min: 1, max: 3 }),
  size: fc.integer({ min: 4, max: 9 }),
  widths: fc.tuple(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 })),
  quant: fc.oneof(
    fc.constant<Quant>({ kind: 'sign' }),
    fc.integer({ min: 1, max: 3 }).map((bits): Quant => ({ kind: 'bits', bits })),
  ),
  weightBits: fc.constantFrom(0, 1, 2),
  seed: seedArb,
});

describe('the WebGPU executor runs QuantConv chains on packed bits', () => {
  it('equals the CPU executor, with every quantized value kept packed between layers', async () => {
    await fc.assert(
      fc.asyncProperty(chainArb, async (p) => {
        const g = chain(p);
        const rand = seededRandom(p.seed + 1);
        const shape = g.inputs[0]!.shape;
        const x = float32(
          shape,
          Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => 2 * rand() - 0.5),
        );
        const want = runCpu(g, { pixels: x })[g.outputs[0]!]!;
        const session = await WebGpuSession.create(g, { gpu });
        try {
          const kernels = session.planFor({ pixels: shape }).map((e) => e.kernel);
          const conv = `quant-conv-${p.quant.kind}-${p.weightBits === 0 ? 'binary' : 'bits'}`;
          expect(kernels).toEqual([conv, 'pool-max-bits', conv, conv]);
          const got = (await session.run({ pixels: x }))[g.outputs[0]!]!;
          expect(Array.from(got.data)).toEqual(Array.from(want.data));
        } finally {
          session.destroy();
        }
      }),
      { numRuns: 4, seed: 11 },
    );
  }, 300_000);

  it('unpacks a packed value for a reader that needs floats, and for a graph output', async () => {
    const g = chain({
      n: 1,
      c: 2,
      size: 6,
      widths: [33, 5],
      quant: { kind: 'sign' },
      weightBits: 0,
      seed: 3,
    });
    // read the first layer's packed output from a float op and as a graph output too
    g.nodes.push({ op: 'Relu', name: 'relu', inputs: ['q0.y'], outputs: ['relu.y'], attrs: {} });
    const graph: Graph = { ...g, outputs: [...g.outputs, 'q0.y', 'relu.y'] };
    const x = float32(
      [1, 2, 6, 6],
      Float32Array.from({ length: 72 }, (_, i) => Math.sin(i)),
    );
    const want = runCpu(graph, { pixels: x });
    const session = await WebGpuSession.create(graph, { gpu });
    try {
      const got = await session.run({ pixels: x });
      for (const name of graph.outputs)
        expect(Array.from(got[name]!.data)).toEqual(Array.from(want[name]!.data));
    } finally {
      session.destroy();
    }
  }, 300_000);
});

describe('Bi-Real blocks fused into their QuantConvs', () => {
  it('the fused Bi-Real ResNet-18 runs each block as one QuantConv, no Add, and matches the CPU executor', async () => {
    const g = fuseQuantEpilogues(optimize(ZOO['bireal-resnet-18']!.build({ seed: 8, size: 32 })));
    const x = randomTensor(g.inputs[0]!.shape, 9, -2, 2);
    const want = runCpu(g, { input: x });
    const session = await WebGpuSession.create(g, { gpu });
    try {
      const kernels = session.planFor({ input: x.shape }).map((e) => e.kernel);
      expect(kernels).not.toContain('binary-add');
      expect(kernels.filter((k) => k === 'quant-conv-sign-binary')).toHaveLength(16);
      const got = await session.run({ input: x });
      // the sign planes between blocks are the GPU's own y, so a sign can differ from the CPU's only
      // where y is within an f32 rounding of 0: none are on these seeded values
      for (const o of g.outputs) expectClose(got[o], want[o], 1e-3);
    } finally {
      session.destroy();
    }
  }, 300_000);
});
