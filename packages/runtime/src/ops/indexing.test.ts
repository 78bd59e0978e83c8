import { type Gpu, requestDevice } from '@zeroskip/gpu';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCpu } from '../cpu-session.js';
import type { Graph } from '../graph.js';
import { importOnnx } from '../onnx.js';
import { sizeOf, type Tensor } from '../tensor.js';
import { int, seedArb, shapeArb } from '../testing/arbitraries.js';
import {
  type ElemType,
  expectClose,
  input,
  opModel,
  runOrt,
  toTensor,
  type Value,
  value,
} from '../testing/onnx-graph.js';
import {
  constant,
  expectOpAndExecutorsMatchOrt,
  fed,
  inferOp,
  type OpCase,
  ortOutputs,
  runOp,
} from '../testing/op-cases.js';
import { smallValue as data, uniform } from '../testing/random.js';
import { WebGpuSession } from '../webgpu-session.js';
import { compress } from './compress.js';
import { gatherElements } from './gather-elements.js';
import { gatherND } from './gather-nd.js';
import { nonZero } from './non-zero.js';
import { oneHot } from './one-hot.js';
import { reverseSequence } from './reverse-sequence.js';
import { scatterElements, scatterND } from './scatter.js';
import { topK } from './top-k.js';

// The indexing ops (TopK, gathers, scatters, OneHot, NonZero, Compress, ReverseSequence) against
// ONNX Runtime: the op's CPU side and shape inference, then both executors.

const RUNS = { seed: 61_733, numRuns: 20 };

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

/** The WebGPU executor plans a run of `g` at these inputs' sizes, and refuses it with `message`. */
async function expectRefusedOnGpu(g: Graph, inputs: Record<string, Tensor>, message: RegExp): Promise<void> {
  const session = await WebGpuSession.create(g, { gpu });
  try {
    await expect(session.run(inputs)).rejects.toThrow(message);
  } finally {
    session.destroy();
  }
}

/** Seeded indices into an axis of size `dim`, negative ones included. */
const indices = (shape: readonly number[], dim: number, seed: number): Value =>
  value(
    'int64',
    shape,
    uniform(sizeOf(shape), seed, -dim, dim).map((v) => Math.min(Math.floor(v), dim - 1)),
  );

describe('TopK against ONNX Runtime on both executors', { timeout: 120_000 }, () => {
  const caseArb = shapeArb(1, 3).chain((shape) =>
    fc.record({
      shape: fc.constant(shape),
      axis: int(-shape.length, shape.length - 1),
      k: int(0, 4),
      largest: fc.constantFrom(0, 1),
      dtype: fc.constantFrom('float32' as const, 'int64' as const, 'uint8' as const),
      seed: seedArb,
    }),
  );
  const kOf = (shape: readonly number[], axis: number, k: number) =>
    Math.min(k, shape[(axis + shape.length) % shape.length]!);

  it('sorted, largest or smallest, every axis, ties in index order; opset 10 (floats only) has neither attribute', async () => {
    await fc.assert(
      fc.asyncProperty(
        caseArb,
        fc.constantFrom(10, 11),
        async ({ shape, axis, k, largest, dtype, seed }, o) => {
          const opset = dtype === 'float32' ? o : 11;
          const K = value('int64', [1], [Math.max(kOf(shape, axis, k), 1)]);
          await expectOpAndExecutorsMatchOrt(gpu, topK, {
            op: 'TopK',
            opset,
            attrs: opset >= 11 ? { axis, largest, sorted: 1 } : { axis },
            inputs: [fed(data(dtype, shape, seed)), constant(K)],
            outputs: 2,
          });
        },
      ),
      RUNS,
    );
  });

  it('unsorted output holds the same elements as ONNX Runtime (in some order), K = 0 included', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async ({ shape, axis, k, largest, dtype, seed }) => {
        const c: OpCase = {
          op: 'TopK',
          opset: 11,
          attrs: { axis, largest, sorted: 0 },
          inputs: [fed(data(dtype, shape, seed)), constant(value('int64', [1], [kOf(shape, axis, k)]))],
          outputs: 2,
        };
        const [values, idx] = await ortOutputs(c);
        const got = runOp(topK, c);
        expect(inferOp(topK, c).map((o) => o.shape)).toEqual([values!.shape, idx!.shape]);
        // each lane as its set of (index, value) pairs
        const a = (axis + shape.length) % shape.length;
        const lanes = (v: ArrayLike<number>, i: ArrayLike<number>) => {
          const inner = sizeOf(values!.shape.slice(a + 1));
          const len = values!.shape[a]!;
          const out: string[] = [];
          for (let lane = 0; lane < v.length / Math.max(len, 1); lane++) {
            const base = Math.floor(lane / inner) * len * inner + (lane % inner);
            const pairs = Array.from({ length: len }, (_, r) => [i[base + r * inner]!, v[base + r * inner]!]);
            out.push(JSON.stringify(pairs.sort((p, q) => p[0]! - q[0]!)));
          }
          return out;
        };
        expect(lanes(got[0]!.data, got[1]!.data)).toEqual(lanes(values!.data, idx!.data));
      }),
      RUNS,
    );
  });

  it('needs K known before running, and no larger than the axis', () => {
    const c: OpCase = {
      op: 'TopK',
      opset: 11,
      inputs: [fed(data('float32', [3], 1)), fed(value('int64', [1], [2]))],
    };
    expect(() => inferOp(topK, c)).toThrow(/only constant Ks are supported/);
    const big: OpCase = { ...c, inputs: [c.inputs[0], constant(value('int64', [1], [4]))] };
    expect(() => inferOp(topK, big)).toThrow(/K = \[4\] for an axis of size 3/);
  });
});

