import { type Gpu, requestDevice } from '@zeroskip/gpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuseConvPoolSign } from './conv-pool-sign-fusion.js';
import { runCpu } from './cpu-session.js';
import { RuntimeError } from './errors.js';
import type { Graph, GraphNode } from './graph.js';
import { importOnnx } from './onnx.js';
import { exportOnnx } from './onnx-export.js';
import { optimize } from './passes.js';
import { float32, type Tensor } from './tensor.js';
import { runOnGpu } from './testing/executors.js';
import { uniform } from './testing/random.js';
import { bnBinaryConv } from './testing/sign-layers.js';
import { decodeZsk, encodeZsk } from './zsk.js';

// A binary network's float first layer, Conv → MaxPool → BN → binary QuantConv, fuses into
// ConvPoolSign → QuantConv: the fused graph must give the unfused graph's outputs exactly, on the CPU
// executor and on the GPU (one dispatch writing packed signs), for every conv and pool geometry.

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

interface FirstLayer {
  readonly n: number;
  readonly c: number;
  readonly hw: number;
  readonly o: number;
  readonly k: number;
  readonly stride: number;
  readonly pad: number;
  readonly dilation: number;
  readonly relu: boolean;
  readonly pool: { k: number; stride: number; pad: number; ceil: boolean };
}

/** Seeded small integers in [lo, hi] as float32: every sum is exact, in any order. */
const ints = (shape: number[], seed: number, lo: number, hi: number): Tensor =>
  float32(
    shape,
    Float32Array.from(
      uniform(
        shape.reduce((a, b) => a * b, 1),
        seed,
        lo,
        hi + 1,
      ),
      Math.floor,
    ),
  );

/**
 * x → Conv (→ Relu) → MaxPool → BN → QuantConv(sign, binary, float). The conv's integer outputs are
 * never on a BN's boundary, so the codes do not depend on how the BN is folded or rounded.
 */
function firstLayerNet(f: FirstLayer, seed: number): Graph {
  const tail = bnBinaryConv('p', f.o, 3, seed + 10, 5);
  const nodes: GraphNode[] = [
    {
      op: 'Conv',
      name: 'conv',
      inputs: ['x', 'w', 'b'],
      outputs: [f.relu ? 'c0' : 'c'],
      attrs: {
        kernel_shape: [f.k, f.k],
        strides: [f.stride, f.stride],
        pads: [f.pad, f.pad, f.pad, f.pad],
        dilations: [f.dilation, f.dilation],
      },
    },
    ...(f.relu ? [{ op: 'Relu', name: 'relu', inputs: ['c0'], outputs: ['c'], attrs: {} }] : []),
    {
      op: 'MaxPool',
      name: 'pool',
      inputs: ['c'],
      outputs: ['p'],
      attrs: {
        kernel_shape: [f.pool.k, f.pool.k],
        strides: [f.pool.stride, f.pool.stride],
        pads: [f.pool.pad, f.pool.pad, f.pool.pad, f.pool.pad],
        ceil_mode: f.pool.ceil ? 1 : 0,
      },
    },
    ...tail.nodes,
  ];
  return {
    opset: 13,
    inputs: [{ name: 'x', dtype: 'float32', shape: [f.n, f.c, f.hw, f.hw] }],
    outputs: ['y'],
    initializers: new Map<string, Tensor>([
      ['w', ints([f.o, f.c, f.k, f.k], seed + 1, -2, 2)],
      ['b', ints([f.o], seed + 2, -3, 3)],
      ...tail.initializers,
    ]),
    nodes,
  };
}

/** A seeded first layer: any stride, padding, dilation, pool window and ceil mode; 1–2 sign words. */
function randomFirstLayer(seed: number): FirstLayer {
  const [a, b, c, d, e, f, g, h, i] = uniform(9, seed, 0, 1);
  const k = 1 + Math.floor(a! * 5);
  const dilation = 1 + Math.floor(b! * 2);
  const poolK = 1 + Math.floor(c! * 3);
  return {
    n: 1 + Math.floor(d! * 3),
    c: 1 + Math.floor(e! * 3),
    hw: (k - 1) * dilation + poolK + 3 + Math.floor(f! * 6),
    o: [5, 32, 40][Math.floor(g! * 3)]!,
    k,
    stride: 1 + Math.floor(h! * 2),
    pad: Math.floor(i! * k),
    dilation,
    relu: a! > 0.5,
    pool: { k: poolK, stride: 1 + Math.floor(c! * 2), pad: Math.floor((poolK - 1) / 2), ceil: b! > 0.5 },
  };
}

const input = (f: FirstLayer, seed: number) => ({ x: ints([f.n, f.c, f.hw, f.hw], seed, -3, 3) });

