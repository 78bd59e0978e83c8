import { type Gpu, requestDevice } from '@zeroskip/gpu';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCpu } from '../cpu-session.js';
import { importOnnx } from '../onnx.js';
import { exportOnnx } from '../onnx-export.js';
import { optimize } from '../passes.js';
import { float32, sizeOf } from '../tensor.js';
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
    it(`${name} at ${size}×${size}: CPU${onGpu ? ' and WebGPU executors match' : ' executor matches'} ONNX Runtime`, {
      timeout: 300_000,
    }, async () => {
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
