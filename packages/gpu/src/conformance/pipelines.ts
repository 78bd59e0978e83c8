import type { Gpu } from '../device.js';
import { convGeometry } from '../geometry.js';
import { encodeBinary } from '../kernels/binary.js';
import {
  encodeAxisGather,
  encodeChannelAffine,
  encodeChannelShuffle,
  encodeConcatInto,
  encodeGlobalAvgPool,
  encodePool,
  encodeSoftmax,
  encodeTranspose,
  poolOutput,
} from '../kernels/ops.js';
import { encodePad } from '../kernels/sparse-conv.js';
import { encodeActivation, encodeParamActivation, encodeUnary } from '../kernels/unary.js';
import type { Recorder } from '../recorder.js';
import { binaryReference, poolReference, softmaxReference, transposeReference } from '../reference.js';
import type { GpuTensor } from '../tensor.js';
import { assert, assertClose } from './assert.js';
import type { ConformanceCase } from './case.js';
import { randomArray } from './data.js';

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * One kernel run on two inputs of different sizes, one submission after the other on the same
 * device: the second must not reuse a pipeline (or uniforms) specialised to the first. Each size
 * pair needs the same number of workgroups, which is where hand-written cache keys collided.
 */
interface SizePair {
  readonly kernel: string;
  readonly shapes: readonly (readonly number[])[];
  /** Runs the kernel on x of `shape`, returns the result and its CPU reference. */
  run(
    g: Gpu,
    shape: readonly number[],
    x: Float32Array,
    xt: GpuTensor,
  ): Promise<[Float32Array, ArrayLike<number>]>;
}

/** Records `record` into a NaN-filled output of `outShape`, and reads the output back. */
async function once(
  g: Gpu,
  outShape: readonly number[],
  record: (r: Recorder, y: GpuTensor) => void,
): Promise<Float32Array> {
  const y = g.tensor(outShape, new Float32Array(size(outShape)).fill(Number.NaN));
  await g.submit((r) => record(r, y));
  const got = await g.read(y);
  g.release(y);
  return got;
}

const PAIRS: SizePair[] = [
  {
    kernel: 'activation (relu)',
    shapes: [
      [1, 1000],
      [1, 1010],
    ],
    run: async (g, shape, x, xt) => [
      await once(g, shape, (r, y) => encodeActivation(r, xt, y, 'relu')),
      x.map((v) => Math.max(v, 0)),
    ],
  },
  {
    kernel: 'parametric activation (leaky relu)',
    shapes: [[700], [760]],
    run: async (g, shape, x, xt) => [
      await once(g, shape, (r, y) => encodeParamActivation(r, xt, y, 'leakyrelu', 0.1)),
      x.map((v) => (v >= 0 ? v : 0.1 * v)),
    ],
  },
  {
    kernel: 'channel affine',
    shapes: [
      [1, 2, 5, 10],
      [2, 2, 5, 10],
    ],
    run: async (g, shape, x, xt) => {
      const scale = Float32Array.of(2, -3);
      const shift = Float32Array.of(0.5, 0.25);
      const got = await once(g, shape, (r, y) =>
        encodeChannelAffine(r, xt, g.tensor([2], scale), g.tensor([2], shift), y, 2, 50, 'none'),
      );
      return [got, x.map((v, e) => v * scale[Math.floor(e / 50) % 2]! + shift[Math.floor(e / 50) % 2]!)];
    },
  },
  {
    kernel: 'binary (broadcast add)',
    shapes: [
      [2, 3, 40],
      [2, 3, 42],
    ],
    run: async (g, shape, x, xt) => {
      const b = randomArray(3, 41);
      const bt = g.tensor([3, 1], b);
      const got = await once(g, shape, (r, y) => encodeBinary(r, xt, bt, y, 'add'));
      return [got, binaryReference(x, shape, b, [3, 1], (p, q) => p + q).data];
    },
  },
  {
    kernel: 'max pool',
    shapes: [
      [1, 2, 9, 9],
      [1, 2, 10, 9],
    ],
    run: async (g, shape, x, xt) => {
      const [n, c, h, w] = shape as [number, number, number, number];
      const ho = poolOutput(h, 3, 2, 1, 1, 1, false);
      const wo = poolOutput(w, 3, 2, 1, 1, 1, false);
      const got = await once(g, [n, c, ho, wo], (r, y) =>
        encodePool(r, xt, y, 'max', { kernel: [3, 3], stride: [2, 2], pads: [1, 1, 1, 1] }),
      );
      return [got, poolReference(x, [n, c, h, w], 'max', [3, 3], [2, 2], [1, 1, 1, 1], [1, 1], ho, wo)];
    },
  },
  {
    kernel: 'softmax',
    shapes: [
      [3, 20],
      [3, 24],
    ],
    run: async (g, shape, x, xt) => [
      await once(g, shape, (r, y) => encodeSoftmax(r, xt, y)),
      softmaxReference(x, shape[1]!),
    ],
  },
  {
    kernel: 'transpose',
    shapes: [
      [2, 3, 7],
      [2, 3, 8],
    ],
    run: async (g, shape, x, xt) => [
      await once(g, [shape[2]!, shape[0]!, shape[1]!], (r, y) => encodeTranspose(r, xt, y, [2, 0, 1])),
      transposeReference(x, shape, [2, 0, 1]),
    ],
  },
  {
    kernel: 'concat',
    shapes: [
      [2, 3, 10],
      [2, 3, 11],
    ],
    run: async (g, shape, x, xt) => {
      const [a, b, c] = shape as [number, number, number];
      const other = randomArray(a * c, 43);
      const got = await once(g, [a, b + 1, c], (r, y) => {
        encodeConcatInto(r, xt, y, 1, 0);
        encodeConcatInto(r, g.tensor([a, 1, c], other), y, 1, b);
      });
      const want = new Float32Array(a * (b + 1) * c);
      for (let i = 0; i < a; i++) {
        want.set(x.subarray(i * b * c, (i + 1) * b * c), i * (b + 1) * c);
        want.set(other.subarray(i * c, (i + 1) * c), (i * (b + 1) + b) * c);
      }
      return [got, want];
    },
  },
];

