import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RuntimeError } from '../errors.js';
import { sizeOf } from '../tensor.js';
import { int, seedArb } from '../testing/arbitraries.js';
import { type Value, value } from '../testing/onnx-graph.js';
import { constant, expectOpMatchesOrt, fed, runOp } from '../testing/op-cases.js';
import { uniform } from '../testing/random.js';
import { convInteger, matMulInteger, qlinearConv, qlinearMatMul } from './qlinear.js';
import { QUANT_RANGES, type QuantDType } from './quantize-linear.js';

/** Seeded integers of a quantized type over its whole range, or within 3 of its middle when `near`. */
function ints(dtype: QuantDType, shape: readonly number[], seed: number, near = false): Value {
  const [lo, hi] = QUANT_RANGES[dtype];
  const mid = Math.floor((lo + hi) / 2);
  const [from, to] = near ? [mid - 3, mid + 4] : [lo, hi + 1];
  return value(dtype, shape, uniform(sizeOf(shape), seed, from, to).map(Math.floor));
}

/**
 * Weights: int8 ones in 7 bits (ONNX Runtime's reduce_range) unless near the middle anyway. On a CPU
 * with AVX2 and no VNNI, its u8×s8 kernels add pairs of products in int16 and saturate, so full-range
 * int8 weights give it wrong outputs there.
 */
function weightInts(dtype: QuantDType, shape: readonly number[], seed: number, near: boolean): Value {
  if (dtype !== 'int8' || near) return ints(dtype, shape, seed, near);
  return value(dtype, shape, uniform(sizeOf(shape), seed, -64, 64).map(Math.floor));
}

/** Zero points: in the middle when the data is near it; int8 weights symmetric, as ONNX Runtime takes them. */
function zeroPoints(
  dtype: QuantDType,
  shape: readonly number[],
  seed: number,
  near: boolean,
  weight: boolean,
) {
  if (weight && dtype === 'int8') return value(dtype, shape, new Array(sizeOf(shape)).fill(0));
  return near ? ints(dtype, shape, seed, true) : ints(dtype, shape, seed);
}

/**
 * Scales of x, w (`wShape`) and y: random ones spreading the accumulators over the output range and
 * past it; or, with `ties`, powers of two whose requantization scale is ½ or ¼, so that small
 * accumulators often land on k + ½ and rounding half to even decides.
 */
function scales(wShape: readonly number[], depth: number, seed: number, ties: boolean) {
  if (ties)
    return {
      sx: value('float32', [], [2 ** -3]),
      sw: value(
        'float32',
        wShape,
        uniform(sizeOf(wShape), seed, 4, 6).map((e) => 2 ** -Math.floor(e)),
      ),
      sy: value('float32', [], [2 ** -6]),
    };
  const sx = floats([], seed + 1, 0.01, 0.05);
  return {
    sx,
    sw: floats(wShape, seed + 2, 0.002, 0.02),
    sy: value('float32', [], [Math.fround(sx.data[0]! * 0.01 * Math.sqrt(depth) * 60)]),
  };
}

const floats = (shape: readonly number[], seed: number, lo: number, hi: number) =>
  value('float32', shape, uniform(sizeOf(shape), seed, lo, hi).map(Math.fround));

/** x and w types ONNX Runtime's integer kernels take: u8 × u8, u8 × s8, s8 × s8. */
const typesArb = fc.constantFrom<[QuantDType, QuantDType]>(
  ['uint8', 'uint8'],
  ['uint8', 'int8'],
  ['int8', 'int8'],
);

/** A small 2-D (or 1-D) convolution: groups, strides, pads, dilations, per-channel weights or not. */
const convArb = fc
  .record({
    n: int(1, 2),
    groups: int(1, 2),
    cg: int(1, 3),
    og: int(1, 3),
    h: int(3, 6),
    w: int(3, 6),
    k: int(1, 3),
    stride: int(1, 2),
    pad: int(0, 1),
    dilation: int(1, 2),
    oneD: fc.boolean(),
    perChannel: fc.boolean(),
    ties: fc.boolean(),
    types: typesArb,
    seed: seedArb,
  })
  .filter((c) => Math.min(c.h, c.w) + 2 * c.pad >= c.dilation * (c.k - 1) + 1);

type ConvCase = typeof convArb extends fc.Arbitrary<infer T> ? T : never;

