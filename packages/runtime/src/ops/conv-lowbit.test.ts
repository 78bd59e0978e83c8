import { type Gpu, requestDevice } from '@zeroskip/gpu';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectExecutorsMatchOrt } from '../testing/executors.js';
import { initializer, input, opModel, value } from '../testing/onnx-graph.js';
import { gridWeights, prunedUniform } from '../testing/random.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

interface Case {
  readonly n: number;
  readonly c: number;
  readonly o: number;
  readonly size: number;
  readonly k: 1 | 5;
  readonly groups: 1 | 2;
  readonly ternary: boolean;
  readonly seed: number;
}

/** x → Conv(binary or ternary W per channel, bias; k×k, same padding) → Relu → y. */
function model(c: Case): Uint8Array {
  const taps = (c.c / c.groups) * c.k * c.k;
  return opModel({
    opset: 13,
    inputs: [
      input('x', 'float32', [c.n, c.c, c.size, c.size]),
      initializer(
        'w',
        value('float32', [c.o, c.c / c.groups, c.k, c.k], gridWeights(c.o, taps, true, c.ternary, c.seed)),
      ),
      initializer('b', value('float32', [c.o], prunedUniform(c.o, c.seed + 1))),
    ],
    outputs: ['y'],
    nodes: [
      {
        op: 'Conv',
        inputs: ['x', 'w', 'b'],
        outputs: ['a'],
        attrs: { pads: Array(4).fill(c.k >> 1), group: c.groups },
      },
      { op: 'Relu', inputs: ['a'], outputs: ['y'] },
    ],
  });
}

const LOWBIT_CASE: Case = { n: 3, c: 6, o: 6, size: 7, k: 5, groups: 2, ternary: true, seed: 10 };

describe('convs on ±α or {−α, 0, α} weights per channel', { timeout: 600_000 }, () => {
  it('run the GEMM on their bit planes under the auto plan and match ONNX Runtime; the dense plan keeps the f32 GEMM', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          n: fc.integer({ min: 1, max: 3 }),
          c: fc.constantFrom(2, 4, 6, 40),
          o: fc.integer({ min: 2, max: 9 }).map((o) => o * 2),
          size: fc.integer({ min: 3, max: 9 }),
          k: fc.constantFrom(1 as const, 5 as const),
          groups: fc.constantFrom(1 as const, 2 as const),
          ternary: fc.boolean(),
          seed: fc.integer({ min: 1, max: 10_000 }),
        }),
        async (c) => {
          const feeds = {
            x: value(
              'float32',
              [c.n, c.c, c.size, c.size],
              prunedUniform(c.n * c.c * c.size ** 2, c.seed + 2),
            ),
          };
          const [auto, dense] = await expectExecutorsMatchOrt(gpu, model(c), feeds, {
            plans: ['auto', 'dense'],
          });
          const conv = (plan: typeof auto) => plan!.find((p) => p.op === 'Conv')!;
          if (c === LOWBIT_CASE) expect(conv(auto).kernel).toBe('conv-lowbit');
          else expect(conv(auto).kernel).toMatch(/^conv-lowbit$|^sparse|^direct-sparse$/);
          expect(conv(dense).kernel).toBe('implicit-gemm');
        },
      ),
      // a case the auto plan runs on bit planes on any adapter: dense estimated faster than sparse
      { seed: 29, numRuns: 4, endOnFailure: true, examples: [[LOWBIT_CASE]] },
    );
  });
});
