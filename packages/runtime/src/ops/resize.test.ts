import { COORDINATE_MODES, NEAREST_MODES } from '@zeroskip/gpu';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seedArb } from '../testing/arbitraries.js';
import { type Value, value } from '../testing/onnx-graph.js';
import {
  type CaseInput,
  constant,
  expectOpMatchesOrt,
  fed,
  inferOp,
  type OpCase,
} from '../testing/op-cases.js';
import { randomFloats } from '../testing/random.js';
import { resizeOp } from './resize.js';

const SEED = { seed: 19, numRuns: 15 };
/** Down- and up-sampling factors, some exactly halfway between output pixels. */
const scaleArb = fc.oneof(
  fc.constantFrom(0.5, 0.6, 0.75, 1, 1.25, 1.5, 2, 2.5, 3),
  fc.double({ min: 0.3, max: 3.5, noNaN: true }),
);
const dimArb = fc.integer({ min: 1, max: 5 });

/** Resize's four inputs: X, roi (only for tf_crop_and_resize), then scales or sizes. */
function resizeInputs(
  x: Value,
  how: { scales: readonly number[] } | { sizes: readonly number[] },
  roi?: readonly number[],
): (CaseInput | undefined)[] {
  return [
    fed(x),
    roi ? constant(value('float32', [roi.length], roi)) : undefined,
    'scales' in how ? constant(value('float32', [how.scales.length], how.scales)) : undefined,
    'sizes' in how ? constant(value('int64', [how.sizes.length], how.sizes)) : undefined,
  ];
}

/** A random roi [starts…, ends…] for rank axes, starts below ends and reaching outside [0, 1] at times. */
const roiArb = (rank: number) =>
  fc.array(
    fc.tuple(fc.double({ min: -0.3, max: 0.6, noNaN: true }), fc.double({ min: 0.4, max: 1.3, noNaN: true })),
    {
      minLength: rank,
      maxLength: rank,
    },
  );

