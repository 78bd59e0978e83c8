import { readFileSync } from 'node:fs';
import { DENSE_KERNELS, type Gpu, requestDevice } from '@zeroskip/gpu';
import { pruneByRate } from '@zeroskip/quant';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCpu } from './cpu-session.js';
import type { Graph, GraphNode } from './graph.js';
import { readNpy } from './npy.js';
import { importOnnx } from './onnx.js';
import { optimize } from './passes.js';
import { float32, int64 } from './tensor.js';
import { WebGpuSession } from './webgpu-session.js';
import { ZOO } from './zoo/models.js';

const MODELS = new URL('../../../../shared/models/', import.meta.url);
const load = (f: string) => new Uint8Array(readFileSync(new URL(f, MODELS)));

function maxDiff(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}
const bound = (want: Float32Array) => 1e-4 * want.reduce((m, v) => Math.max(m, Math.abs(v)), 0) + 1e-5;

let gpu: Gpu | undefined;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

describe('WebGPU executor against ONNX Runtime outputs', () => {
  for (const name of ['lenet5', 'squeezenet1_1', 'mobilenet_v2']) {
    it(`${name} matches within 1e-4·max|y| + 1e-5 and runs every node on the GPU`, async () => {
      const graph = optimize(importOnnx(load(`${name}.onnx`)));
      const session = await WebGpuSession.create(graph, { gpu: gpu! });
      try {
        expect(session.plan.filter((p) => p.kernel === 'cpu')).toEqual([]);
        const want = readNpy(load(`${name}.output.npy`)).data as Float32Array;
        const out = await session.run({ input: readNpy(load(`${name}.input.npy`)) });
        expect(maxDiff(out.output!.data as Float32Array, want)).toBeLessThanOrEqual(bound(want));
      } finally {
        session.destroy();
      }
    });
  }
});

/** LeNet-5 with every conv and FC weight pruned to `sparsity` (a pruned model, for the sparse kernels). */
function prunedLenet(sparsity: number): Graph {
  const g = optimize(importOnnx(load('lenet5.onnx')));
  const initializers = new Map(g.initializers);
  for (const n of g.nodes) {
    if (n.op !== 'Conv' && n.op !== 'Gemm') continue;
    const w = initializers.get(n.inputs[1]!)!;
    initializers.set(n.inputs[1]!, float32(w.shape, pruneByRate(w.data as Float32Array, sparsity).weights));
  }
  return { ...g, initializers };
}

/** A node the GPU cannot run that keeps its input as it is: the lower triangle of each matrix, k past every column. */
const KEEP_ALL_ON_CPU: Omit<GraphNode, 'inputs' | 'outputs'> = {
  op: 'Trilu',
  name: 'keep0',
  attrs: { upper: 0 },
};
const KEEP_ALL_K = int64([], [1 << 20]);

