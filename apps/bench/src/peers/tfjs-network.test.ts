import { type Gpu, requestDevice } from '@zeroskip/gpu';
import { seededRandom } from '@zeroskip/quant';
import {
  type AttributeValue,
  compressModel,
  float32,
  type Graph,
  type GraphNode,
  int64,
  optimize,
  runCpu,
  type Tensor,
  ZOO,
} from '@zeroskip/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededInput, withBatch } from '../zoo-graphs.js';
import { relativeDiff } from './relative-diff.js';
import { type TfjsOnDevice, tfjsOnDevice } from './tfjs.js';
import { openTfjsNetwork } from './tfjs-network.js';

let gpu: Gpu;
let peer: TfjsOnDevice;
beforeAll(async () => {
  gpu = await requestDevice();
  peer = await tfjsOnDevice(gpu);
});
afterAll(() => {
  peer.dispose();
  gpu.destroy();
});

/** A graph assembled node by node, with seeded uniform weights. */
class Net {
  private readonly nodes: GraphNode[] = [];
  private readonly initializers = new Map<string, Tensor>();
  private readonly rand: () => number;

  constructor(
    private readonly input: number[],
    seed: number,
  ) {
    this.rand = seededRandom(seed);
  }

  constant(t: Tensor): string {
    const name = `c${this.initializers.size}`;
    this.initializers.set(name, t);
    return name;
  }

  /** Uniform in [lo, hi). */
  weight(shape: number[], lo = -0.5, hi = 0.5): string {
    const n = shape.reduce((a, b) => a * b, 1);
    return this.constant(
      float32(
        shape,
        Float32Array.from({ length: n }, () => lo + (hi - lo) * this.rand()),
      ),
    );
  }

  node(op: string, inputs: string[], attrs: Record<string, AttributeValue> = {}): string {
    const out = `v${this.nodes.length}`;
    this.nodes.push({ op, name: `${op.toLowerCase()}${this.nodes.length}`, inputs, outputs: [out], attrs });
    return out;
  }

  /** Conv with bias; `c` is the input's channel count. */
  conv(x: string, c: number, o: number, k: number, attrs: Record<string, AttributeValue> = {}): string {
    const group = typeof attrs.group === 'number' ? attrs.group : 1;
    return this.node('Conv', [x, this.weight([o, c / group, k, k]), this.weight([o])], {
      kernel_shape: [k, k],
      ...attrs,
    });
  }

  graph(output: string): Graph {
    return {
      nodes: this.nodes,
      initializers: this.initializers,
      inputs: [{ name: 'input', shape: this.input, dtype: 'float32' }],
      outputs: [output],
      opset: 17,
    };
  }
}

/**
 * Every op the zoo's networks use and then some, on [2, 4, 10, 10]: grouped, depthwise (asymmetric
 * pads) and dilated convs, a shortcut Add, batch norm, LRN, max and ceil-mode average pools, concat of
 * images and of matrices, a broadcast constant, flatten and reshape of NHWC images, Gemm and softmax.
 */
function mixed(seed: number): Graph {
  const b = new Net([2, 4, 10, 10], seed);
  let a = b.node('Relu', [b.conv('input', 4, 8, 3, { pads: [1, 1, 1, 1] })]);
  a = b.node('BatchNormalization', [
    a,
    b.weight([8], 0.5, 1.5),
    b.weight([8]),
    b.weight([8]),
    b.weight([8], 0.5, 1.5),
  ]);
  const g = b.conv(a, 8, 8, 3, { group: 4, pads: [1, 1, 1, 1] });
  const d = b.conv(g, 8, 16, 3, { group: 8, pads: [1, 0, 1, 2] });
  const s = b.conv('input', 4, 16, 1);
  let r = b.node('Relu', [b.node('Add', [d, s])]);
  r = b.conv(r, 16, 16, 1);
  const l = b.node('LRN', [r], { size: 5, alpha: 0.5, beta: 0.75, bias: 2 });
  const p1 = b.node('MaxPool', [l], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
  const p2 = b.node('AveragePool', [l], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 });
  const cat = b.node('Concat', [p1, p2], { axis: 1 });
  let e = b.conv(cat, 32, 8, 3, { dilations: [2, 2], pads: [2, 2, 2, 2] });
  const [lo, hi] = [-1, 1].map((v) => b.constant(float32([], Float32Array.of(v))));
  e = b.node('Add', [b.node('Clip', [e, lo!, hi!]), b.weight([8, 1, 1])]);
  const f1 = b.node('Flatten', [e], { axis: 1 });
  const f2 = b.node('Reshape', [b.node('GlobalAveragePool', [cat]), b.constant(int64([2], [0, -1]))]);
  const h = b.node('Concat', [f1, f2], { axis: 1 });
  const fc = b.node('Gemm', [h, b.weight([10, 232]), b.weight([10])], { transB: 1, alpha: 0.5, beta: 2 });
  const y = b.node('Gemm', [b.node('Relu', [fc]), b.weight([10, 5]), b.weight([5])]);
  return b.graph(b.node('Softmax', [y], { axis: -1 }));
}

