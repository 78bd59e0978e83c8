import { type Gpu, requestDevice } from '@zeroskip/gpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCpu } from './cpu-session.js';
import type { Graph } from './graph.js';
import { importOnnx } from './onnx.js';
import { exportOnnx } from './onnx-export.js';
import { optimize } from './passes.js';
import { foldSignInputs } from './quant-passes.js';
import { float32, type Tensor } from './tensor.js';
import { uniform } from './testing/random.js';
import { bnBinaryConv } from './testing/sign-layers.js';
import { WebGpuSession } from './webgpu-session.js';

// A batch norm in front of a binary layer folds into the packing as the sign of d·x + e per channel:
// the folded graph must give the unfolded codes for every input, those on a channel's boundary
// (the f32 around it and on it), ±0, subnormals and the largest magnitudes included (executors take
// finite inputs only).

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

const [N, C, HW, O] = [1, 9, 6, 5];

/** x → BN → QuantConv(sign, binary, float): γ of both signs and 0 (a constant sign), seeded. */
function bnSignNet(seed: number): Graph {
  const { nodes, initializers } = bnBinaryConv('x', C, O, seed, 4);
  return {
    opset: 13,
    inputs: [{ name: 'x', dtype: 'float32', shape: [N, C, HW, HW] }],
    outputs: ['y'],
    initializers: new Map(initializers),
    nodes,
  };
}

const bits = new DataView(new ArrayBuffer(4));
function step(x: number, by: number): number {
  bits.setFloat32(0, x);
  const k = bits.getInt32(0);
  bits.setInt32(0, x === 0 ? (by > 0 ? 1 : -0x7fffffff) : k + (x > 0 ? by : -by));
  return bits.getFloat32(0);
}

/** Each channel's plane: its boundary t = −e·d and the f32 around it, then special values, then random. */
function boundaryInput(folded: Graph, seed: number): Tensor {
  const attrs = folded.nodes[0]!.attrs;
  const [d, e] = [attrs.input_scale as number[], attrs.input_shift as number[]];
  const special = [0, -0, 3.4e38, -3.4e38, 1e-40, -1e-40];
  const rand = uniform(N * C * HW * HW, seed, -2, 2);
  return float32(
    [N, C, HW, HW],
    Float32Array.from(rand, (r, i) => {
      const [c, p] = [Math.floor(i / (HW * HW)) % C, i % (HW * HW)];
      const t = d[c] === 0 || !Number.isFinite(e[c]!) ? 0 : -e[c]! * d[c]!;
      const near = [t, step(t, 1), step(t, -1), step(t, 2), step(t, -2)];
      return p < near.length ? near[p]! : p < near.length + special.length ? special[p - near.length]! : r;
    }),
  );
}

describe('foldSignInputs: BN → sign packing as d·x + e', () => {
  it('gives the unfolded codes on the CPU executor and on the GPU, on each boundary and extreme value', async () => {
    for (const seed of [3, 40, 77]) {
      const g = bnSignNet(seed);
      const folded = foldSignInputs(g);
      expect(folded.nodes.map((n) => n.op)).toEqual(['QuantConv']);
      expect(folded.nodes[0]!.inputs[0]).toBe('x');
      const x = { x: boundaryInput(folded, seed + 9) };
      const want = Array.from(runCpu(g, x).y!.data);
      expect(Array.from(runCpu(folded, x).y!.data)).toEqual(want);
      // the shifts are floats: ONNX export must not write them as integers
      expect(Array.from(runCpu(importOnnx(exportOnnx(folded)), x).y!.data)).toEqual(want);
      const session = await WebGpuSession.create(optimize(g), { gpu });
      try {
        expect(session.planFor({ x: [N, C, HW, HW] }).map((e) => e.kernel)).toEqual([
          'quant-conv-sign-binary',
        ]);
        expect(Array.from((await session.run(x)).y!.data)).toEqual(want);
      } finally {
        session.destroy();
      }
    }
  }, 120_000);

  it('a threshold one f32 off changes some code: the boundary inputs can tell', () => {
    const g = bnSignNet(3);
    const folded = foldSignInputs(g);
    const qc = folded.nodes[0]!;
    const e = qc.attrs.input_shift as number[];
    const d = qc.attrs.input_scale as number[];
    const c = d.findIndex((v) => v !== 0);
    const off: Graph = {
      ...folded,
      nodes: [{ ...qc, attrs: { ...qc.attrs, input_shift: e.map((v, k) => (k === c ? step(v, 1) : v)) } }],
    };
    const x = { x: boundaryInput(folded, 12) };
    expect(Array.from(runCpu(off, x).y!.data)).not.toEqual(Array.from(runCpu(g, x).y!.data));
  });

  it('leaves a BN that something other than a sign-quantizing QuantConv reads', () => {
    const g = bnSignNet(5);
    const shared: Graph = { ...g, outputs: ['y', 'z'] };
    expect(foldSignInputs(shared).nodes.map((n) => n.op)).toEqual(['BatchNormalization', 'QuantConv']);
  });
});