describe('fuseConvPoolSign: Conv → MaxPool → sign as one ConvPoolSign', () => {
  it('gives the unfused outputs on the CPU executor and on the GPU, for randomized geometries', async () => {
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const f = randomFirstLayer(seed * 7919);
      const g = firstLayerNet(f, seed);
      const fused = optimize(g);
      expect(fused.nodes.map((n) => n.op)).toEqual(['ConvPoolSign', 'QuantConv']);
      const x = input(f, seed + 100);
      const want = Array.from(runCpu(g, x).y!.data);
      expect(Array.from(runCpu(fused, x).y!.data), JSON.stringify(f)).toEqual(want);
      const run = await runOnGpu(gpu, fused, x);
      expect(run.kernels).toEqual(['conv-pool-sign', 'quant-conv-sign-binary']);
      expect(run.outputs.y, JSON.stringify(f)).toEqual(want);
    }
  }, 120_000);

  it('keeps each value on a sign boundary on the side the batch norm puts it', async () => {
    // an identity 1×1 conv and a 1×1 pool pass x through, so the sign map sees the boundary values
    const f: FirstLayer = {
      ...randomFirstLayer(1),
      c: 9,
      o: 9,
      k: 1,
      stride: 1,
      pad: 0,
      dilation: 1,
      relu: false,
      pool: { k: 1, stride: 1, pad: 0, ceil: false },
    };
    const g0 = firstLayerNet(f, 31);
    const eye = float32(
      [9, 9, 1, 1],
      Float32Array.from({ length: 81 }, (_, i) => (i % 10 === 0 ? 1 : 0)),
    );
    const g = {
      ...g0,
      initializers: new Map([...g0.initializers, ['w', eye], ['b', float32([9], new Float32Array(9))]]),
    };
    const fused = optimize(g);
    const { sign_scale: d, sign_shift: e } = fused.nodes[0]!.attrs as Record<string, number[]>;
    const plane = f.hw * f.hw;
    const around = (t: number) => [
      t,
      Math.fround(t * (1 + 2 ** -23)),
      Math.fround(t * (1 - 2 ** -23)),
      0,
      -0,
    ];
    const x = {
      x: float32(
        [f.n, 9, f.hw, f.hw],
        Float32Array.from({ length: f.n * 9 * plane }, (_, i) => {
          const [c, p] = [Math.floor(i / plane) % 9, i % plane];
          const near = around(d![c] === 0 ? 1 : -e![c]! * d![c]!);
          return near[p] ?? Math.fround(Math.sin(i));
        }),
      ),
    };
    const want = Array.from(runCpu(g, x).y!.data);
    expect(Array.from(runCpu(fused, x).y!.data)).toEqual(want);
    expect((await runOnGpu(gpu, fused, x)).outputs.y).toEqual(want);
  }, 60_000);

  it('fuses for readers that share a sign map, and leaves the layers apart where anything else reads between them', () => {
    const f = { ...randomFirstLayer(3), relu: false };
    const g = firstLayerNet(f, 3);
    const ops = (h: Graph) => optimize(h).nodes.map((n) => n.op);
    const qc = g.nodes.find((n) => n.op === 'QuantConv')!;
    const second = (x: string): Graph => ({
      ...g,
      outputs: ['y', 'y2'],
      nodes: [...g.nodes, { ...qc, name: 'qc2', inputs: [x, ...qc.inputs.slice(1)], outputs: ['y2'] }],
    });
    // two binary layers behind the same batch norm
    const shared = second('z');
    expect(ops(shared)).toEqual(['ConvPoolSign', 'QuantConv', 'QuantConv']);
    const x = input(f, 4);
    expect(runCpu(optimize(shared), x)).toEqual(runCpu(shared, x));
    // one behind the batch norm, one reading the pool as it is: two sign maps
    expect(ops(second('p'))).toContain('MaxPool');
    // the pool's output is also a binary layer's float residual (a Bi-Real block's input)
    const residual = { ...qc, inputs: ['p', ...qc.inputs.slice(1), 'p'] };
    expect(
      fuseConvPoolSign({ ...g, nodes: [g.nodes[0]!, g.nodes[1]!, residual] }).nodes.map((n) => n.op),
    ).toContain('MaxPool');
    // the pool's or the conv's output is also a model output
    expect(ops({ ...g, outputs: ['y', 'p'] })).toContain('MaxPool');
    expect(ops({ ...g, outputs: ['y', 'c'] })).toContain('Conv');
  });

  it('goes through ONNX export and .zsk as the same op', () => {
    const f = randomFirstLayer(5);
    const fused = optimize(firstLayerNet(f, 5));
    const x = input(f, 9);
    const want = Array.from(runCpu(fused, x).y!.data);
    for (const back of [importOnnx(exportOnnx(fused)), decodeZsk(encodeZsk(fused)).graph]) {
      expect(back.nodes.map((n) => n.op)).toEqual(['ConvPoolSign', 'QuantConv']);
      expect(Array.from(runCpu(back, x).y!.data)).toEqual(want);
    }
  });

  it('refuses a sign map that is not one −1, 0 or +1 scale and one shift per channel', () => {
    const f = randomFirstLayer(2);
    const fused = optimize(firstLayerNet(f, 2));
    const node = fused.nodes[0]!;
    const scale = node.attrs.sign_scale as number[];
    for (const attrs of [
      { ...node.attrs, sign_scale: scale.map((d, i) => (i === 0 ? 2 : d)) },
      { ...node.attrs, sign_shift: [0] },
    ]) {
      const bad = { ...fused, nodes: [{ ...node, attrs }, fused.nodes[1]!] };
      expect(() => runCpu(bad, input(f, 3))).toThrow(RuntimeError);
      expect(() => runCpu(bad, input(f, 3))).toThrow(
        /ConvPoolSign node 'conv' needs sign_scale and sign_shift/,
      );
    }
  });
});