export const pipelineCases: ConformanceCase[] = [
  {
    group: 'pipeline cache',
    name: 'kernels run at two sizes in a row compute both (no pipeline is bound to the first size)',
    run: async (g: Gpu) => {
      for (const pair of PAIRS) {
        for (const [i, shape] of pair.shapes.entries()) {
          const x = randomArray(size(shape), 50 + i);
          const xt = g.tensor(shape, x);
          const [got, want] = await pair.run(g, shape, x, xt);
          g.release(xt);
          assertClose(got, want, 1e-6, 1e-6, `${pair.kernel} at [${shape.join(', ')}]`);
        }
      }
    },
  },
  {
    group: 'pipeline cache',
    name: 'uniform-driven kernels compile no new pipeline at a second batch size, and rebind nothing on a rerun',
    run: async (g: Gpu) => {
      /** Every uniform-driven kernel once, on a batch of n. */
      const record = (n: number, r: Recorder, t: (shape: number[]) => GpuTensor) => {
        const x = t([n, 4, 6, 5]);
        const perChannel = t([4]);
        encodeUnary(r, x, t([n, 4, 6, 5]), 'erf');
        encodeParamActivation(r, x, t([n, 4, 6, 5]), 'hardsigmoid', 0.2, 0.5);
        encodeBinary(r, x, t([4, 1, 1]), t([n, 4, 6, 5]), 'mul');
        encodeChannelAffine(r, x, perChannel, perChannel, t([n, 4, 6, 5]), 4, 30, 'relu');
        encodePool(r, x, t([n, 4, 3, 3]), 'avg', { kernel: [2, 2], stride: [2, 2], pads: [0, 0, 0, 1] });
        encodeGlobalAvgPool(r, x, t([n, 4]));
        const cat = t([n, 8, 6, 5]);
        encodeConcatInto(r, x, cat, 1, 0);
        encodeConcatInto(r, x, cat, 1, 4);
        encodeTranspose(r, x, t([5, n, 6, 4]), [3, 0, 2, 1]);
        encodeChannelShuffle(r, x, t([n, 4, 6, 5]), 2);
        encodeSoftmax(r, { ...x, shape: [n * 24, 5] }, t([n * 24, 5]));
        encodeAxisGather(r, x, t([n, 2, 6, 5]), 1, { indices: [3, 0] });
        encodeAxisGather(r, x, t([n, 4, 3, 5]), 2, { start: 1, step: 2, count: 3 });
        encodePad(r, x, t([n, 4, 8, 7]), convGeometry([n, 4, 6, 5], [4, 4, 3, 3], { pads: [1, 1, 1, 1] }));
      };
      const run = async (n: number) => {
        // pooled buffers (contents irrelevant here): a rerun gets the same ones back
        const held: GpuTensor[] = [];
        const t = (shape: number[]) => {
          const tensor = g.empty(shape);
          held.push(tensor);
          return tensor;
        };
        await g.submit((r) => record(n, r, t));
        for (const tensor of held) g.release(tensor);
      };
      await run(1);
      const compiled = g.pipelineCount;
      await run(3);
      assert(
        g.pipelineCount === compiled,
        `batch 3 compiled ${g.pipelineCount - compiled} pipelines that batch 1 had compiled already.`,
      );
      // the same sizes again: the same uniform buffers, so every bind group is found in the cache
      const create = g.device.createBindGroup;
      let created = 0;
      g.device.createBindGroup = (d) => {
        created++;
        return create.call(g.device, d);
      };
      try {
        await run(3);
      } finally {
        g.device.createBindGroup = create;
      }
      assert(created === 0, `a rerun of the same sizes created ${created} bind groups.`);
      const words = Uint32Array.of(7, 1, 2);
      assert(g.uniforms(words) === g.uniforms(words.slice()), 'equal uniform words gave two buffers.');
    },
  },
];
