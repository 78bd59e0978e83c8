import { Conv2dLayer, type Gpu, type GpuTensor, requestDevice } from '@zeroskip/gpu';
import { seededRandom } from '@zeroskip/quant';
import { compressModel, optimize, runCpu, ZOO } from '@zeroskip/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededInput } from '../zoo-graphs.js';
import { loadOrt, timeOrt } from './ort.js';
import { OrtWeb } from './ort-web.js';
import { relativeDiff } from './relative-diff.js';
import { TfjsConv, type TfjsOnDevice, tfjsOnDevice } from './tfjs.js';

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

// Without a shader cache every TF.js and Zeroskip pipeline compiles cold on lavapipe: seconds each.
describe('TF.js on the same device', () => {
  // grouped and strided, batch 2: the NHWC/HWIO layouts and the per-group split must line up with NCHW
  it.each([
    { input: [2, 6, 9, 7], o: 8, k: 3, pad: 1, stride: 1, groups: 2 },
    { input: [1, 5, 11, 11], o: 4, k: 5, pad: 2, stride: 2, groups: 1 },
  ] as const)('computes what Zeroskip computes: %o', async ({ input, o, k, pad, stride, groups }) => {
    const rand = seededRandom(7);
    const shape = [o, input[1] / groups, k, k] as const;
    const x = Float32Array.from({ length: input.reduce((a: number, b) => a * b, 1) }, () => rand() * 2 - 1);
    const weights = Float32Array.from(
      { length: shape.reduce((a: number, b) => a * b, 1) },
      () => rand() * 2 - 1,
    );
    const tf = new TfjsConv(peer, { input, x, shape, weights, pad, stride, groups });
    const layer = new Conv2dLayer(gpu, {
      weights,
      shape,
      pads: [pad, pad, pad, pad],
      stride: [stride, stride],
      groups,
      algorithm: 'implicit-gemm',
    });
    const xt = gpu.tensor([...input], x);
    try {
      let y: GpuTensor | undefined;
      await gpu.submit((r) => {
        y = layer.encode(r, xt);
      });
      const want = await gpu.read(y!);
      expect(relativeDiff(await tf.output(), want)).toBeLessThan(1e-5);
      const t = await tf.time(gpu, 1, 3);
      expect(t.samples).toBe(3);
      expect(t.median).toBeGreaterThan(0);
    } finally {
      tf.dispose();
      layer.destroy();
      gpu.release(xt);
    }
  });
});

describe('ONNX Runtime on an exported, pruned network', () => {
  it('returns the CPU executor’s outputs and a timing', async () => {
    const ort = await loadOrt();
    if ('reason' in ort) throw new Error(ort.reason);
    const graph = compressModel(optimize(ZOO['lenet-5']!.build({ seed: 2 })), { prune: 0.7 }).graph;
    const input = seededInput(graph, 3);
    const want = runCpu(graph, { [graph.inputs[0]!.name]: input })[graph.outputs[0]!]!.data as Float32Array;
    const { timing, output } = await timeOrt(ort.ort, graph, input, 1, 2);
    expect(relativeDiff(output, want)).toBeLessThan(1e-5);
    expect(timing.samples).toBe(2);
  });
});

// The EP runs in a child process with its own Dawn device; its wasm compiles cold there, so minutes of margin.
describe('ONNX Runtime Web (WebGPU EP) on an exported, pruned network', () => {
  it('returns the CPU executor’s outputs and a timing', { timeout: 240_000 }, async () => {
    const ortWeb = await OrtWeb.start();
    if ('reason' in ortWeb) throw new Error(ortWeb.reason);
    try {
      expect(ortWeb.version).toMatch(/^\d+\.\d+\.\d+/);
      const graph = compressModel(optimize(ZOO['lenet-5']!.build({ seed: 4 })), { prune: 0.7 }).graph;
      const input = seededInput(graph, 5);
      const want = runCpu(graph, { [graph.inputs[0]!.name]: input })[graph.outputs[0]!]!.data as Float32Array;
      const opened = await ortWeb.open(graph, input, 'NCHW');
      if ('reason' in opened) throw new Error(opened.reason);
      expect(relativeDiff(opened.output, want)).toBeLessThan(1e-4);
      const timing = await ortWeb.time(1, 2);
      if ('reason' in timing) throw new Error(timing.reason);
      expect(timing.samples).toBe(2);
      expect(timing.median).toBeGreaterThan(0);
    } finally {
      await ortWeb.close();
    }
  });
});
