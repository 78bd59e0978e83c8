import { type Gpu, requestDevice } from '@zeroskip/gpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCpu } from './cpu-session.js';
import { RuntimeError } from './errors.js';
import { importOnnx } from './onnx.js';
import { float32, type Tensor } from './tensor.js';
import { initializer, input, opModel, value } from './testing/onnx-graph.js';
import { uniform } from './testing/random.js';
import { WebGpuSession } from './webgpu-session.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

/** x [n, 3, h, w] → Conv 3×3 → Relu → y: batch 4 of 64² is past the 1 MiB where uploads are staged. */
function convModel(shape: readonly number[]) {
  return importOnnx(
    opModel({
      opset: 13,
      inputs: [
        input('x', 'float32', [...shape]),
        initializer('w', value('float32', [4, 3, 3, 3], uniform(108, 1))),
      ],
      outputs: ['y'],
      nodes: [
        { op: 'Conv', inputs: ['x', 'w'], outputs: ['c'], attrs: { pads: [1, 1, 1, 1] } },
        { op: 'Relu', inputs: ['c'], outputs: ['y'] },
      ],
    }),
  );
}

describe('upload tensors', { timeout: 300_000 }, () => {
  it.each([
    [1, 3, 8, 8],
    [4, 3, 64, 64],
  ])(
    'give what ordinary inputs give, recorded and replayed, and are a RuntimeError once spent: %o',
    async (...shape) => {
      const graph = convModel(shape);
      const session = await WebGpuSession.create(graph, { gpu });
      try {
        const size = shape.reduce((a, b) => a * b, 1);
        for (const seed of [1, 2, 3]) {
          const values = Float32Array.from(uniform(size, seed));
          const want = runCpu(graph, { x: float32(shape, values) }).y!.data;
          const x = session.uploadTensor(shape);
          (x.data as Float32Array).set(values);
          // the first run records, the later ones replay the recording
          expect((await session.run({ x })).y!.data, `seed ${seed}`).toEqual(
            (await session.run({ x: float32(shape, values) })).y!.data,
          );
          expect(x.data.length).toBe(0);
          const again = session.run({ x });
          await expect(again).rejects.toThrow(RuntimeError);
          await expect(again).rejects.toThrow(/upload tensor is empty once a run has sent it/);
          const cpu = await session.run({ x: float32(shape, values) });
          for (let i = 0; i < size; i += 97) expect(cpu.y!.data[i]).toBeCloseTo(want[i]!, 5);
        }
      } finally {
        session.destroy();
      }
    },
  );

  it('an input of the wrong number of values, or in a plain array, is a RuntimeError on both executors', async () => {
    const graph = convModel([1, 3, 8, 8]);
    // tensors made by hand (float32() refuses a wrong count; JavaScript callers can pass any array)
    const short: Tensor = { dtype: 'float32', shape: [1, 3, 8, 8], data: new Float32Array(191) };
    const plain = {
      dtype: 'float32',
      shape: [1, 3, 8, 8],
      data: Array.from({ length: 192 }, () => 0.5),
    } as unknown as Tensor;
    expect(() => runCpu(graph, { x: short })).toThrow(
      /holds 191 values where its shape \[1, 3, 8, 8\] needs 192/,
    );
    expect(() => runCpu(graph, { x: plain })).toThrow(
      /holds its values in Array; pass them as a Float32Array/,
    );
    const session = await WebGpuSession.create(graph, { gpu });
    try {
      for (const x of [short, plain]) await expect(session.run({ x })).rejects.toThrow(RuntimeError);
    } finally {
      session.destroy();
    }
  });
});