function convCase(c: ConvCase) {
  const [xt, wt] = c.types;
  const [c_, o] = [c.groups * c.cg, c.groups * c.og];
  const spatial = c.oneD ? [c.w] : [c.h, c.w];
  const kernel = c.oneD ? [c.k] : [c.k, c.k];
  const attrs = {
    group: c.groups,
    strides: kernel.map(() => c.stride),
    pads: [...kernel, ...kernel].map(() => c.pad),
    dilations: kernel.map(() => c.dilation),
  };
  const wz = c.perChannel ? [o] : [];
  return {
    attrs,
    x: ints(xt, [c.n, c_, ...spatial], c.seed, c.ties),
    w: weightInts(wt, [o, c.cg, ...kernel], c.seed + 1, c.ties),
    xZero: zeroPoints(xt, [], c.seed + 2, c.ties, false),
    wZero: zeroPoints(wt, wz, c.seed + 3, c.ties, true),
    depth: c.cg * sizeOf(kernel),
    wScaleShape: wz,
    o,
  };
}

describe('integer convolution and matrix product against ONNX Runtime (exact)', () => {
  it('ConvInteger: uint8 × uint8 and × int8, groups, strides, pads, dilations, 1-D and 2-D', async () => {
    await fc.assert(
      fc.asyncProperty(
        // ONNX Runtime's ConvInteger takes per-tensor zero points only
        convArb.filter((c) => c.types[0] === 'uint8' && !c.perChannel),
        async (c) => {
          const k = convCase(c);
          await expectOpMatchesOrt(convInteger, {
            op: 'ConvInteger',
            opset: 10,
            attrs: k.attrs,
            inputs: [fed(k.x), constant(k.w), constant(k.xZero), constant(k.wZero)],
          });
        },
      ),
      { seed: 7, numRuns: 10 },
    );
  });

  it('QLinearConv: per-tensor and per-channel weights, bias, requantized with ties to even and saturation', async () => {
    await fc.assert(
      fc.asyncProperty(convArb, async (c) => {
        const k = convCase(c);
        const { sx, sw, sy } = scales(k.wScaleShape, k.depth, c.seed + 4, c.ties);
        const [yt] = c.types;
        await expectOpMatchesOrt(qlinearConv, {
          op: 'QLinearConv',
          opset: 10,
          attrs: k.attrs,
          inputs: [
            fed(k.x),
            constant(sx),
            constant(k.xZero),
            constant(k.w),
            constant(sw),
            constant(k.wZero),
            constant(sy),
            constant(ints(yt, [], c.seed + 6)),
            // biases of a few output steps
            constant(
              value(
                'int32',
                [k.o],
                uniform(k.o, c.seed + 7, -1, 1).map((u) => Math.floor(u * (c.ties ? 20 : 5000))),
              ),
            ),
          ],
        });
      }),
      { seed: 8, numRuns: 14 },
    );
  });

  const matmulArb = fc.record({
    batch: fc.constantFrom([], [2]),
    m: int(1, 5),
    k: int(1, 9),
    n: int(1, 5),
    perColumn: fc.boolean(),
    ties: fc.boolean(),
    types: typesArb,
    seed: seedArb,
  });

  it('MatMulInteger and QLinearMatMul: batched A, per-column B zero points and scales', async () => {
    await fc.assert(
      fc.asyncProperty(matmulArb, async ({ batch, m, k, n, perColumn, ties, types: [at, bt], seed }) => {
        const cols = perColumn ? [n] : [];
        const a = ints(at, [...batch, m, k], seed, ties);
        const b = weightInts(bt, [k, n], seed + 1, ties);
        const za = zeroPoints(at, [], seed + 2, ties, false);
        const zb = zeroPoints(bt, cols, seed + 3, ties, true);
        await expectOpMatchesOrt(matMulInteger, {
          op: 'MatMulInteger',
          opset: 10,
          inputs: [fed(a), constant(b), constant(za), constant(zb)],
        });
        const { sx, sw, sy } = scales(cols, k, seed + 4, ties);
        await expectOpMatchesOrt(qlinearMatMul, {
          op: 'QLinearMatMul',
          opset: 10,
          inputs: [
            fed(a),
            constant(sx),
            constant(za),
            constant(b),
            constant(sw),
            constant(zb),
            constant(sy),
            constant(ints(at, [], seed + 6)),
          ],
        });
      }),
      { seed: 9, numRuns: 14 },
    );
  });

  it('refuses float inputs and zero points of another type than their data', () => {
    const x = value('uint8', [1, 1, 3, 3], new Array(9).fill(1));
    const w = value('uint8', [1, 1, 1, 1], [2]);
    const floatX = () =>
      runOp(convInteger, {
        op: 'ConvInteger',
        opset: 10,
        inputs: [fed(floats([1, 1, 3, 3], 1, 0, 1)), constant(w)],
      });
    const mixedZero = () =>
      runOp(convInteger, {
        op: 'ConvInteger',
        opset: 10,
        inputs: [fed(x), constant(w), constant(value('int8', [], [0]))],
      });
    for (const f of [floatX, mixedZero]) expect(f).toThrow(RuntimeError);
  });
});
