import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RuntimeError } from '../errors.js';
import { sizeOf } from '../tensor.js';
import { int, seedArb, shapeArb } from '../testing/arbitraries.js';
import { type Value, value } from '../testing/onnx-graph.js';
import { constant, expectOpMatchesOrt, fed, runOp } from '../testing/op-cases.js';
import { uniform } from '../testing/random.js';
import {
  dequantizeLinear,
  dynamicQuantizeLinear,
  fakeQuantize,
  QUANT_RANGES,
  type QuantDType,
  quantizeLinear,
} from './quantize-linear.js';

const QUANT_TYPES = Object.keys(QUANT_RANGES) as QuantDType[];

/** A quantization case: x's shape, the axis (undefined: per tensor), the integer type and a seed. */
const caseArb = shapeArb(1, 4).chain((shape) =>
  fc.record({
    shape: fc.constant(shape),
    axis: fc.option(int(-shape.length, shape.length - 1), { nil: undefined }),
    dtype: fc.constantFrom(...QUANT_TYPES),
    seed: seedArb,
  }),
);

/** Scales (one, or one per index of the axis) in [0.01, 0.2) and zero points anywhere in the type's range. */
function params(shape: readonly number[], axis: number | undefined, dtype: QuantDType, seed: number) {
  const n = axis === undefined ? 1 : shape.at(axis)!;
  const dims = axis === undefined ? [] : [n];
  const [lo, hi] = QUANT_RANGES[dtype];
  return {
    scale: value('float32', dims, uniform(n, seed + 1, 0.01, 0.2).map(Math.fround)),
    zero: value(dtype, dims, uniform(n, seed + 2, lo, hi + 1).map(Math.floor)),
  };
}

/**
 * Floats that quantize anywhere in the range and past it (saturating), a third of them on exact
 * halfway points k + ½ of the first scale, where rounding half to even decides.
 */
function floats(shape: readonly number[], seed: number, s: number): Value {
  const u = uniform(sizeOf(shape), seed, -300, 300);
  return value(
    'float32',
    shape,
    u.map((v, i) => Math.fround(i % 3 === 0 ? (Math.round(v) + 0.5) * s : v * s)),
  );
}

const opsetArb = fc.constantFrom(13, 19, 21);

describe('QuantizeLinear and DequantizeLinear against ONNX Runtime', () => {
  it('QuantizeLinear: int8 and uint8, per tensor and per axis, ties and saturation, bit-exact', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, opsetArb, async ({ shape, axis, dtype, seed }, opset) => {
        const { scale, zero } = params(shape, axis, dtype, seed);
        await expectOpMatchesOrt(quantizeLinear, {
          op: 'QuantizeLinear',
          opset,
          attrs: axis === undefined ? {} : { axis },
          inputs: [fed(floats(shape, seed, scale.data[0]!)), constant(scale), constant(zero)],
        });
      }),
      { seed: 3, numRuns: 16 },
    );
  });

  it('QuantizeLinear opset 10 without a zero point writes uint8', async () => {
    const scale = value('float32', [], [0.05]);
    await expectOpMatchesOrt(quantizeLinear, {
      op: 'QuantizeLinear',
      opset: 10,
      inputs: [fed(floats([2, 7], 5, 0.05)), constant(scale)],
    });
  });

  it('DequantizeLinear: int8 and uint8, per tensor and per axis, and int32 (biases)', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, opsetArb, async ({ shape, axis, dtype, seed }, opset) => {
        const { scale, zero } = params(shape, axis, dtype, seed);
        const [lo, hi] = QUANT_RANGES[dtype];
        const x = value(dtype, shape, uniform(sizeOf(shape), seed, lo, hi + 1).map(Math.floor));
        const attrs = axis === undefined ? {} : { axis };
        await expectOpMatchesOrt(dequantizeLinear, {
          op: 'DequantizeLinear',
          opset,
          attrs,
          inputs: [fed(x), constant(scale), constant(zero)],
        });
        const bias = value('int32', shape, uniform(sizeOf(shape), seed, -2e6, 2e6).map(Math.floor));
        await expectOpMatchesOrt(dequantizeLinear, {
          op: 'DequantizeLinear',
          opset,
          attrs,
          inputs: [fed(bias), constant(scale)],
        });
      }),
      { seed: 4, numRuns: 12 },
    );
  });

  it('DynamicQuantizeLinear: any sign mix, constant inputs included', async () => {
    await fc.assert(
      fc.asyncProperty(shapeArb(1, 3, 6), seedArb, fc.constantFrom(-3, 0, 3), async (shape, seed, shift) => {
        const x = value(
          'float32',
          shape,
          uniform(sizeOf(shape), seed, -2, 2).map((v) => Math.fround(v + shift)),
        );
        await expectOpMatchesOrt(dynamicQuantizeLinear, {
          op: 'DynamicQuantizeLinear',
          opset: 11,
          outputs: 3,
          inputs: [fed(x)],
        });
      }),
      { seed: 5, numRuns: 10 },
    );
  });
});

