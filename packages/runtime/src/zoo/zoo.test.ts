import { type Gpu, requestDevice } from '@zeroskip/gpu';
import { seededRandom } from '@zeroskip/quant';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compressModel } from '../compress.js';
import { runCpu } from '../cpu-session.js';
import type { Graph, GraphNode } from '../graph.js';
import { importOnnx } from '../onnx.js';
import { exportOnnx } from '../onnx-export.js';
import { optimize } from '../passes.js';
import { float32, sizeOf, type Tensor } from '../tensor.js';
import { WebGpuSession } from '../webgpu-session.js';
import { parameterCount, ZOO } from './models.js';

// Published parameter counts (torchvision, Caffe model zoo); the MNIST nets follow from the seed article.
const PARAMETERS: Record<string, number> = {
  'lenet-300-100': 266_610,
  'lenet-5': 431_080,
  alexnet: 60_965_224,
  'vgg-16': 138_357_544,
  googlenet: 6_998_552,
  'resnet-18': 11_689_512,
  'resnet-50': 25_557_032,
  'bireal-resnet-18': 11_689_512,
  'mobilenet-v1': 4_231_976,
  'mobilenet-v2': 3_504_872,
  'squeezenet-1.1': 1_235_496,
  'shufflenet-v2': 2_278_604,
  binarynet: 317_770,
  ternarynet: 317_770,
  'dorefa-net': 317_770,
};

describe('model zoo: exact architectures', () => {
  for (const [name, entry] of Object.entries(ZOO)) {
    it(`${name}: ${PARAMETERS[name]} parameters, 1000 or 10 classes`, () => {
      const g = entry.build({ init: 'zeros' });
      expect(parameterCount(g)).toBe(PARAMETERS[name]);
    });
  }
});

let gpu: Gpu | undefined;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

const bound = (want: Float32Array) => 1e-4 * want.reduce((m, v) => Math.max(m, Math.abs(v)), 0) + 1e-5;
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

describe('exported zoo models against onnxruntime-node (Split, Slice, Transpose, Gather, Reshape, residual Add)', () => {
  // WebGPU too for the two the acceptance names; on lavapipe every distinct conv shape costs a shader compile
  for (const [name, size, onGpu] of [
    ['resnet-18', 64, true],
    ['shufflenet-v2', 64, true],
    ['mobilenet-v1', 64, false],
    ['googlenet', 96, false],
    ['lenet-5', 28, false],
  ] as const) {
    it(`${name} at ${size}×${size}: CPU${onGpu ? ' and WebGPU executors match' : ' executor matches'} ONNX Runtime`, async () => {
      const graph = ZOO[name]!.build({ seed: 1, size });
      const bytes = exportOnnx(graph);
      const shape = graph.inputs[0]!.shape;
      const x = Float32Array.from({ length: sizeOf(shape) }, (_, i) => Math.sin(i * 0.37));
      const session = await ort.InferenceSession.create(bytes);
      const want = (await session.run({ input: new ort.Tensor('float32', x, shape) })).output!
        .data as Float32Array;
      const imported = optimize(importOnnx(bytes));
      const cpu = runCpu(imported, { input: float32(shape, x) }).output!.data as Float32Array;
      expect(maxDiff(cpu, want)).toBeLessThanOrEqual(bound(want));
      if (!onGpu) return;
      const web = await WebGpuSession.create(imported, { gpu: gpu! });
      try {
        expect(web.plan.filter((p) => p.kernel === 'cpu')).toEqual([]);
        const out = (await web.run({ input: float32(shape, x) })).output!.data as Float32Array;
        expect(maxDiff(out, want)).toBeLessThanOrEqual(bound(want));
      } finally {
        web.destroy();
      }
    });
  }
});

/** Conv → Clip(−1, 1) → Conv → Sigmoid → Conv → Clip(0, 6): one node for each fused activation ONNX writes as Clip or Sigmoid. */
function activationChain(seed: number): Graph {
  const rand = seededRandom(seed);
  const init = new Map<string, Tensor>();
  const nodes: GraphNode[] = [];
  let x = 'input';
  for (const [i, op, lo, hi] of [
    [0, 'Clip', -1, 1],
    [1, 'Sigmoid', 0, 0],
    [2, 'Clip', 0, 6],
  ] as const) {
    init.set(
      `w${i}`,
      float32(
        [4, 4, 3, 3],
        Float32Array.from({ length: 144 }, () => rand() * 2 - 1),
      ),
    );
    nodes.push({
      op: 'Conv',
      name: `conv${i}`,
      inputs: [x, `w${i}`],
      outputs: [`c${i}`],
      attrs: { pads: [1, 1, 1, 1] },
    });
    const inputs = [`c${i}`];
    if (op === 'Clip') {
      init.set(`lo${i}`, float32([], Float32Array.of(lo)));
      init.set(`hi${i}`, float32([], Float32Array.of(hi)));
      inputs.push(`lo${i}`, `hi${i}`);
    }
    x = i === 2 ? 'output' : `a${i}`;
    nodes.push({ op, name: `act${i}`, inputs, outputs: [x], attrs: {} });
  }
  return {
    nodes,
    initializers: init,
    inputs: [{ name: 'input', shape: [1, 4, 6, 6], dtype: 'float32' }],
    outputs: ['output'],
    opset: 13,
  };
}

describe('optimized graphs export to ONNX with their fused activations written back', () => {
  for (const [name, build, activations] of [
    ['mobilenet-v2', () => ZOO['mobilenet-v2']!.build({ seed: 3, size: 32 }), ['relu6']],
    ['lenet-5, pruned', () => ZOO['lenet-5']!.build({ seed: 3 }), ['relu']],
    ['a Clip/Sigmoid chain', () => activationChain(3), ['htanh', 'sigmoid', 'relu6']],
  ] as const) {
    it(`${name}: ONNX Runtime on the exported graph matches the CPU executor on the optimized one`, async () => {
      const graph = compressModel(optimize(build()), { prune: 0.6 }).graph;
      for (const a of activations) expect(graph.nodes.some((n) => n.attrs.activation === a)).toBe(true);
      const shape = graph.inputs[0]!.shape;
      const x = Float32Array.from({ length: sizeOf(shape) }, (_, i) => 3 * Math.cos(i * 0.11));
      const session = await ort.InferenceSession.create(exportOnnx(graph));
      const want = (await session.run({ input: new ort.Tensor('float32', x, shape) })).output!
        .data as Float32Array;
      const got = runCpu(graph, { input: float32(shape, x) }).output!.data as Float32Array;
      expect(maxDiff(got, want)).toBeLessThanOrEqual(bound(want));
    });
  }
});