describe('gathers and scatters against ONNX Runtime on both executors', { timeout: 120_000 }, () => {
  /** A data shape, an axis and an indices shape no larger off the axis. */
  const elementsArb = shapeArb(1, 3).chain((shape) =>
    fc.record({
      shape: fc.constant(shape),
      axis: int(-shape.length, shape.length - 1),
      idx: fc.tuple(...shape.map((d) => int(1, d))),
      along: int(1, 4),
      dtype: fc.constantFrom('float32' as const, 'int64' as const),
      seed: seedArb,
    }),
  );

  it('GatherElements: every axis, negative indices, fed or constant indices', async () => {
    await fc.assert(
      fc.asyncProperty(elementsArb, fc.boolean(), async ({ shape, axis, idx, along, dtype, seed }, known) => {
        const a = (axis + shape.length) % shape.length;
        const ishape = idx.map((d, i) => (i === a ? along : d));
        const ids = indices(ishape, shape[a]!, seed + 1);
        await expectOpAndExecutorsMatchOrt(gpu, gatherElements, {
          op: 'GatherElements',
          opset: 13,
          attrs: { axis },
          inputs: [fed(data(dtype, shape, seed)), known ? constant(ids) : fed(ids)],
        });
      }),
      RUNS,
    );
  });

  it('ScatterElements: every reduction of its opset, repeated indices included', async () => {
    await fc.assert(
      fc.asyncProperty(
        elementsArb,
        fc.constantFrom(
          [11, 'none'] as const,
          [16, 'add'] as const,
          [16, 'mul'] as const,
          [18, 'none'] as const,
          [18, 'max'] as const,
          [18, 'min'] as const,
        ),
        async ({ shape, axis, idx, along, dtype, seed }, [opset, reduction]) => {
          const a = (axis + shape.length) % shape.length;
          const ishape = idx.map((d, i) => (i === a ? along : d));
          await expectOpAndExecutorsMatchOrt(gpu, scatterElements, {
            op: 'ScatterElements',
            opset,
            attrs: opset >= 16 ? { axis, reduction } : { axis },
            inputs: [
              fed(data(dtype, shape, seed)),
              fed(indices(ishape, shape[a]!, seed + 1)),
              fed(data(dtype, ishape, seed + 2)),
            ],
          });
        },
      ),
      RUNS,
    );
  });

  /** A data shape, batch axes, index tuples of `depth` (1 to the rank left) and their leading shape. */
  const ndArb = shapeArb(1, 4).chain((shape) =>
    int(0, Math.min(2, shape.length - 1)).chain((batch) =>
      fc.record({
        shape: fc.constant(shape),
        batch: fc.constant(batch),
        depth: int(1, shape.length - batch),
        lead: fc.array(int(1, 3), { maxLength: 2 }),
        dtype: fc.constantFrom('float32' as const, 'int64' as const),
        seed: seedArb,
      }),
    ),
  );
  /** Index tuples for `shape` past its first `batch` axes, each entry in range (negative ones included). */
  const tuples = (
    shape: readonly number[],
    batch: number,
    lead: readonly number[],
    depth: number,
    seed: number,
  ) => {
    const ishape = [...shape.slice(0, batch), ...lead, depth];
    const u = uniform(sizeOf(ishape), seed, 0, 1);
    return value(
      'int64',
      ishape,
      u.map((v, e) => {
        const dim = shape[batch + (e % depth)]!;
        return Math.min(Math.floor(v * 2 * dim) - dim, dim - 1);
      }),
    );
  };

  it('GatherND: batch_dims 0 to 2 (opset 12 on), tuples of any depth', async () => {
    await fc.assert(
      fc.asyncProperty(
        ndArb,
        fc.constantFrom(11, 12, 13),
        async ({ shape, batch, depth, lead, dtype, seed }, opset) => {
          const b = opset >= 12 ? batch : 0;
          await expectOpAndExecutorsMatchOrt(gpu, gatherND, {
            op: 'GatherND',
            opset,
            attrs: opset >= 12 ? { batch_dims: b } : {},
            inputs: [fed(data(dtype, shape, seed)), fed(tuples(shape, b, lead, depth, seed + 1))],
          });
        },
      ),
      RUNS,
    );
  });

  it('ScatterND: every reduction of its opset, repeated tuples included', async () => {
    await fc.assert(
      fc.asyncProperty(
        ndArb,
        fc.constantFrom(
          [11, 'none'] as const,
          [16, 'add'] as const,
          [16, 'mul'] as const,
          [18, 'max'] as const,
          [18, 'min'] as const,
        ),
        async ({ shape, depth, lead, dtype, seed }, [opset, reduction]) => {
          const ids = tuples(shape, 0, lead, depth, seed + 1);
          const ushape = [...lead, ...shape.slice(depth)];
          await expectOpAndExecutorsMatchOrt(gpu, scatterND, {
            op: 'ScatterND',
            opset,
            attrs: opset >= 16 ? { reduction } : {},
            inputs: [fed(data(dtype, shape, seed)), constant(ids), fed(data(dtype, ushape, seed + 2))],
          });
        },
      ),
      RUNS,
    );
  });

  it('refuses indices out of range and updates of the wrong shape, naming the node', () => {
    const c: OpCase = {
      op: 'GatherElements',
      opset: 13,
      inputs: [fed(data('float32', [3], 1)), fed(value('int64', [1], [3]))],
    };
    expect(() => runOp(gatherElements, c)).toThrow(
      /'gatherelements_0' \(GatherElements\) reads index 3 of an axis of size 3/,
    );
    const s: OpCase = {
      op: 'ScatterND',
      opset: 13,
      inputs: [
        fed(data('float32', [3, 2], 1)),
        fed(value('int64', [1, 1], [0])),
        fed(data('float32', [1, 3], 2)),
      ],
    };
    expect(() => inferOp(scatterND, s)).toThrow(
      /updates of shape \[1, 3\] where its indices address \[1, 2\]/,
    );
  });
});