describe('plans and sessions', () => {
  it('later runs replay the recorded first one: every input matches the CPU executor, with two sessions interleaved, two batch sizes, and after tune()', async () => {
    // the second holds GPU values across a CPU node (a Trilu that keeps every value) while the first replays
    const lenet = optimize(importOnnx(load('lenet5.onnx')));
    const mid = lenet.nodes[0]!.outputs[0]!;
    const pad: GraphNode = { ...KEEP_ALL_ON_CPU, inputs: [mid, 'k'], outputs: ['padded'] };
    const split: Graph = {
      ...lenet,
      initializers: new Map([...lenet.initializers, ['k', KEEP_ALL_K]]),
      nodes: [
        lenet.nodes[0]!,
        pad,
        ...lenet.nodes
          .slice(1)
          .map((n) => ({ ...n, inputs: n.inputs.map((i) => (i === mid ? 'padded' : i)) })),
      ],
    };
    // free batch dimensions, so that each session has a plan per batch size
    const graphs = [prunedLenet(0.9), split].map((g) => ({
      ...g,
      inputs: g.inputs.map((i) => ({ ...i, shape: [-1, ...i.shape.slice(1)] })),
    }));
    const sessions = await Promise.all(
      graphs.map((graph, k) => WebGpuSession.create(graph, { gpu: gpu!, plan: k === 0 ? 'auto' : 'dense' })),
    );
    let seed = 11;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const check = async (k: number, batch: number) => {
      const input = float32([batch, 1, 28, 28], Float32Array.from({ length: batch * 784 }, random));
      const run = sessions[k]!.run({ input });
      const want = runCpu(graphs[k]!, { input }).output!.data as Float32Array;
      const got = (await run).output!;
      expect(got.shape).toEqual([batch, 10]);
      expect(maxDiff(got.data as Float32Array, want)).toBeLessThanOrEqual(bound(want));
    };
    try {
      // the first session's replays land while the second waits on its CPU node
      // more batch sizes than a session keeps recordings for: the oldest are dropped and made again
      for (const batch of [1, 3, 1, 3, 2, 4, 5, 6, 1, 1])
        await Promise.all([check(1, batch), check(0, batch), check(0, batch), check(0, batch)]);
      // a replay's buffers are out of the pool: tensors taken from it meanwhile keep their data
      const held = Array.from({ length: 12 }, (_, k) =>
        Float32Array.from({ length: 2 ** (k + 5) }, (_, i) => k * 1000 + i),
      );
      const tensors = held.map((data) => gpu!.tensor([data.length], data));
      await check(0, 1);
      for (const [k, t] of tensors.entries()) {
        expect(await gpu!.read(t)).toEqual(held[k]);
        gpu!.release(t);
      }
      await sessions[0]!.tune(
        { input: float32([1, 1, 28, 28], new Float32Array(784).fill(0.5)) },
        { iterations: 1 },
      );
      for (let i = 0; i < 3; i++) await check(0, 1);
    } finally {
      for (const s of sessions) s.destroy();
    }
  }, 300_000);

  it('names the first NaN or ±Infinity of an input, scanned on the GPU, on first runs and replays alike', async () => {
    const graph = prunedLenet(0.9);
    const good = readNpy(load('lenet5.input.npy'));
    const want = runCpu(graph, { input: good }).output!.data as Float32Array;
    const with_ = (at: number[], v: number) => {
      const d = Float32Array.from(good.data as Float32Array);
      for (const i of at) d[i] = v;
      return float32(good.shape, d);
    };
    for (const first of [true, false]) {
      const session = await WebGpuSession.create(graph, { gpu: gpu! });
      try {
        // a good run first records the plan for replay
        if (!first) await session.run({ input: good });
        await expect(session.run({ input: with_([700, 30], Number.NaN) })).rejects.toThrow(
          /input 'input' holds NaN at element 30; inputs must be finite/,
        );
        await expect(session.run({ input: with_([783], -Infinity) })).rejects.toThrow(
          /-Infinity at element 783/,
        );
        const out = await session.run({ input: good });
        expect(maxDiff(out.output!.data as Float32Array, want)).toBeLessThanOrEqual(bound(want));
      } finally {
        session.destroy();
      }
    }
  });

  it('dense, sparse and auto plans agree with the CPU executor on a pruned model', async () => {
    const graph = prunedLenet(0.9);
    const input = readNpy(load('lenet5.input.npy'));
    const want = runCpu(graph, { input }).output!.data as Float32Array;
    for (const plan of ['dense', 'sparse', 'auto'] as const) {
      const session = await WebGpuSession.create(graph, { gpu: gpu!, plan });
      try {
        const kernels = session.plan.filter((p) => p.op === 'Conv' || p.op === 'Gemm').map((p) => p.kernel);
        const expected = {
          dense: ['implicit-gemm', 'implicit-gemm', 'fc-dense', 'fc-dense', 'fc-dense'],
          sparse: ['sparse-tiled', 'sparse-tiled', 'fc-sparse', 'fc-sparse', 'fc-sparse'],
          // at batch 1 LeNet's convs (1 → 6 and 6 → 16 channels) cost less dense, on the k-group
          // GEMM tile, than the sparse kernel's fixed part; its FCs at 90% run sparse
          auto: ['implicit-gemm', 'implicit-gemm', 'fc-sparse', 'fc-sparse', 'fc-sparse'],
        };
        expect(kernels).toEqual(expected[plan]);
        const out = await session.run({ input });
        expect(maxDiff(out.output!.data as Float32Array, want)).toBeLessThanOrEqual(bound(want));
      } finally {
        session.destroy();
      }
    }
  });

  it('profile() times each node that does work, reports CPU fallbacks, and returns the outputs of run()', async () => {
    const g = prunedLenet(0.9);
    // a Trilu runs on the CPU (it has no GPU kernel), splitting the run into two GPU segments
    const pad: GraphNode = { ...KEEP_ALL_ON_CPU, inputs: ['input', 'k'], outputs: ['padded'] };
    const first = g.nodes[0]!;
    const graph: Graph = {
      ...g,
      initializers: new Map([...g.initializers, ['k', KEEP_ALL_K]]),
      nodes: [pad, { ...first, inputs: ['padded', ...first.inputs.slice(1)] }, ...g.nodes.slice(1)],
    };
    const input = readNpy(load('lenet5.input.npy'));
    const session = await WebGpuSession.create(graph, { gpu: gpu!, plan: 'auto' });
    try {
      const want = (await session.run({ input })).output!.data as Float32Array;
      const p = await session.profile({ input });
      expect(maxDiff(p.outputs.output!.data as Float32Array, want)).toBe(0);
      expect(p.nodes.filter((n) => n.kernel === 'cpu').map((n) => n.node)).toEqual(['keep0']);
      const layers = session.plan.filter((e) => e.op === 'Conv' || e.op === 'Gemm');
      const timed = p.nodes.filter((n) => n.op === 'Conv' || n.op === 'Gemm');
      expect(timed.map((n) => [n.node, n.kernel])).toEqual(layers.map((e) => [e.node, e.kernel]));
      if (gpu!.features.timestampQuery) {
        expect(p.clock).toBe('gpu-timestamp');
        for (const n of timed) expect(n.ms).toBeGreaterThan(0);
        expect(p.runGpuMs).toBeGreaterThan(0);
        const gpuNodes = p.nodes.filter((n) => n.kernel !== 'cpu');
        expect(p.gpuMs).toBeCloseTo(
          gpuNodes.reduce((a, n) => a + n.ms, 0),
          6,
        );
      }
      expect(p.wallMs).toBeGreaterThanOrEqual(p.gpuMs);
    } finally {
      session.destroy();
    }
  });

  it('reuses its buffers and bind groups: repeated runs allocate nothing new', async () => {
    const graph = prunedLenet(0.9);
    const input = readNpy(load('lenet5.input.npy'));
    const session = await WebGpuSession.create(graph, { gpu: gpu!, plan: 'auto' });
    const device = gpu!.device;
    const create = device.createBindGroup;
    let created = 0;
    device.createBindGroup = (d) => {
      created++;
      return create.call(device, d);
    };
    try {
      const first = (await session.run({ input })).output!.data as Float32Array;
      const held = gpu!.pool.bytes;
      created = 0;
      for (let i = 0; i < 5; i++) {
        const again = (await session.run({ input })).output!.data as Float32Array;
        expect(maxDiff(again, first)).toBe(0);
      }
      expect(gpu!.pool.bytes).toBe(held);
      expect(created).toBe(0);
    } finally {
      device.createBindGroup = create;
      session.destroy();
    }
  });

  it('tune() measures the candidates, keeps the fastest, and reuses its cache', async () => {
    const graph = prunedLenet(0.8);
    const input = readNpy(load('lenet5.input.npy'));
    const want = runCpu(graph, { input }).output!.data as Float32Array;
    const cache = {};
    const session = await WebGpuSession.create(graph, { gpu: gpu!, plan: 'auto' });
    try {
      const untuned = new Map(session.plan.map((p) => [p.node, p.kernel]));
      const plan = await session.tune({ input }, { cache, iterations: 2 });
      const tuned = plan.filter((p) => p.tuned);
      expect(tuned).toHaveLength(5);
      // each layer's fastest kernel, unless the whole plan ran faster with the untuned ones
      const fastest = tuned.map((p) => {
        const times = p.tuned as Record<string, number>;
        expect(Object.keys(times).length).toBeGreaterThanOrEqual(2);
        return Object.entries(times).sort((a, b) => a[1] - b[1])[0]![0];
      });
      // a conv's candidates include the implicit GEMM with each dense kernel that applies (LeNet-5's 5×5
      // convs: every GEMM tile, no Winograd, no GEMV), except on a software adapter
      const dense = gpu!.software ? [] : DENSE_KERNELS.filter((k) => k.startsWith('gemm-'));
      for (const p of tuned.filter((e) => e.op === 'Conv'))
        expect(Object.keys(p.tuned as Record<string, number>).filter((k) => k.includes(':'))).toEqual(
          dense.map((k) => `implicit-gemm:${k}`),
        );
      const changed = tuned.flatMap((p, i) => (fastest[i] === untuned.get(p.node) ? [] : [i]));
      expect([
        changed.map((i) => fastest[i]),
        changed.map((i) => untuned.get(tuned[i]!.node)),
      ]).toContainEqual(changed.map((i) => tuned[i]!.kernel));
      expect(Object.keys(cache)).toHaveLength(5);
      const out = await session.run({ input });
      expect(maxDiff(out.output!.data as Float32Array, want)).toBeLessThanOrEqual(bound(want));
    } finally {
      session.destroy();
    }
    const again = await WebGpuSession.create(graph, { gpu: gpu!, plan: 'auto' });
    try {
      const plan = await again.tune({ input }, { cache });
      expect(plan.filter((p) => p.tuned === 'cache')).toHaveLength(5);
    } finally {
      again.destroy();
    }
  });

  it('runs Slice, Split, Gather, ReduceMean and parametric activations on the GPU too', async () => {
    const node = (
      op: string,
      inputs: string[],
      outputs: string[],
      attrs: GraphNode['attrs'] = {},
    ): GraphNode => ({ op, name: `/${op}_${outputs[0]}`, inputs, outputs, attrs });
    const graph: Graph = {
      opset: 17,
      inputs: [{ name: 'input', dtype: 'float32', shape: [2, 6, 5, 5] }],
      outputs: ['output'],
      initializers: new Map([
        ['starts', int64([1], [1])],
        ['ends', int64([1], [6])],
        ['axes', int64([1], [1])],
        ['steps', int64([1], [2])],
        ['split', int64([2], [1, 2])],
        ['rm', int64([2], [2, 3])],
        ['idx', int64([3], [2, 0, -1])],
      ]),
      nodes: [
        node('LeakyRelu', ['input'], ['a'], { alpha: 0.1 }),
        node('HardSwish', ['a'], ['b']),
        node('HardSigmoid', ['b'], ['c'], { alpha: 0.3, beta: 0.4 }),
        node('Slice', ['c', 'starts', 'ends', 'axes', 'steps'], ['d']),
        node('Split', ['d', 'split'], ['e', 'f'], { axis: 1 }),
        node('Concat', ['f', 'e'], ['g'], { axis: 1 }),
        node('ReduceMean', ['g', 'rm'], ['h'], { keepdims: 0 }),
        node('Gather', ['h', 'idx'], ['output'], { axis: 1 }),
      ],
    };
    const input = float32(
      [2, 6, 5, 5],
      Float32Array.from({ length: 300 }, (_, i) => Math.sin(i) * 4),
    );
    const want = runCpu(graph, { input }).output!;
    const session = await WebGpuSession.create(graph, { gpu: gpu! });
    try {
      expect(session.plan.filter((p) => p.kernel === 'cpu')).toEqual([]);
      const got = (await session.run({ input })).output!;
      expect(got.shape).toEqual(want.shape);
      expect(maxDiff(got.data as Float32Array, want.data as Float32Array)).toBeLessThanOrEqual(1e-6);
    } finally {
      session.destroy();
    }
  });

  it('runs batch norm that cannot be folded (after pooling) on the GPU, and folds the one after the dense layer', async () => {
    const graph = optimize(ZOO.binarynet!.build({ seed: 5 }));
    expect(graph.nodes.filter((n) => n.op === 'BatchNormalization')).toHaveLength(2);
    const input = float32(
      [1, 1, 28, 28],
      Float32Array.from({ length: 784 }, (_, i) => Math.cos(i)),
    );
    const want = runCpu(graph, { input }).output!.data as Float32Array;
    const session = await WebGpuSession.create(graph, { gpu: gpu! });
    try {
      expect(session.plan.filter((p) => p.op === 'BatchNormalization').map((p) => p.kernel)).toEqual([
        'channel-affine',
        'channel-affine',
      ]);
      const got = (await session.run({ input })).output!.data as Float32Array;
      expect(maxDiff(got, want)).toBeLessThanOrEqual(bound(want));
    } finally {
      session.destroy();
    }
  });

  it('runs batches > 1 and concurrent run() calls', async () => {
    const graph = optimize(importOnnx(load('lenet5.onnx')));
    // the model declares batch 1; a batch-3 copy of the graph with a free batch dimension
    const free: Graph = {
      ...graph,
      inputs: graph.inputs.map((i) => ({ ...i, shape: [-1, ...i.shape.slice(1)] })),
    };
    const session = await WebGpuSession.create(free, { gpu: gpu! });
    try {
      const x = Float32Array.from({ length: 3 * 784 }, (_, i) => Math.sin(i));
      const inputs = [float32([3, 1, 28, 28], x), float32([1, 1, 28, 28], x.subarray(784, 1568))];
      const [a, b] = await Promise.all(inputs.map((input) => session.run({ input })));
      const wantA = runCpu(free, { input: inputs[0]! }).output!.data as Float32Array;
      expect(a!.output!.shape).toEqual([3, 10]);
      expect(maxDiff(a!.output!.data as Float32Array, wantA)).toBeLessThanOrEqual(bound(wantA));
      expect(maxDiff(b!.output!.data as Float32Array, wantA.subarray(10, 20))).toBeLessThanOrEqual(
        bound(wantA),
      );
    } finally {
      session.destroy();
    }
  });
});
