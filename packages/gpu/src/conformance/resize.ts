import { seededRandom } from '@zeroskip/quant';
import type { Gpu } from '../device.js';
import { GpuError } from '../errors.js';
import {
  COORDINATE_MODES,
  type CoordinateMode,
  encodeResize,
  NEAREST_MODES,
  type ResizeParams,
  resizeReference,
} from '../kernels/resize.js';
import { resizedLength } from '../kernels/resize-rules.js';
import { assertClose, assertThrows } from './assert.js';
import type { ConformanceCase } from './case.js';
import { randomArray } from './data.js';

type Shape4 = [number, number, number, number];

/**
 * Resizes a seeded random input to the output size that each scale gives (as ONNX Runtime
 * rounds it) and compares every variant with the reference; nearest modes must agree exactly.
 */
async function check(g: Gpu, seed: number, variants: readonly ResizeParams[]): Promise<void> {
  const rnd = seededRandom(seed);
  const shape: Shape4 = [
    1 + Math.floor(rnd() * 2),
    1 + Math.floor(rnd() * 3),
    2 + Math.floor(rnd() * 6),
    2 + Math.floor(rnd() * 6),
  ];
  const x = randomArray(
    shape.reduce((a, b) => a * b),
    seed,
  );
  const xt = g.tensor(shape, x);
  const runs = variants.map((p) => {
    const out: Shape4 = [
      shape[0],
      shape[1],
      resizedLength(shape[2], p.scales[0]),
      resizedLength(shape[3], p.scales[1]),
    ];
    return { p, out, y: g.empty(out) };
  });
  await g.submit((r) => {
    for (const { p, y } of runs) encodeResize(r, xt, y, p);
  });
  for (const { p, out, y } of runs)
    assertClose(
      await g.read(y),
      resizeReference(x, shape, out[2], out[3], p),
      p.mode === 'nearest' ? 0 : 1e-5,
      p.mode === 'nearest' ? 0 : 1e-6,
      `resize ${JSON.stringify(p)} of [${shape.join(', ')}]`,
    );
}

/** Scales up, down, mixed, identity on one axis, and one derived from sizes (7/5 as f32). */
const SCALES: readonly (readonly [number, number])[] = [
  [2, 3],
  [0.5, 0.75],
  [1.5, 0.6],
  [1, 2.5],
  [Math.fround(7 / 5), Math.fround(3 / 4)],
];

const INTEGER_SCALES: readonly (readonly [number, number])[] = [
  [2, 3],
  [4, 1],
];

const ROI = [0.2, 0.1, 0.9, 1.1] as const;

/** The roi and extrapolation value a tf_crop_and_resize variant needs. */
function withRoi(p: ResizeParams): ResizeParams {
  return p.coordinateMode === 'tf_crop_and_resize' ? { ...p, roi: ROI, extrapolationValue: 7 } : p;
}

export const resizeCases: ConformanceCase[] = [
  {
    group: 'resize',
    name: 'nearest: every nearest_mode under every coordinate mode, scales up, down and mixed',
    run: async (g) => {
      const nearest = (coordinateMode: CoordinateMode, scales: readonly [number, number]) =>
        NEAREST_MODES.map((nearestMode) => withRoi({ mode: 'nearest', coordinateMode, nearestMode, scales }));
      for (const [i, scales] of SCALES.entries())
        await check(
          g,
          100 + i,
          COORDINATE_MODES.filter((m) => m !== 'half_pixel_symmetric').flatMap((m) => nearest(m, scales)),
        );
      // ONNX Runtime sums half_pixel_symmetric in f64, the kernel in f32: only integer scales, whose
      // ties are exact in both, can be compared bit for bit
      for (const [i, scales] of INTEGER_SCALES.entries())
        await check(g, 150 + i, nearest('half_pixel_symmetric', scales));
    },
  },
  {
    group: 'resize',
    name: 'linear and cubic (a = −0.75 and −0.5, exclude_outside) under every coordinate mode',
    run: async (g) => {
      for (const [i, scales] of SCALES.entries())
        await check(
          g,
          200 + i,
          COORDINATE_MODES.flatMap((coordinateMode) => [
            withRoi({ mode: 'linear', coordinateMode, scales }),
            withRoi({ mode: 'cubic', coordinateMode, scales }),
            withRoi({ mode: 'cubic', coordinateMode, scales, cubicCoeffA: -0.5, excludeOutside: true }),
          ]),
        );
    },
  },
  {
    group: 'resize',
    name: 'inconsistent shapes, scales and roi are refused',
    run: async (g) => {
      const x = g.empty([1, 2, 4, 4]);
      const p: ResizeParams = { mode: 'linear', coordinateMode: 'half_pixel', scales: [2, 2] };
      const bad: [readonly number[], ResizeParams][] = [
        [[1, 3, 8, 8], p],
        [[1, 2, 8, 8], { ...p, scales: [0, 2] }],
        [[1, 2, 8, 8], { ...p, coordinateMode: 'tf_crop_and_resize' }],
        [[1, 2, 8, 8], { ...p, roi: ROI }],
      ];
      for (const [out, params] of bad)
        await assertThrows(
          () => g.submit((r) => encodeResize(r, x, g.empty(out), params)),
          GpuError,
          /Resize/,
        );
    },
  },
];