describe('Resize against ONNX Runtime (opset 19)', () => {
  it('nearest on every axis of NCHW: coordinate modes × nearest modes, up and down, scales or sizes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(dimArb, dimArb, dimArb, dimArb),
        fc.tuple(scaleArb, scaleArb, scaleArb, scaleArb),
        fc.constantFrom(...COORDINATE_MODES),
        fc.constantFrom(...NEAREST_MODES),
        fc.boolean(),
        roiArb(4),
        seedArb,
        async (shape, scales, coordinateMode, nearestMode, bySizes, roi, seed) => {
          const out = shape.map((d, i) => Math.max(1, Math.floor(d * Math.fround(scales[i]!))));
          const tf = coordinateMode === 'tf_crop_and_resize';
          // half_pixel_symmetric onto one pixel lands exactly on (in − 1)/2, where ONNX Runtime's
          // rounding of its mixed f32/f64 arithmetic decides the pixel: not a property of the op
          fc.pre(coordinateMode !== 'half_pixel_symmetric' || out.every((d, i) => d > 1 || d === shape[i]));
          await expectOpMatchesOrt(resizeOp, {
            op: 'Resize',
            opset: 19,
            attrs: {
              mode: 'nearest',
              coordinate_transformation_mode: coordinateMode,
              nearest_mode: nearestMode,
              extrapolation_value: -7,
            },
            inputs: resizeInputs(
              randomFloats(shape, seed, -2, 2),
              bySizes ? { sizes: out } : { scales },
              tf ? [...roi.map((r) => r[0]), ...roi.map((r) => r[1])] : undefined,
            ),
          });
        },
      ),
      { ...SEED, numRuns: 40 },
    );
  });

  for (const mode of ['linear', 'cubic'] as const)
    it(`${mode} on H and W: coordinate modes, up and down, scales or sizes${mode === 'cubic' ? ', cubic_coeff_a, exclude_outside' : ''}`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 }), dimArb, dimArb),
          fc.tuple(scaleArb, scaleArb),
          fc.constantFrom(...COORDINATE_MODES),
          fc.boolean(),
          fc.constantFrom(-0.75, -0.5),
          fc.constantFrom(0, 1).map((e) => (mode === 'cubic' ? e : 0)),
          roiArb(2),
          seedArb,
          async (shape, [sh, sw], coordinateMode, bySizes, a, exclude, roi, seed) => {
            const scales = [1, 1, sh, sw];
            const out = shape.map((d, i) => Math.max(1, Math.floor(d * Math.fround(scales[i]!))));
            const tf = coordinateMode === 'tf_crop_and_resize';
            await expectOpMatchesOrt(resizeOp, {
              op: 'Resize',
              opset: 19,
              attrs: {
                mode,
                coordinate_transformation_mode: coordinateMode,
                cubic_coeff_a: a,
                exclude_outside: exclude,
                extrapolation_value: 0.5,
              },
              inputs: resizeInputs(
                randomFloats(shape, seed, -2, 2),
                bySizes ? { sizes: out } : { scales },
                tf ? [0, 0, roi[0]![0], roi[1]![0], 1, 1, roi[0]![1], roi[1]![1]] : undefined,
              ),
            });
          },
        ),
        SEED,
      );
    });

  it('axes and keep_aspect_ratio_policy (opset 18 forms): sizes for some axes, one scale for all', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(dimArb, dimArb, dimArb, dimArb),
        fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 })),
        fc.constantFrom('stretch', 'not_larger', 'not_smaller'),
        fc.constantFrom('nearest', 'linear'),
        fc.boolean(),
        seedArb,
        async (shape, sizes, policy, mode, negative, seed) => {
          // ONNX Runtime ignores negative axes under not_larger and not_smaller, so only stretch tries them
          const axes = negative && policy === 'stretch' ? [-2, -1] : [2, 3];
          await expectOpMatchesOrt(resizeOp, {
            op: 'Resize',
            opset: 19,
            attrs: { mode, axes, keep_aspect_ratio_policy: policy },
            inputs: resizeInputs(randomFloats(shape, seed, -2, 2), { sizes }),
          });
        },
      ),
      SEED,
    );
  });

  it('nearest on integers (int32 in ONNX Runtime, int64 here) and on 3-D inputs; equal shapes copy', async () => {
    for (const scales of [
      [1, 2, 1.5],
      [1, 1, 1],
    ])
      await expectOpMatchesOrt(resizeOp, {
        op: 'Resize',
        opset: 19,
        attrs: { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' },
        inputs: resizeInputs(value('int32', [1, 2, 3], [1, 2, 3, 4, 5, 6]), { scales }),
      });
  });

  it('names the problem: antialiased downsampling, both scales and sizes, unknown modes', () => {
    const base: OpCase = {
      op: 'Resize',
      opset: 19,
      attrs: { mode: 'linear', antialias: 1 },
      inputs: resizeInputs(randomFloats([1, 1, 4, 4], 1), { scales: [1, 1, 0.5, 0.5] }),
    };
    const infer = (c: OpCase) => () => inferOp(resizeOp, c);
    expect(infer(base)).toThrow(/antialias = 1/);
    expect(
      infer({
        ...base,
        attrs: { mode: 'linear', antialias: 1 },
        inputs: resizeInputs(randomFloats([1, 1, 2, 2], 1), { scales: [1, 1, 2, 2] }),
      }),
    ).not.toThrow();
    const both = resizeInputs(randomFloats([1, 1, 2, 2], 1), { scales: [1, 1, 2, 2] });
    both[3] = constant(value('int64', [4], [1, 1, 4, 4]));
    expect(infer({ ...base, attrs: {}, inputs: both })).toThrow(/exactly one of scales and sizes/);
    expect(infer({ ...base, attrs: { mode: 'bilinear' } })).toThrow(
      /mode 'bilinear'; the supported ones are nearest, linear, cubic/,
    );
  });
});
