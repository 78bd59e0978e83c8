import { type Gpu, requestDevice } from '@zeroskip/gpu';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Graph } from './graph.js';
import { importOnnx } from './onnx.js';
import { optimize } from './passes.js';
import { expectOptimizedMatchesOrt } from './testing/executors.js';
import { initializer, input, type NodeSpec, opModel, value } from './testing/onnx-graph.js';
import { uniform } from './testing/random.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

/** BatchNormalization's four parameters for `c` channels: γ of both signs, var > 0. */
function bnParams(prefix: string, c: number, seed: number) {
  return [
    initializer(`${prefix}g`, value('float32', [c], uniform(c, seed, -2, 2))),
    initializer(`${prefix}b`, value('float32', [c], uniform(c, seed + 1))),
    initializer(`${prefix}m`, value('float32', [c], uniform(c, seed + 2))),
    initializer(`${prefix}v`, value('float32', [c], uniform(c, seed + 3, 0.1, 2))),
  ];
}
const bnInputs = (x: string, prefix: string) => [x, `${prefix}g`, `${prefix}b`, `${prefix}m`, `${prefix}v`];

interface GemmCase {
  readonly m: number;
  readonly k: number;
  readonly n: number;
  readonly transB: boolean;
  readonly alpha: number;
  readonly bias: 'none' | 'row' | 'matrix-row' | 'scalar';
  readonly relu: boolean;
  /** a second Gemm on the same B, with its own batch norm */
  readonly shared: boolean;
  readonly seed: number;
}

/** x → Gemm(B, C) → BatchNormalization → [Relu] → y, and with `shared` x → Gemm(B) → BN' → z. */
function gemmModel(c: GemmCase): Uint8Array {
  const bShape = c.transB ? [c.n, c.k] : [c.k, c.n];
  const cShape = { none: [], row: [c.n], 'matrix-row': [1, c.n], scalar: [1] }[c.bias];
  const attrs = { transB: c.transB ? 1 : 0, alpha: c.alpha };
  const nodes: NodeSpec[] = [
    { op: 'Gemm', inputs: ['x', 'B', ...(c.bias === 'none' ? [] : ['C'])], outputs: ['a'], attrs },
    { op: 'BatchNormalization', inputs: bnInputs('a', 'p'), outputs: [c.relu ? 'n' : 'y'] },
    ...(c.relu ? [{ op: 'Relu', inputs: ['n'], outputs: ['y'] }] : []),
    ...(c.shared
      ? [
          { op: 'Gemm', inputs: ['x', 'B'], outputs: ['a2'], attrs },
          { op: 'BatchNormalization', inputs: bnInputs('a2', 'q'), outputs: ['z'] },
        ]
      : []),
  ];
  return opModel({
    opset: 13,
    inputs: [
      input('x', 'float32', [c.m, c.k]),
      initializer('B', value('float32', bShape, uniform(c.k * c.n, c.seed))),
      ...(c.bias === 'none'
        ? []
        : [
            initializer(
              'C',
              value(
                'float32',
                cShape,
                uniform(
                  cShape.reduce((p, q) => p * q, 1),
                  c.seed + 5,
                ),
              ),
            ),
          ]),
      ...bnParams('p', c.n, c.seed + 10),
      ...(c.shared ? bnParams('q', c.n, c.seed + 20) : []),
    ],
    outputs: c.shared ? ['y', 'z'] : ['y'],
    nodes,
  });
}

/** x → Conv → MaxPool → BatchNormalization → Relu → y: the batch norm cannot fold, its ReLU fuses. */
function pooledModel(seed: number): Uint8Array {
  return opModel({
    opset: 13,
    inputs: [
      input('x', 'float32', [2, 3, 6, 6]),
      initializer('w', value('float32', [4, 3, 3, 3], uniform(108, seed))),
      ...bnParams('p', 4, seed + 10),
    ],
    outputs: ['y'],
    nodes: [
      { op: 'Conv', inputs: ['x', 'w'], outputs: ['a'], attrs: { pads: [1, 1, 1, 1] } },
      { op: 'MaxPool', inputs: ['a'], outputs: ['p'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
      { op: 'BatchNormalization', inputs: bnInputs('p', 'p'), outputs: ['n'] },
      { op: 'Relu', inputs: ['n'], outputs: ['y'] },
    ],
  });
}

const gemmCase: fc.Arbitrary<GemmCase> = fc.record({
  m: fc.integer({ min: 1, max: 4 }),
  k: fc.integer({ min: 1, max: 9 }),
  n: fc.integer({ min: 1, max: 8 }),
  transB: fc.boolean(),
  alpha: fc.constantFrom(1, 0.5),
  bias: fc.constantFrom('none', 'row', 'matrix-row', 'scalar'),
  relu: fc.boolean(),
  shared: fc.boolean(),
  seed: fc.integer({ min: 1, max: 10_000 }),
});

describe('batch norms after a Gemm or a pool', { timeout: 600_000 }, () => {
  it('a Gemm takes the batch norm after it (and its ReLU), and matches ONNX Runtime on random shapes', async () => {
    await fc.assert(
      fc.asyncProperty(gemmCase, async (c) => {
        const x = value('float32', [c.m, c.k], uniform(c.m * c.k, c.seed + 100));
        const g = await expectOptimizedMatchesOrt(gpu, gemmModel(c), { x });
        expect(g.nodes.map((n) => n.op)).toEqual(c.shared ? ['Gemm', 'Gemm'] : ['Gemm']);
        expect(g.nodes[0]!.attrs.activation).toBe(c.relu ? 'relu' : undefined);
      }),
      { seed: 71, numRuns: 12 },
    );
  });

  it('a Gemm whose β scales its C keeps its batch norm', async () => {
    const bytes = gemmModel({
      m: 2,
      k: 3,
      n: 4,
      transB: true,
      alpha: 1,
      bias: 'row',
      relu: false,
      shared: false,
      seed: 5,
    });
    const g = importOnnx(bytes);
    const scaled: Graph = {
      ...g,
      nodes: g.nodes.map((n) => (n.op === 'Gemm' ? { ...n, attrs: { ...n.attrs, beta: 2 } } : n)),
    };
    expect(optimize(scaled).nodes.map((n) => n.op)).toEqual(['Gemm', 'BatchNormalization']);
  });

  it('a batch norm after a pool runs with its ReLU in one pass, and matches ONNX Runtime', async () => {
    const x = value('float32', [2, 3, 6, 6], uniform(216, 77));
    const g = await expectOptimizedMatchesOrt(gpu, pooledModel(3), { x });
    expect(g.nodes.map((n) => n.op)).toEqual(['Conv', 'MaxPool', 'BatchNormalization']);
    expect(g.nodes[2]!.attrs.activation).toBe('relu');
  });
});
