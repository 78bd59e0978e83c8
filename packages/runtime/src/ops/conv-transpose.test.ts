import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seedArb } from '../testing/arbitraries.js';
import { constant, expectOpMatchesOrt, fed, inferOp, type OpCase } from '../testing/op-cases.js';
import { randomFloats as floats } from '../testing/random.js';
import { convTranspose } from './conv-transpose.js';

/** One spatial axis: input size, kernel, stride, dilation, pads, and an output_padding below the stride (ONNX Runtime's bound). */
const axisArb = fc
  .record({
    in: fc.integer({ min: 1, max: 5 }),
    k: fc.integer({ min: 1, max: 3 }),
    s: fc.integer({ min: 1, max: 3 }),
    d: fc.integer({ min: 1, max: 2 }),
    begin: fc.integer({ min: 0, max: 2 }),
    end: fc.integer({ min: 0, max: 2 }),
    adj: fc.nat(),
  })
  .map((a) => ({ ...a, adj: a.adj % a.s }));

const caseArb = fc.record({
  rank: fc.constantFrom(1, 2),
  n: fc.integer({ min: 1, max: 2 }),
  groups: fc.integer({ min: 1, max: 2 }),
  cg: fc.integer({ min: 1, max: 2 }),
  og: fc.integer({ min: 1, max: 2 }),
  axes: fc.tuple(axisArb, axisArb),
  autoPad: fc.constantFrom('NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'),
  /** How much shorter than the full scatter output_shape is, when given (it then decides the pads). */
  outputShape: fc.option(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 }))),
  bias: fc.boolean(),
  seed: seedArb,
});

describe('ConvTranspose against ONNX Runtime (opset 11)', () => {
  it('1-D and 2-D: groups, strides, dilations, pads, output_padding, auto_pad, output_shape, bias', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const axes = c.axes.slice(2 - c.rank);
        const full = axes.map((a) => a.s * (a.in - 1) + a.adj + a.d * (a.k - 1) + 1);
        const outputShape = c.outputShape && axes.map((_, i) => Math.max(1, full[i]! - c.outputShape![i]!));
        // output sizes must stay positive: pads no larger than what the scatter spans
        fc.pre(
          outputShape !== null || c.autoPad !== 'NOTSET' || axes.every((a, i) => a.begin + a.end < full[i]!),
        );
        // SAME_* with a scatter shorter than in·stride: covered on its own below
        fc.pre(
          outputShape !== null ||
            !c.autoPad.startsWith('SAME') ||
            axes.every((a, i) => full[i]! >= a.in * a.s),
        );
        const channels = c.groups * c.cg;
        await expectOpMatchesOrt(convTranspose, {
          op: 'ConvTranspose',
          opset: 11,
          attrs: {
            group: c.groups,
            strides: axes.map((a) => a.s),
            dilations: axes.map((a) => a.d),
            output_padding: axes.map((a) => a.adj),
            auto_pad: c.autoPad,
            ...(c.autoPad === 'NOTSET' && { pads: [...axes.map((a) => a.begin), ...axes.map((a) => a.end)] }),
            ...(outputShape && { output_shape: outputShape }),
          },
          inputs: [
            fed(floats([c.n, channels, ...axes.map((a) => a.in)], c.seed)),
            constant(floats([channels, c.og, ...axes.map((a) => a.k)], c.seed + 1)),
            c.bias ? constant(floats([c.og * c.groups], c.seed + 2)) : undefined,
          ],
        });
      }),
      { seed: 41, numRuns: 40 },
    );
  });

  it('SAME_UPPER and SAME_LOWER give min(scatter, in·stride) outputs, as ONNX Runtime does', async () => {
    // in 3, kernel 1, stride 3: the scatter spans 7 < 9 = in·stride, so nothing is padded
    for (const autoPad of ['SAME_UPPER', 'SAME_LOWER'])
      await expectOpMatchesOrt(convTranspose, {
        op: 'ConvTranspose',
        opset: 11,
        attrs: { auto_pad: autoPad, strides: [3, 1] },
        inputs: [fed(floats([1, 1, 3, 2], 1)), constant(floats([1, 1, 1, 2], 2))],
      });
  });

  it('rejects 3-D transposed convolutions and a kernel_shape that contradicts the weights', () => {
    const c: OpCase = {
      op: 'ConvTranspose',
      opset: 11,
      inputs: [fed(floats([1, 1, 2, 2, 2], 1)), constant(floats([1, 1, 1, 1, 1], 2))],
    };
    expect(() => inferOp(convTranspose, c)).toThrow(/only 1-D and 2-D/);
    const k: OpCase = {
      ...c,
      attrs: { kernel_shape: [3, 3] },
      inputs: [fed(floats([1, 1, 2, 2], 1)), constant(floats([1, 1, 1, 1], 2))],
    };
    expect(() => inferOp(convTranspose, k)).toThrow(/kernel_shape \[3, 3\]/);
  });
});
