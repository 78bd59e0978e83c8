import { type Gpu, requestDevice } from '@zeroskip/gpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCpu } from './cpu-session.js';
import { RuntimeError } from './errors.js';
import type { Graph, GraphNode } from './graph.js';
import { importOnnx } from './onnx.js';
import { exportOnnx } from './onnx-export.js';
import { optimize } from './passes.js';
import { fuseQuantConvPool } from './quant-conv-pool-fusion.js';
import { float32, type Tensor } from './tensor.js';
import { runOnGpu } from './testing/executors.js';
import { uniform } from './testing/random.js';
import { decodeZsk, encodeZsk } from './zsk.js';

// QuantConv (sign or 2-bit codes) → MaxPool → QuantConv fuses into a QuantConv that pools its own
// codes: the fused graph must give the unfused graph's outputs exactly, on the CPU executor and on
// the GPU, where the pool runs inside the conv's dispatch and the next layer reads the packed codes.

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

interface PooledLayer {
  readonly n: number;
  readonly c: number;
  readonly hw: number;
  readonly o: number;
  readonly k: number;
  readonly stride: number;
  readonly pad: number;
  readonly bits: boolean;
  readonly pool: { k: number; stride: number; pad: number; dilation: number; ceil: boolean };
}

/** A seeded layer: any conv stride and padding, pool window, stride, padding, dilation and ceil mode. */
function randomLayer(seed: number): PooledLayer {
  const [a, b, c, d, e, f, g, h, i] = uniform(9, seed, 0, 1);
  const k = 1 + Math.floor(a! * 3);
  const poolK = 1 + Math.floor(c! * 3);
  const dilation = 1 + Math.floor(i! * 2);
  return {
    n: 1 + Math.floor(d! * 3),
    c: [3, 32, 40][Math.floor(e! * 3)]!,
    hw: k + dilation * (poolK - 1) + 2 + Math.floor(f! * 6),
    o: [5, 32, 40][Math.floor(g! * 3)]!,
    k,
    stride: 1 + Math.floor(h! * 2),
    pad: Math.floor(b! * k),
    bits: a! > 0.5,
    pool: { k: poolK, stride: 1 + Math.floor(c! * 2), pad: Math.floor(poolK / 2), dilation, ceil: b! > 0.5 },
  };
}

/** Integer thresholds around the accumulators' spread (±k·√K), each row nondecreasing. */
function thresholds(o: number, levels: number, spread: number, seed: number): Tensor {
  const t = uniform(o * levels, seed, -spread, spread).map(Math.round);
  for (let r = 0; r < o; r++)
    t.splice(r * levels, levels, ...t.slice(r * levels, (r + 1) * levels).sort((x, y) => x - y));
  return float32([o, levels], Float32Array.from(t));
}

const pm1 = (shape: number[], seed: number) =>
  float32(
    shape,
    Float32Array.from(
      uniform(
        shape.reduce((x, y) => x * y),
        seed,
      ),
      (v) => (v < 0 ? -1 : 1),
    ),
  );

/**
 * x → QuantConv(sign × binary → sign or 2-bit codes) 'a' → MaxPool 'p' → QuantConv(codes × binary →
 * sign) 'y', the last 3×3 with pad 1: every output is a code, so CPU and GPU agree exactly.
 */
function pooledNet(f: PooledLayer, seed: number): Graph {
  const codes = f.bits ? { output: 'bits', output_bits: 2 } : { output: 'sign' };
  const levels = f.bits ? 3 : 1;
  const nodes: GraphNode[] = [
    {
      op: 'QuantConv',
      name: 'qa',
      inputs: ['x', 'wa', 'ta'],
      outputs: ['a'],
      attrs: {
        kernel_shape: [f.k, f.k],
        strides: [f.stride, f.stride],
        pads: [f.pad, f.pad, f.pad, f.pad],
        activations: 'sign',
        weights: 'binary',
        ...codes,
      },
    },
    {
      op: 'MaxPool',
      name: 'pool',
      inputs: ['a'],
      outputs: ['p'],
      attrs: {
        kernel_shape: [f.pool.k, f.pool.k],
        strides: [f.pool.stride, f.pool.stride],
        pads: [f.pool.pad, f.pool.pad, f.pool.pad, f.pool.pad],
        dilations: [f.pool.dilation, f.pool.dilation],
        ceil_mode: f.pool.ceil ? 1 : 0,
      },
    },
    {
      op: 'QuantConv',
      name: 'qb',
      inputs: ['p', 'wb', 'tb'],
      outputs: ['y'],
      attrs: {
        pads: [1, 1, 1, 1],
        activations: f.bits ? 'bits' : 'sign',
        ...(f.bits ? { activation_bits: 2 } : {}),
        weights: 'binary',
        output: 'sign',
      },
    },
  ];
  return {
    opset: 13,
    inputs: [{ name: 'x', dtype: 'float32', shape: [f.n, f.c, f.hw, f.hw] }],
    outputs: ['y'],
    initializers: new Map<string, Tensor>([
      ['wa', pm1([f.o, f.c, f.k, f.k], seed + 1)],
      ['ta', thresholds(f.o, levels, Math.sqrt(f.c * f.k * f.k), seed + 2)],
      ['wb', pm1([7, f.o, 3, 3], seed + 3)],
      ['tb', thresholds(7, 1, (f.bits ? 3 : 1) * Math.sqrt(f.o * 9), seed + 4)],
    ]),
    nodes,
  };
}

