import { type Gpu, requestDevice } from '@zeroskip/gpu';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Graph } from './graph.js';
import { importOnnx } from './onnx.js';
import { fuseResidualAdds, optimize } from './passes.js';
import { expectOptimizedMatchesOrt } from './testing/executors.js';
import { initializer, input, type NodeSpec, opModel, value } from './testing/onnx-graph.js';
import { prunedUniform } from './testing/random.js';
import { ZOO } from './zoo/models.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

/** Convs that took a residual: four inputs. */
const residualConvs = (g: Graph) => g.nodes.filter((n) => n.op === 'Conv' && n.inputs.length === 4);

interface Block {
  readonly n: number;
  readonly c: number;
  readonly o: number;
  readonly size: number;
  /** what the conv's output is added to */
  readonly shortcut: 'input' | 'conv' | 'pooled';
  /** the conv's output is the Add's second operand */
  readonly swapped: boolean;
  readonly relu: boolean;
  readonly sparsity: number;
  /** a 1-D conv over [n, c, size] */
  readonly oneD: boolean;
  readonly seed: number;
}

/** Conv → Add(shortcut) → Relu as ONNX, the shortcut the input, another conv or a pooled (broadcast) map. */
function blockModel(b: Block): Uint8Array {
  const k = b.oneD ? [3] : [3, 3];
  const taps = k.reduce((p, q) => p * q, 1);
  const spatial = b.oneD ? [b.size] : [b.size, b.size];
  const o = b.shortcut === 'input' ? b.c : b.o;
  const nodes: NodeSpec[] = [
    { op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['a'], attrs: { pads: k.flatMap(() => [1, 1]) } },
  ];
  if (b.shortcut === 'conv')
    nodes.push({ op: 'Conv', inputs: ['x', 'ws'], outputs: ['s'], attrs: { kernel_shape: k.map(() => 1) } });
  if (b.shortcut === 'pooled') nodes.push({ op: 'GlobalAveragePool', inputs: ['a2'], outputs: ['s'] });
  if (b.shortcut === 'pooled')
    nodes.unshift({
      op: 'Conv',
      inputs: ['x', 'ws'],
      outputs: ['a2'],
      attrs: { kernel_shape: k.map(() => 1) },
    });
  const other = b.shortcut === 'input' ? 'x' : 's';
  nodes.push({ op: 'Add', inputs: b.swapped ? [other, 'a'] : ['a', other], outputs: [b.relu ? 'sum' : 'y'] });
  if (b.relu) nodes.push({ op: 'Relu', inputs: ['sum'], outputs: ['y'] });
  return opModel({
    opset: 13,
    inputs: [
      input('x', 'float32', [b.n, b.c, ...spatial]),
      initializer('w', value('float32', [o, b.c, ...k], prunedUniform(o * b.c * taps, b.seed, b.sparsity))),
      initializer('b', value('float32', [o], prunedUniform(o, b.seed + 3))),
      ...(b.shortcut === 'input'
        ? []
        : [
            initializer(
              'ws',
              value('float32', [o, b.c, ...k.map(() => 1)], prunedUniform(o * b.c, b.seed + 5)),
            ),
          ]),
    ],
    outputs: ['y'],
    nodes,
  });
}

const block: fc.Arbitrary<Block> = fc.record({
  n: fc.integer({ min: 1, max: 5 }),
  c: fc.integer({ min: 1, max: 6 }),
  o: fc.integer({ min: 1, max: 7 }),
  size: fc.integer({ min: 2, max: 9 }),
  shortcut: fc.constantFrom('input', 'conv', 'pooled'),
  swapped: fc.boolean(),
  relu: fc.boolean(),
  sparsity: fc.constantFrom(0, 0.9),
  oneD: fc.boolean(),
  seed: fc.integer({ min: 1, max: 10_000 }),
});

describe('residual adds fused into the conv before them', { timeout: 600_000 }, () => {
  it('ResNets: every shortcut add and the ReLU after it run in a conv', () => {
    for (const [name, blocks] of [
      ['resnet-18', 8],
      ['resnet-50', 16],
    ] as const) {
      const g = optimize(ZOO[name]!.build({ init: 'zeros' }));
      expect(residualConvs(g)).toHaveLength(blocks);
      expect(residualConvs(g).every((n) => n.attrs.activation === 'relu')).toBe(true);
      expect(g.nodes.filter((n) => n.op === 'Add' || n.op === 'Relu')).toEqual([]);
    }
  });

  it('leave an Add of a constant, a conv read twice, and a conv whose activation came first', () => {
    const g = importOnnx(blockModel(BASE));
    const read = (i: number) => ({ ...g, outputs: [...g.outputs, g.nodes[i]!.outputs[0]!] });
    expect(residualConvs(fuseResidualAdds(g))).toHaveLength(1);
    expect(residualConvs(fuseResidualAdds(read(0)))).toEqual([]);
    const constant: Graph = {
      ...g,
      nodes: g.nodes.map((n) => (n.op === 'Add' ? { ...n, inputs: ['a', 'b'] } : n)),
    };
    expect(residualConvs(fuseResidualAdds(constant))).toEqual([]);
    const activated: Graph = {
      ...g,
      nodes: g.nodes.map((n) => (n.op === 'Conv' ? { ...n, attrs: { ...n.attrs, activation: 'relu' } } : n)),
    };
    expect(residualConvs(fuseResidualAdds(activated))).toEqual([]);
  });

  it('match ONNX Runtime on random blocks, on the CPU and under every WebGPU plan, and export back', async () => {
    await fc.assert(
      fc.asyncProperty(block, async (b) => {
        const bytes = blockModel(b);
        const x = value(
          'float32',
          [b.n, b.c, ...(b.oneD ? [b.size] : [b.size, b.size])],
          prunedUniform(b.n * b.c * b.size ** (b.oneD ? 1 : 2), b.seed + 1000),
        );
        const g = await expectOptimizedMatchesOrt(gpu, bytes, { x }, ['auto', 'dense', 'sparse']);
        expect(residualConvs(g)).toHaveLength(1);
      }),
      {
        seed: 58,
        numRuns: 10,
        endOnFailure: true,
        // a broadcast shortcut (added after the conv) and a sparse 1-D conv, whatever the draw
        examples: [
          [{ ...BASE, shortcut: 'pooled' }],
          [{ ...BASE, shortcut: 'conv', oneD: true, sparsity: 0.9 }],
        ],
      },
    );
  });
});

const BASE: Block = {
  n: 2,
  c: 3,
  o: 3,
  size: 5,
  shortcut: 'input',
  swapped: false,
  relu: true,
  sparsity: 0,
  oneD: false,
  seed: 1,
};
