import { type Gpu, requestDevice } from '@zeroskip/gpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCpu } from './cpu-session.js';
import { importOnnx } from './onnx.js';
import { float32, sizeOf, type Tensor } from './tensor.js';
import { expectClose, initializer, input, opModel, value } from './testing/onnx-graph.js';
import { WebGpuSession } from './webgpu-session.js';

let gpu: Gpu | undefined;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

function ramp(shape: readonly number[], phase = 0): Tensor {
  return float32(
    shape,
    Float32Array.from({ length: sizeOf(shape) }, (_, i) => Math.sin(i * 0.37 + phase) * 4),
  );
}

/** Runs `bytes` on both executors; the WebGPU outputs must equal the CPU's and every plan entry must match the profile. */
async function check(bytes: Uint8Array, feeds: Record<string, Tensor>) {
  const g = importOnnx(bytes);
  const session = await WebGpuSession.create(g, { gpu: gpu! });
  try {
    const want = runCpu(g, feeds);
    const got = await session.run(feeds);
    for (const [name, t] of Object.entries(want)) expectClose(got[name]!, t);
    const p = await session.profile(feeds);
    const planned = new Map(session.plan.map((e) => [e.node, e.kernel]));
    for (const n of p.nodes) expect(`${n.node}: ${n.kernel}`).toBe(`${n.node}: ${planned.get(n.node)}`);
    return session.plan;
  } finally {
    session.destroy();
  }
}

describe('WebGPU executor: pipelines, plans and sizes', () => {
  it('runs same-op nodes of different sizes each with its own size (two Relu on 1000 and 1010 values)', async () => {
    const bytes = opModel({
      opset: 13,
      nodes: [
        { op: 'Relu', inputs: ['a'], outputs: ['ya'] },
        { op: 'Relu', inputs: ['b'], outputs: ['yb'] },
      ],
      inputs: [input('a', 'float32', [1, 1000]), input('b', 'float32', [1, 1010])],
      outputs: ['ya', 'yb'],
    });
    await check(bytes, { a: ramp([1, 1000]), b: ramp([1, 1010], 1) });
  });

  it('runs HardSigmoid on 8 and then 32 channels, and sessions sharing a device do not collide', async () => {
    const model = (c: number) =>
      opModel({
        opset: 13,
        op: 'HardSigmoid',
        attrs: { alpha: 0.2, beta: 0.5 },
        inputs: [input('x', 'float32', [1, c, 1, 1])],
        outputs: ['y'],
      });
    await check(model(8), { x: ramp([1, 8, 1, 1]) });
    await check(model(32), { x: ramp([1, 32, 1, 1], 2) });
  });

  it('plans the CPU for what the GPU cannot run, and says so (LogSoftmax)', async () => {
    const bytes = opModel({
      opset: 13,
      nodes: [
        { op: 'Relu', inputs: ['x'], outputs: ['r'] },
        { op: 'LogSoftmax', inputs: ['r'], outputs: ['y'], attrs: { axis: 1 } },
      ],
      inputs: [input('x', 'float32', [2, 3, 4])],
      outputs: ['y'],
    });
    const plan = await check(bytes, { x: ramp([2, 3, 4]) });
    expect(plan.map((e) => e.kernel)).toEqual(['unary-relu', 'cpu']);
  });

  it('plans values known before running as host work (shape arithmetic into a Reshape)', async () => {
    const bytes = opModel({
      opset: 13,
      nodes: [
        { op: 'Shape', inputs: ['x'], outputs: ['s'] },
        { op: 'Gather', inputs: ['s', 'zero'], outputs: ['n'], attrs: { axis: 0 } },
        { op: 'Unsqueeze', inputs: ['n', 'axes'], outputs: ['n1'] },
        { op: 'Concat', inputs: ['n1', 'rest'], outputs: ['shape'], attrs: { axis: 0 } },
        { op: 'Reshape', inputs: ['x', 'shape'], outputs: ['y'] },
      ],
      inputs: [
        input('x', 'float32', ['N', 2, 3]),
        initializer('zero', value('int64', [], [0])),
        initializer('axes', value('int64', [1], [0])),
        initializer('rest', value('int64', [1], [-1])),
      ],
      outputs: ['y'],
    });
    for (const n of [1, 3]) {
      const plan = await check(bytes, { x: ramp([n, 2, 3]) });
      expect(plan.map((e) => e.kernel)).toEqual(['host', 'host', 'host', 'host', 'view']);
    }
  });
});