const input = (f: PooledLayer, seed: number) => ({ x: pm1([f.n, f.c, f.hw, f.hw], seed) });

const ops = (g: Graph) => g.nodes.map((n) => n.op);

describe('fuseQuantConvPool: a QuantConv that max pools its own codes', () => {
  it('gives the unfused outputs on the CPU executor and on the GPU, for randomized geometries, sign and 2-bit codes', async () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const f = randomLayer(seed * 7919);
      const g = pooledNet(f, seed);
      // the pooled codes also a model output: the GPU unpacks them for it
      for (const outputs of seed % 2 ? [['y'], ['y', 'p']] : [['y']]) {
        const h = { ...g, outputs };
        const fused = optimize(h);
        expect(ops(fused)).toEqual(['QuantConv', 'QuantConv']);
        const x = input(f, seed + 100);
        const want = runCpu(h, x);
        const cpu = runCpu(fused, x);
        for (const o of outputs)
          expect(Array.from(cpu[o]!.data), `${o} ${JSON.stringify(f)}`).toEqual(Array.from(want[o]!.data));
        const run = await runOnGpu(gpu, fused, x);
        expect(run.kernels).toEqual([
          'quant-conv-sign-binary-pool',
          `quant-conv-${f.bits ? 'bits' : 'sign'}-binary`,
        ]);
        for (const o of outputs)
          expect(run.outputs[o], `${o} ${JSON.stringify(f)}`).toEqual(Array.from(want[o]!.data));
      }
    }
  }, 300_000);

  it('leaves the pool apart where the codes are read elsewhere, are floats, or the pool gives indices', () => {
    const f = randomLayer(3);
    const g = pooledNet(f, 3);
    const [qa, pool, qb] = g.nodes as [GraphNode, GraphNode, GraphNode];
    // the unpooled codes are a model output, or a second layer's input
    expect(ops(fuseQuantConvPool({ ...g, outputs: ['y', 'a'] }))).toContain('MaxPool');
    expect(
      ops(
        fuseQuantConvPool({
          ...g,
          nodes: [...g.nodes, { ...qb, name: 'qc', inputs: ['a', 'wb', 'tb'], outputs: ['y2'] }],
          outputs: ['y', 'y2'],
        }),
      ),
    ).toContain('MaxPool');
    // a float output, and a pool with its Indices output
    const float = { ...qa, inputs: ['x', 'wa', 's', 'b'], attrs: { ...qa.attrs, output: 'float' } };
    expect(ops(fuseQuantConvPool({ ...g, nodes: [float, pool, qb] }))).toContain('MaxPool');
    expect(ops(fuseQuantConvPool({ ...g, nodes: [qa, { ...pool, outputs: ['p', 'i'] }, qb] }))).toContain(
      'MaxPool',
    );
  });

  it('goes through ONNX export and .zsk with its pool', () => {
    const f = randomLayer(5);
    const fused = optimize(pooledNet(f, 5));
    const x = input(f, 9);
    const want = Array.from(runCpu(fused, x).y!.data);
    for (const back of [importOnnx(exportOnnx(fused)), decodeZsk(encodeZsk(fused)).graph]) {
      expect(back.nodes[0]!.attrs).toEqual(fused.nodes[0]!.attrs);
      expect(Array.from(runCpu(back, x).y!.data)).toEqual(want);
    }
  });

  it('refuses pool_ attributes on a float output with a typed error', () => {
    const f = randomLayer(2);
    const fused = optimize(pooledNet(f, 2));
    const [qa, qb] = fused.nodes as [GraphNode, GraphNode];
    const o = (fused.initializers.get('wa') as Tensor).shape[0]!;
    const bad: Graph = {
      ...fused,
      initializers: new Map([
        ...fused.initializers,
        ['s', float32([o], new Float32Array(o).fill(1))],
        ['b', float32([o], new Float32Array(o))],
      ]),
      nodes: [{ ...qa, inputs: ['x', 'wa', 's', 'b'], attrs: { ...qa.attrs, output: 'float' } }, qb],
    };
    expect(() => runCpu(bad, input(f, 3))).toThrow(RuntimeError);
    expect(() => runCpu(bad, input(f, 3))).toThrow(
      /QuantConv node 'qa' has pool_ attributes with a "float" output/,
    );
  });
});
