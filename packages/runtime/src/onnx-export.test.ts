import { describe, expect, it } from 'vitest';
import { runCpu } from './cpu-session.js';
import { importOnnx } from './onnx.js';
import { exportOnnx } from './onnx-export.js';
import { float32, sizeOf, type Tensor } from './tensor.js';
import { expectClose, input, opModel, runOrt } from './testing/onnx-graph.js';

function ramp(shape: readonly number[]): Tensor {
  return float32(
    shape,
    Float32Array.from({ length: sizeOf(shape) }, (_, i) => Math.sin(i * 1.7) * 3),
  );
}

/** Imports `bytes`, exports the graph again, and checks that ONNX Runtime reads the same function from both files. */
async function roundTrip(bytes: Uint8Array, feeds: Record<string, Tensor>): Promise<void> {
  const g = importOnnx(bytes);
  const want = await runOrt(bytes, feeds);
  const again = await runOrt(exportOnnx(g), feeds);
  for (const [name, t] of Object.entries(want)) {
    expectClose(again[name]!, t);
    expectClose(runCpu(g, feeds)[name]!, t);
  }
}

describe('exportOnnx writes what import read, in the newest forms', () => {
  it('keeps Softmax, LogSoftmax and Hardmax of opsets before 13 (2-D coercion at the axis)', async () => {
    for (const op of ['Softmax', 'LogSoftmax', 'Hardmax'])
      for (const axis of [0, 1, 2]) {
        const bytes = opModel({
          opset: 11,
          op,
          attrs: { axis },
          inputs: [input('x', 'float32', [2, 3, 4])],
          outputs: ['y'],
        });
        await roundTrip(bytes, { x: ramp([2, 3, 4]) });
      }
  });

  it('writes attributes that became inputs (Clip-6 at opset 9) as inputs ONNX Runtime accepts', async () => {
    const bytes = opModel({
      opset: 9,
      op: 'Clip',
      attrs: { min: -1.5, max: 2 },
      inputs: [input('x', 'float32', [3, 5])],
      outputs: ['y'],
    });
    await roundTrip(bytes, { x: ramp([3, 5]) });
  });

  it('declares the element type of int64 and bool outputs', async () => {
    const bytes = opModel({
      opset: 13,
      nodes: [
        { op: 'Shape', inputs: ['x'], outputs: ['s'] },
        { op: 'Greater', inputs: ['x', 'x'], outputs: ['b'] },
      ],
      inputs: [input('x', 'float32', [2, 3])],
      outputs: ['s', 'b'],
    });
    await roundTrip(bytes, { x: ramp([2, 3]) });
    expect(importOnnx(exportOnnx(importOnnx(bytes))).outputs).toEqual(['s', 'b']);
  });
});