/** relu(groupedConv(s) + s), s = conv1x1(input): as Zeroskip fuses it (a Conv's fourth input), or apart. */
function shortcut(fused: boolean): Graph {
  const b = new Net([1, 4, 6, 6], 21);
  const s = b.conv('input', 4, 8, 1);
  const conv = [s, b.weight([8, 4, 3, 3]), b.weight([8])];
  const attrs = { kernel_shape: [3, 3], group: 2, pads: [1, 1, 1, 1] };
  const out = fused
    ? b.node('Conv', [...conv, s], { ...attrs, activation: 'relu' })
    : b.node('Relu', [b.node('Add', [b.node('Conv', conv, attrs), s])]);
  return b.graph(out);
}

// TF.js compiles its WebGPU programs cold on lavapipe, slowly on a loaded machine: minutes of margin.
describe('a Zeroskip graph as TF.js ops on the same device', () => {
  it.each([
    ['mixed ops, as built', () => mixed(11)],
    // with the fused activations (relu, htanh) on Conv and Gemm that optimize() leaves
    ['mixed ops, optimized', () => optimize(mixed(12))],
    [
      'pruned LeNet-5, batch 2',
      () => withBatch(compressModel(optimize(ZOO['lenet-5']!.build({ seed: 13 })), { prune: 0.7 }).graph, 2),
    ],
    // against the graph with the Add and the Relu apart, which every executor runs
    ['a residual fused into a grouped conv', () => shortcut(true), () => shortcut(false)],
  ] as const)(
    'computes what the CPU executor computes: %s',
    { timeout: 240_000 },
    async (_, build, reference = build) => {
      const graph = build();
      const input = seededInput(graph, 5);
      const ref = reference();
      const want = runCpu(ref, { input })[ref.outputs[0]!]!.data as Float32Array;
      const before = peer.tf.memory().numTensors;
      const net = openTfjsNetwork(peer, graph, input);
      if ('reason' in net) throw new Error(net.reason);
      try {
        const weights = peer.tf.memory().numTensors;
        const got = await net.run();
        expect(got.length).toBe(want.length);
        expect(relativeDiff(got, want)).toBeLessThan(1e-4);
        // the same again, and nothing left behind by either run
        expect(relativeDiff(await net.run(), want)).toBeLessThan(1e-4);
        expect(peer.tf.memory().numTensors).toBe(weights);
      } finally {
        net.dispose();
      }
      expect(peer.tf.memory().numTensors).toBe(before);
    },
  );

  it.each([
    ['LRN', /LRN node .*symmetric, which size 4/, (b: Net, x: string) => b.node('LRN', [x], { size: 4 })],
    [
      'a ceil-mode window that starts in the end padding',
      /MaxPool node .*ceil mode gives 4x4 windows where ONNX gives 3x3/,
      (b: Net, x: string) =>
        b.node('MaxPool', [x], { kernel_shape: [1, 1], strides: [2, 2], pads: [0, 0, 1, 1], ceil_mode: 1 }),
    ],
    [
      'strides with dilations',
      /Conv node .*strides or with dilations, not both/,
      (b: Net, x: string) => b.conv(x, 8, 4, 3, { strides: [2, 2], dilations: [2, 2], pads: [2, 2, 2, 2] }),
    ],
    [
      'an op without translation',
      /Exp node 'exp1': this op has no translation/,
      (b: Net, x: string) => b.node('Exp', [x]),
    ],
  ] as const)('refuses %s with a reason naming the op', { timeout: 120_000 }, (_, reason, last) => {
    const b = new Net([1, 4, 5, 5], 3);
    const graph = b.graph(last(b, b.conv('input', 4, 8, 1)));
    const before = peer.tf.memory().numTensors;
    const net = openTfjsNetwork(peer, graph, seededInput(graph, 1));
    expect(net).toEqual({ reason: expect.stringMatching(reason) });
    // the conv's weights, laid out before the refusal, are freed
    expect(peer.tf.memory().numTensors).toBe(before);
  });
});
