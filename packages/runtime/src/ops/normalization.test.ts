import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seedArb, shapeArb } from '../testing/arbitraries.js';
import { constant, expectOpMatchesOrt, fed, nodeOf } from '../testing/op-cases.js';
import { randomFloats } from '../testing/random.js';
import { groupNormalization } from './group-normalization.js';
import { instanceNormalization } from './instance-normalization.js';
import { layerNormalization } from './layer-normalization.js';
import { lrn } from './lrn.js';

const SEED = { seed: 3, numRuns: 12 };
/** N, C and 1–2 spatial axes. */
const ncArb = fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 5 }), shapeArb(1, 2));

describe('normalisations against ONNX Runtime', () => {
  it('LRN (opset 13): size, alpha, beta, bias (ONNX Runtime takes 4-D and odd sizes only)', async () => {
    await fc.assert(
      fc.asyncProperty(
        ncArb,
        fc.integer({ min: 0, max: 3 }).map((k) => 2 * k + 1),
        fc.double({ min: 1e-4, max: 1, noNaN: true }),
        fc.double({ min: 0.25, max: 1, noNaN: true }),
        fc.double({ min: 0.5, max: 2, noNaN: true }),
        seedArb,
        async ([n, c, spatial], sz, alpha, beta, bias, seed) => {
          await expectOpMatchesOrt(lrn, {
            op: 'LRN',
            opset: 13,
            attrs: { size: sz, alpha, beta, bias },
            inputs: [fed(randomFloats([n, c, spatial[0]!, spatial[1] ?? 1], seed, -2, 2))],
          });
        },
      ),
      SEED,
    );
  });

  it('LRN with an even size sums ⌊(size−1)/2⌋ channels below and ⌈(size−1)/2⌉ above', () => {
    // size 2 over channels [1, 2]: channel 0 sums 1² + 2², channel 1 only 2²; alpha/size = 1, beta = 1
    const node = nodeOf({ op: 'LRN', opset: 13, attrs: { size: 2, alpha: 2, beta: 1, bias: 1 }, inputs: [] });
    const x = { dtype: 'float32' as const, shape: [1, 2, 1, 1], data: Float32Array.of(1, 2) };
    const [y] = lrn.run(node, [x], { opset: 13 });
    expect(Array.from(y!.data)).toEqual([1 / 6, 2 / 5].map(Math.fround));
  });

  it('InstanceNormalization (opset 6): epsilon, 3-D and 4-D', async () => {
    await fc.assert(
      fc.asyncProperty(
        ncArb,
        fc.double({ min: 1e-6, max: 0.1, noNaN: true }),
        seedArb,
        async ([n, c, spatial], epsilon, seed) => {
          await expectOpMatchesOrt(instanceNormalization, {
            op: 'InstanceNormalization',
            opset: 6,
            attrs: { epsilon },
            inputs: [
              fed(randomFloats([n, c, ...spatial], seed, -2, 2)),
              constant(randomFloats([c], seed + 1, -2, 2)),
              constant(randomFloats([c], seed + 2, -2, 2)),
            ],
          });
        },
      ),
      SEED,
    );
  });

  it('LayerNormalization (opset 17): any axis, optional bias, Mean and InvStdDev outputs', async () => {
    await fc.assert(
      fc.asyncProperty(
        shapeArb(1, 4).chain((shape) =>
          fc.record({
            shape: fc.constant(shape),
            axis: fc.integer({ min: -shape.length, max: shape.length - 1 }),
            bias: fc.boolean(),
            outputs: fc.integer({ min: 1, max: 3 }),
            seed: seedArb,
          }),
        ),
        async ({ shape, axis, bias, outputs, seed }) => {
          const norm = shape.slice(axis < 0 ? axis + shape.length : axis);
          await expectOpMatchesOrt(layerNormalization, {
            op: 'LayerNormalization',
            opset: 17,
            attrs: { axis, epsilon: 1e-5 },
            inputs: [
              fed(randomFloats(shape, seed, -2, 2)),
              constant(randomFloats(norm, seed + 1, -2, 2)),
              bias ? constant(randomFloats(norm, seed + 2, -2, 2)) : undefined,
            ],
            outputs,
          });
        },
      ),
      SEED,
    );
  });

  it('GroupNormalization (opset 21): per-channel scale and bias', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        shapeArb(1, 2),
        seedArb,
        async (n, groups, perGroup, spatial, seed) => {
          const c = groups * perGroup;
          await expectOpMatchesOrt(groupNormalization, {
            op: 'GroupNormalization',
            opset: 21,
            attrs: { num_groups: groups, epsilon: 1e-5 },
            inputs: [
              fed(randomFloats([n, c, ...spatial], seed, -2, 2)),
              constant(randomFloats([c], seed + 1, -2, 2)),
              constant(randomFloats([c], seed + 2, -2, 2)),
            ],
          });
        },
      ),
      SEED,
    );
  });

  it('GroupNormalization (opset 18): scale and bias per group', () => {
    // x = [[0, 2], [4, 8]] as 1×2×2 with one channel per group: each group standardised, then its affine
    const node = nodeOf({
      op: 'GroupNormalization',
      opset: 18,
      attrs: { num_groups: 2, epsilon: 0 },
      inputs: [],
    });
    node.inputs.push('x', 'scale', 'bias');
    const t = (shape: number[], data: number[]) => ({
      dtype: 'float32' as const,
      shape,
      data: Float32Array.from(data),
    });
    const [y] = groupNormalization.run(
      node,
      [t([1, 2, 2], [0, 2, 4, 8]), t([2], [1, 10]), t([2], [0, 100])],
      { opset: 18 },
    );
    expect(Array.from(y!.data)).toEqual([-1, 1, 90, 110]);
  });
});
