import { type Gpu, requestDevice } from '@zeroskip/gpu';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCpu } from './cpu-session.js';
import type { Graph } from './graph.js';
import { importOnnx } from './onnx.js';
import { exportOnnx } from './onnx-export.js';
import { optimize } from './passes.js';
import { fusePoolConvs } from './pool-conv-fusion.js';
import { float32 } from './tensor.js';
import { expectOptimizedMatchesOrt } from './testing/executors.js';
import { expectClose, initializer, input, type NodeSpec, opModel, value } from './testing/onnx-graph.js';
import { prunedUniform } from './testing/random.js';
import { ZOO } from './zoo/models.js';
import { decodeZsk, encodeZsk } from './zsk.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

const count = (g: Graph, op: string) => g.nodes.filter((n) => n.op === op).length;

interface Case {
  readonly n: number;
  readonly c: number;
  readonly o: number;
  readonly h: number;
  readonly w: number;
  readonly pool: 'MaxPool' | 'AveragePool';
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly pads: readonly [number, number, number, number];
  readonly ceil: boolean;
  readonly countIncludePad: boolean;
  /** the 1×1 conv's stride */
  readonly convStride: number;
  readonly relu: boolean;
  /** GoogLeNet's branch: the pool keeps the map's size and a plain 1×1 conv's output is concatenated before it */
  readonly inception: boolean;
  readonly sparsity: number;
  readonly seed: number;
}

/** x → pool → 1×1 Conv (→ Relu), or an inception-style Concat of a 1×1 conv and that branch, as ONNX. */
function caseModel(k: Case): Uint8Array {
  const poolAttrs = k.inception
    ? { kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1] }
    : {
        kernel_shape: [...k.kernel],
        strides: [...k.stride],
        pads: [...k.pads],
        ceil_mode: k.ceil ? 1 : 0,
        ...(k.pool === 'AveragePool' ? { count_include_pad: k.countIncludePad ? 1 : 0 } : {}),
      };
  const out = k.inception ? 'branch' : 'y';
  const nodes: NodeSpec[] = [
    { op: k.pool, inputs: ['x'], outputs: ['p'], attrs: poolAttrs },
    {
      op: 'Conv',
      inputs: ['p', 'w', 'b'],
      outputs: [k.relu ? 'a' : out],
      attrs: { kernel_shape: [1, 1], strides: [k.convStride, k.convStride] },
    },
  ];
  if (k.relu) nodes.push({ op: 'Relu', inputs: ['a'], outputs: [out] });
  if (k.inception) {
    nodes.unshift({ op: 'Conv', inputs: ['x', 'w2'], outputs: ['direct'], attrs: { kernel_shape: [1, 1] } });
    nodes.push({ op: 'Concat', inputs: ['direct', 'branch'], outputs: ['y'], attrs: { axis: 1 } });
  }
  return opModel({
    opset: 13,
    inputs: [
      input('x', 'float32', [k.n, k.c, k.h, k.w]),
      initializer('w', value('float32', [k.o, k.c, 1, 1], prunedUniform(k.o * k.c, k.seed, k.sparsity))),
      initializer('b', value('float32', [k.o], prunedUniform(k.o, k.seed + 1))),
      initializer('w2', value('float32', [2, k.c, 1, 1], prunedUniform(2 * k.c, k.seed + 2))),
    ],
    outputs: ['y'],
    nodes,
  });
}

const cases: fc.Arbitrary<Case> = fc
  .record({
    n: fc.integer({ min: 1, max: 3 }),
    c: fc.integer({ min: 1, max: 12 }),
    o: fc.integer({ min: 1, max: 9 }),
    h: fc.integer({ min: 3, max: 10 }),
    w: fc.integer({ min: 3, max: 10 }),
    pool: fc.constantFrom('MaxPool' as const, 'AveragePool' as const),
    kernel: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    stride: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    pads: fc.tuple(...[0, 0, 0, 0].map(() => fc.integer({ min: 0, max: 1 }))),
    ceil: fc.boolean(),
    countIncludePad: fc.boolean(),
    convStride: fc.constantFrom(1, 1, 2),
    relu: fc.boolean(),
    inception: fc.boolean(),
    sparsity: fc.constantFrom(0, 0.9),
    seed: fc.integer({ min: 1, max: 10_000 }),
  })
  // ONNX pads stay below the window; an inception branch keeps the map, so its conv keeps stride 1
  .map((k) => ({
    ...k,
    pads: k.pads.map((p, i) => Math.min(p, k.kernel[i % 2]! - 1)) as unknown as Case['pads'],
    convStride: k.inception ? 1 : k.convStride,
  }));

