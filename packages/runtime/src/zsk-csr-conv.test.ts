import { type Gpu, requestDevice } from '@zeroskip/gpu';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Graph } from './graph.js';
import type { PlanMode } from './ops/types.js';
import type { Tensor } from './tensor.js';
import { runFirstKernel, sameBytes } from './testing/executors.js';
import { randomTensor } from './testing/random.js';
import { storedCsr, type WeightEncoding } from './weight-encoding.js';
import { decodeZsk, encodeZsk } from './zsk.js';

/** A seeded tensor with about `pruned` of its weights set to exactly 0. */
function prunedTensor(shape: readonly number[], pruned: number, seed: number): Tensor {
  const t = randomTensor(shape, seed);
  const d = t.data as Float32Array;
  for (let i = 0; i < d.length; i++) if ((i * 7919 + seed) % 1000 < 1000 * pruned) d[i] = 0;
  return t;
}

interface ConvCase {
  n: number;
  groups: number;
  cg: number;
  og: number;
  k: number;
  size: number;
  pad: number;
  seed: number;
}

/** x [n, c, size, size] → Conv (pruned constant weights, a bias, `pad` on every side) → y. */
function convGraph(p: ConvCase): { graph: Graph; x: Tensor } {
  const o = p.groups * p.og;
  const c = p.groups * p.cg;
  const graph: Graph = {
    opset: 17,
    inputs: [{ name: 'x', dtype: 'float32', shape: [p.n, c, p.size, p.size] }],
    outputs: ['y'],
    initializers: new Map([
      ['w', prunedTensor([o, p.cg, p.k, p.k], 0.9, p.seed)],
      ['b', randomTensor([o], p.seed + 1)],
    ]),
    nodes: [
      {
        op: 'Conv',
        name: 'conv',
        inputs: ['x', 'w', 'b'],
        outputs: ['y'],
        attrs: { group: p.groups, pads: [p.pad, p.pad, p.pad, p.pad] },
      },
    ],
  };
  return { graph, x: randomTensor([p.n, c, p.size, p.size], p.seed + 2) };
}

describe('sparse convs built from the decoded CSR', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await requestDevice();
  });
  afterAll(() => gpu?.destroy());

  const run = (graph: Graph, x: Tensor, plan: PlanMode) => runFirstKernel(gpu, graph, x, plan);

  it('give bit for bit the outputs of the dense-built conv, sparse and dense kernels, never reading the dense values', async () => {
    const cases = fc.sample(
      fc.record({
        n: fc.integer({ min: 1, max: 2 }),
        groups: fc.constantFrom(1, 1, 2),
        cg: fc.integer({ min: 1, max: 6 }),
        og: fc.integer({ min: 1, max: 8 }),
        k: fc.constantFrom(1, 3),
        size: fc.integer({ min: 3, max: 9 }),
        pad: fc.integer({ min: 0, max: 1 }),
        seed: fc.integer({ min: 1, max: 10_000 }),
      }),
      { numRuns: 4, seed: 15 },
    );
    for (const p of cases) {
      const { graph, x } = convGraph(p);
      const encodings = new Map<string, WeightEncoding>([
        ['w', { kind: 'sparse', indexBits: 4, huffman: true }],
      ]);
      const decoded = decodeZsk(encodeZsk(graph, encodings)).graph;
      const w = decoded.initializers.get('w')!;
      expect(storedCsr(w)).toBeDefined();
      const read = vi.spyOn(w, 'data', 'get');
      for (const plan of ['sparse', 'dense'] as const) {
        const want = await run(graph, x, plan);
        const got = await run(decoded, x, plan);
        expect(got.kernel).toBe(want.kernel);
        expect(sameBytes(got.y, want.y), `${plan} ${JSON.stringify(p)}`).toBe(true);
        // the layers take the CSR: the tensor's dense values are never made on the GPU path
        expect(read).not.toHaveBeenCalled();
      }
    }
  }, 120_000);
});