describe('FakeQuantize', () => {
  it('equals QuantizeLinear then DequantizeLinear bit for bit', () => {
    fc.assert(
      fc.property(caseArb, ({ shape, axis, dtype, seed }) => {
        const { scale, zero } = params(shape, axis, dtype, seed);
        const attrs = axis === undefined ? {} : { axis };
        const x = floats(shape, seed, scale.data[0]!);
        const q = runOp(quantizeLinear, {
          op: 'QuantizeLinear',
          opset: 13,
          attrs,
          inputs: [fed(x), constant(scale), constant(zero)],
        })[0]!;
        const pair = runOp(dequantizeLinear, {
          op: 'DequantizeLinear',
          opset: 13,
          attrs,
          inputs: [fed(q as Value), constant(scale), constant(zero)],
        })[0]!;
        const fused = runOp(fakeQuantize, {
          op: 'FakeQuantize',
          opset: 13,
          attrs,
          inputs: [fed(x), constant(scale), constant(zero)],
        })[0]!;
        // + 0: the pair's integer step has no −0
        expect(Array.from(fused.data, (v) => v + 0)).toEqual(Array.from(pair.data));
      }),
      { seed: 6, numRuns: 40 },
    );
  });
});

describe('refused quantization', () => {
  const x = value('float32', [2, 4], uniform(8, 1));
  const run = (c: Parameters<typeof runOp>[1]) => () => runOp(quantizeLinear, c);

  it('blocked quantization, 8-bit float and 4-bit integer output types, mismatched scales', () => {
    const scale = value('float32', [2, 2], [0.1, 0.1, 0.1, 0.1]);
    const cases = [
      { attrs: { block_size: 2, axis: 1 }, inputs: [fed(x), constant(scale)], code: 'unsupported-op' },
      {
        attrs: { output_dtype: 17 },
        inputs: [fed(x), constant(value('float32', [], [0.1]))],
        code: 'unsupported-op',
      },
      {
        attrs: { output_dtype: 22 },
        inputs: [fed(x), constant(value('float32', [], [0.1]))],
        code: 'unsupported-op',
      },
      {
        attrs: { axis: 1 },
        inputs: [fed(x), constant(value('float32', [3], [0.1, 0.1, 0.1]))],
        code: 'invalid-model',
      },
      {
        attrs: { axis: 1 },
        inputs: [
          fed(x),
          constant(value('float32', [4], [0.1, 0.1, 0.1, 0.1])),
          constant(value('uint8', [2], [0, 0])),
        ],
        code: 'invalid-model',
      },
    ];
    for (const { attrs, inputs, code } of cases) {
      const f = run({ op: 'QuantizeLinear', opset: 21, attrs, inputs });
      expect(f).toThrow(RuntimeError);
      expect(f).toThrow(expect.objectContaining({ code }));
    }
  });
});
