import { type Gpu, requestDevice } from '@zeroskip/gpu';
import { decodeWeightPayloadDense, denseToCsr } from '@zeroskip/sparse';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Graph } from './graph.js';
import type { Tensor } from './tensor.js';
import { runFirstKernel, sameBytes } from './testing/executors.js';
import { randomTensor } from './testing/random.js';
import { decodeStoredWeight, encodeWeight, storedCsr, type WeightEncoding } from './weight-encoding.js';
import { decodeZsk, encodeZsk } from './zsk.js';

/** A seeded tensor with about `pruned` of its weights set to exactly 0. */
function prunedTensor(shape: readonly number[], pruned: number, seed: number): Tensor {
  const t = randomTensor(shape, seed);
  const d = t.data as Float32Array;
  for (let i = 0; i < d.length; i++) if ((i * 7919 + seed) % 1000 < 1000 * pruned) d[i] = 0;
  return t;
}

describe('sparse weights decoded to CSR', () => {
  it('give the CSR and the dense values of the dense decoder on random shapes and encodings', () => {
    fc.assert(
      fc.property(
        fc.record({
          shape: fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 4 }),
          pruned: fc.constantFrom(0, 0.5, 0.9, 1),
          indexBits: fc.integer({ min: 1, max: 8 }),
          huffman: fc.boolean(),
          shared: fc.boolean(),
          seed: fc.integer({ min: 1, max: 10_000 }),
        }),
        (p) => {
          const t = prunedTensor(p.shape, p.pruned, p.seed);
          const d = t.data as Float32Array;
          const codebook = p.shared ? Float32Array.from(new Set(d.filter((v) => v !== 0))) : undefined;
          const e: WeightEncoding = {
            kind: 'sparse',
            indexBits: p.indexBits,
            huffman: p.huffman,
            ...(codebook && codebook.length > 0 ? { codebook } : {}),
          };
          const bytes = encodeWeight(t, e, 'w');
          const back = decodeStoredWeight(bytes, 'float32', p.shape, e, d.length).tensor;
          const old = decodeWeightPayloadDense(bytes);
          expect(sameBytes(back.data, old.data)).toBe(true);
          expect(storedCsr(back)).toEqual(denseToCsr(old));
        },
      ),
      { numRuns: 200, seed: 13 },
    );
  });
});

describe('sparse FC layers built from the decoded CSR', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await requestDevice();
  });
  afterAll(() => gpu?.destroy());

  /** x [batch, k] → Gemm (or MatMul) with pruned constant weights and a bias → y. */
  function fcGraph(p: {
    batch: number;
    k: number;
    outputs: number;
    transB: boolean;
    op: string;
    seed: number;
  }): {
    graph: Graph;
    x: Tensor;
  } {
    const gemm = p.op === 'Gemm';
    const b = prunedTensor(gemm && p.transB ? [p.outputs, p.k] : [p.k, p.outputs], 0.8, p.seed);
    const initializers = new Map<string, Tensor>([
      ['b', b],
      ...(gemm ? ([['c', randomTensor([p.outputs], p.seed + 1)]] as const) : []),
    ]);
    const graph: Graph = {
      opset: 17,
      inputs: [{ name: 'x', dtype: 'float32', shape: [p.batch, p.k] }],
      outputs: ['y'],
      initializers,
      nodes: [
        {
          op: p.op,
          name: 'fc',
          inputs: ['x', 'b', ...(gemm ? ['c'] : [])],
          outputs: ['y'],
          attrs: gemm ? { transB: Number(p.transB), beta: 0.5 } : {},
        },
      ],
    };
    return { graph, x: randomTensor([p.batch, p.k], p.seed + 2) };
  }

  // the sparse plan: at 80% the few-row FCs here would run the dense GEMV under auto
  const run = (graph: Graph, x: Tensor) => runFirstKernel(gpu, graph, x, 'sparse');

  it('give bit for bit the outputs of the layer built from the dense weights, Gemm and MatMul', async () => {
    const cases = fc.sample(
      fc.record({
        batch: fc.integer({ min: 1, max: 5 }),
        k: fc.integer({ min: 1, max: 70 }),
        outputs: fc.integer({ min: 1, max: 40 }),
        transB: fc.boolean(),
        op: fc.constantFrom('Gemm', 'MatMul'),
        seed: fc.integer({ min: 1, max: 10_000 }),
      }),
      { numRuns: 6, seed: 14 },
    );
    for (const p of cases) {
      const { graph, x } = fcGraph(p);
      const encodings = new Map<string, WeightEncoding>([
        ['b', { kind: 'sparse', indexBits: 4, huffman: true }],
      ]);
      const decoded = decodeZsk(encodeZsk(graph, encodings)).graph;
      expect(storedCsr(decoded.initializers.get('b')!)).toBeDefined();
      const want = await run(graph, x);
      const got = await run(decoded, x);
      expect(got.kernel).toBe('fc-sparse');
      expect(want.kernel).toBe('fc-sparse');
      expect(sameBytes(got.y, want.y), JSON.stringify(p)).toBe(true);
    }
  }, 120_000);
});