describe('OneHot, NonZero, Compress and ReverseSequence against ONNX Runtime', { timeout: 120_000 }, () => {
  it('OneHot: any axis, negative and out-of-range indices, depth of several types, at opsets 9 and 11', async () => {
    await fc.assert(
      fc.asyncProperty(
        shapeArb(1, 3).chain((shape) =>
          fc.record({
            shape: fc.constant(shape),
            axis: int(-shape.length - 1, shape.length),
            depth: int(1, 4),
            // (indices, values, depth) types that ONNX Runtime implements
            types: fc.constantFrom<[ElemType, ElemType, ElemType]>(
              ['int64', 'float32', 'int64'],
              ['int64', 'int64', 'int64'],
              ['float32', 'float32', 'float32'],
              ['int64', 'float32', 'float32'],
            ),
            scalarDepth: fc.boolean(),
            opset: fc.constantFrom(9, 11),
            seed: seedArb,
          }),
        ),
        async ({ shape, axis, depth, types: [ids, values, depths], scalarDepth, opset, seed }) => {
          const at = uniform(sizeOf(shape), seed, -depth - 1, depth + 1).map((v) => Math.trunc(v) + 0);
          await expectOpAndExecutorsMatchOrt(gpu, oneHot, {
            op: 'OneHot',
            opset,
            attrs: { axis },
            inputs: [
              fed(value(ids, shape, at)),
              constant(value(depths, scalarDepth ? [] : [1], [depth])),
              constant(value(values, [2], [-1, 3])),
            ],
          });
        },
      ),
      RUNS,
    );
  });

  it('NonZero of a constant is folded before running; of a computed value only the CPU executor runs it', async () => {
    await fc.assert(
      fc.asyncProperty(
        shapeArb(1, 3),
        seedArb,
        fc.constantFrom('float32' as const, 'int64' as const, 'bool' as const),
        async (shape, seed, dtype) => {
          const x = data(dtype, shape, seed);
          await expectOpAndExecutorsMatchOrt(
            gpu,
            nonZero,
            { op: 'NonZero', opset: 13, inputs: [constant(x)] },
            'host',
          );
          const bytes = opModel({
            opset: 13,
            op: 'NonZero',
            inputs: [input('x', dtype, shape)],
            outputs: ['y'],
          });
          expectClose(runCpu(importOnnx(bytes), { x: toTensor(x) }).y, (await runOrt(bytes, { x })).y);
          await expectRefusedOnGpu(
            importOnnx(bytes),
            { x: toTensor(x) },
            /node 'NonZero_0' \(NonZero\) has an output whose size depends on the values of its input/,
          );
        },
      ),
      { ...RUNS, numRuns: 5 },
    );
  });

  it('Compress with a constant condition: with an axis or flattened, float32 on the gather kernel', async () => {
    await fc.assert(
      fc.asyncProperty(
        shapeArb(1, 3).chain((shape) =>
          fc.record({
            shape: fc.constant(shape),
            axis: fc.option(int(-shape.length, shape.length - 1), { nil: undefined }),
            short: int(0, 2),
            dtype: fc.constantFrom('float32' as const, 'int64' as const),
            seed: seedArb,
          }),
        ),
        async ({ shape, axis, short, dtype, seed }) => {
          const len = axis === undefined ? sizeOf(shape) : shape[(axis + shape.length) % shape.length]!;
          const n = Math.max(len - short, 1);
          const cond = value(
            'bool',
            [n],
            uniform(n, seed + 1).map((v, i) => Number(v > 0 || i === 0)),
          );
          await expectOpAndExecutorsMatchOrt(
            gpu,
            compress,
            {
              op: 'Compress',
              opset: 11,
              attrs: axis === undefined ? {} : { axis },
              inputs: [fed(data(dtype, shape, seed)), constant(cond)],
            },
            dtype === 'float32' ? 'gather' : 'cpu',
          );
        },
      ),
      RUNS,
    );
  });

  it('Compress with a computed condition: only the CPU executor runs it', async () => {
    const x = data('float32', [2, 3], 5);
    const cond = value('bool', [3], [1, 0, 1]);
    const bytes = opModel({
      opset: 11,
      op: 'Compress',
      attrs: { axis: 1 },
      inputs: [input('x', 'float32', [2, 3]), input('c', 'bool', [3])],
      outputs: ['y'],
    });
    expectClose(
      runCpu(importOnnx(bytes), { x: toTensor(x), c: toTensor(cond) }).y,
      (await runOrt(bytes, { x, c: cond })).y,
    );
    await expectRefusedOnGpu(
      importOnnx(bytes),
      { x: toTensor(x), c: toTensor(cond) },
      /\(Compress\) has an output whose size depends on the values of its condition, which are known only while running/,
    );
  });

  it('ReverseSequence: batch and time axes either way round, lengths from 0 to the whole sequence', async () => {
    await fc.assert(
      fc.asyncProperty(
        shapeArb(2, 4),
        fc.boolean(),
        seedArb,
        fc.constantFrom('float32' as const, 'int64' as const),
        async (shape, batchFirst, seed, dtype) => {
          const [batch, time] = batchFirst ? [0, 1] : [1, 0];
          const lens = uniform(shape[batch]!, seed + 1, 0, shape[time]! + 1).map(Math.floor);
          await expectOpAndExecutorsMatchOrt(gpu, reverseSequence, {
            op: 'ReverseSequence',
            opset: 10,
            attrs: { batch_axis: batch, time_axis: time },
            inputs: [fed(data(dtype, shape, seed)), fed(value('int64', [shape[batch]!], lens))],
          });
        },
      ),
      RUNS,
    );
  });
});