const feed = (k: Case) => ({
  x: value('float32', [k.n, k.c, k.h, k.w], prunedUniform(k.n * k.c * k.h * k.w, k.seed + 3)),
});

const BASE: Case = {
  n: 1,
  c: 5,
  o: 4,
  h: 7,
  w: 6,
  pool: 'MaxPool',
  kernel: [3, 3],
  stride: [1, 1],
  pads: [1, 1, 1, 1],
  ceil: false,
  countIncludePad: false,
  convStride: 1,
  relu: true,
  inception: true,
  sparsity: 0,
  seed: 3,
};

describe('a pool read only by a 1×1 conv, fused into it', { timeout: 600_000 }, () => {
  it('takes GoogLeNet’s stem reduction and 9 inception pool projections, and Bi-Real’s 3 average-pool shortcuts', () => {
    const googlenet = optimize(ZOO.googlenet!.build({ init: 'zeros' }));
    expect(count(googlenet, 'PoolConv')).toBe(10);
    expect(count(googlenet, 'MaxPool')).toBe(3);
    const bireal = optimize(ZOO['bireal-resnet-18']!.build({ seed: 1, size: 64 }));
    expect(count(bireal, 'PoolConv')).toBe(3);
    expect(count(bireal, 'AveragePool')).toBe(0);
  });

  it('leaves a pool read twice or as an output, a pool with indices, a wider conv, and a conv reading it as its residual too', () => {
    const g = importOnnx(caseModel({ ...BASE, inception: false, relu: false }));
    expect(count(fusePoolConvs(g), 'PoolConv')).toBe(1);
    const [pool, conv] = g.nodes as [Graph['nodes'][number], Graph['nodes'][number]];
    const variants: Graph[] = [
      { ...g, outputs: [...g.outputs, 'p'] },
      { ...g, nodes: [...g.nodes, { ...conv, name: 'again', outputs: ['y2'] }], outputs: ['y', 'y2'] },
      { ...g, nodes: [{ ...pool, outputs: ['p', 'indices'] }, conv] },
      { ...g, nodes: [pool, { ...conv, inputs: ['p', 'w', 'b', 'p'] }] },
      {
        ...g,
        initializers: new Map([...g.initializers, ['w', float32([4, 5, 3, 3], new Float32Array(180))]]),
      },
    ];
    for (const v of variants) expect(count(fusePoolConvs(v), 'PoolConv')).toBe(0);
  });

  it('matches ONNX Runtime on random pools and convs, on the CPU and under every WebGPU plan, and exports back to the pool and the conv', async () => {
    await fc.assert(
      fc.asyncProperty(cases, async (k) => {
        const g = await expectOptimizedMatchesOrt(gpu, caseModel(k), feed(k), ['auto', 'dense', 'sparse']);
        expect(count(g, 'PoolConv')).toBe(1);
        expect(count(importOnnx(exportOnnx(g)), 'PoolConv')).toBe(0);
      }),
      {
        seed: 59,
        numRuns: 5,
        endOnFailure: true,
        examples: [
          [BASE],
          [
            {
              ...BASE,
              pool: 'AveragePool',
              kernel: [2, 2],
              stride: [2, 2],
              pads: [0, 0, 0, 0],
              inception: false,
            },
          ],
          // ceil mode runs the last windows past the input: count_include_pad divides by the taps inside it
          [
            {
              ...BASE,
              pool: 'AveragePool',
              stride: [2, 2],
              pads: [0, 0, 0, 0],
              ceil: true,
              countIncludePad: true,
              inception: false,
            },
          ],
        ],
      },
    );
  });

  it('keeps its node through a .zsk file', () => {
    const g = optimize(importOnnx(caseModel(BASE)));
    const back = decodeZsk(encodeZsk(g)).graph;
    expect(count(back, 'PoolConv')).toBe(1);
    const x = { x: float32([1, 5, 7, 6], Float32Array.from(prunedUniform(210, 9))) };
    expectClose(runCpu(back, x).y, runCpu(importOnnx(caseModel(BASE)), x).y, 0);
  });
});
