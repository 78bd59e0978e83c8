import type { Program } from '../device.js';
import { GpuError } from '../errors.js';
import type { Recorder } from '../recorder.js';
import type { GpuTensor } from '../tensor.js';
import { UniformStruct } from '../uniforms.js';
import { bindings } from '../wgsl.js';
import { elementwiseWgsl, encodeElementwise } from './elementwise.js';
import {
  COORDINATE_MODES,
  NEAREST_MODES,
  RESIZE_MODES,
  type ResizeAxis,
  type ResizeSampling,
  type ResizeTap,
  resizeTaps,
} from './resize-rules.js';

export {
  COORDINATE_MODES,
  type CoordinateMode,
  NEAREST_MODES,
  type NearestMode,
  RESIZE_MODES,
  type ResizeMode,
} from './resize-rules.js';

// ONNX Resize of NCHW on the two spatial axes. Which input pixels an output pixel reads, and with
// what weights, depends on its row and column alone: the host computes those taps per axis with
// resize-rules.ts (ONNX Runtime's arithmetic, f64 where it uses f64) into a small table, and the
// kernel only gathers. So nearest-neighbour choices at exact ties agree with the CPU on every GPU,
// whatever its division's rounding (WGSL allows 2.5 ulp, and NVIDIA's is not exact). Antialiasing
// (opset 18) is not supported; axes and keep_aspect_ratio_policy only change the scales and sizes,
// which the caller resolves.

export interface ResizeParams extends ResizeSampling {
  /**
   * Scale of [H, W] used in the coordinate transform: the given scale when the model gives scales,
   * output/input when it gives sizes (ONNX does not recompute it from the rounded output size).
   */
  readonly scales: readonly [number, number];
  /** tf_crop_and_resize: the normalised region [startH, startW, endH, endW]. */
  readonly roi?: readonly [number, number, number, number];
  /** tf_crop_and_resize: the value of outputs that sample outside the input (ONNX default 0). */
  readonly extrapolationValue?: number;
}

/** The roi outside tf_crop_and_resize: both axes whole. */
const WHOLE = [0, 0, 1, 1] as const;

/** Taps per output coordinate: 1 (nearest), 2 (linear) or 4 (cubic). */
const TAPS = { nearest: 1, linear: 2, cubic: 4 } as const;

interface ResizeSpec {
  readonly taps: number;
}

const PARAMS = new UniformStruct('ResizeParams', {
  total: 'u32',
  h: 'u32',
  w: 'u32',
  oh: 'u32',
  ow: 'u32',
  extrapolation: 'f32',
});

// table: per output row, then per output column, `taps` input indices (-1: extrapolate) and then
// `taps` f32 weights (as bits)
const resizeProgram: Program<ResizeSpec> = {
  name: 'resize',
  wgsl: ({ taps }) =>
    elementwiseWgsl(
      bindings(
        [
          ['x', 'array<f32>', 'read'],
          ['y', 'array<f32>', 'read_write'],
          ['table', 'array<u32>', 'read'],
        ],
        0,
        PARAMS,
      ),
      'p.total',
      `let ox = e % p.ow;
  let oy = (e / p.ow) % p.oh;
  let base = e / (p.oh * p.ow) * p.h * p.w;
  let ty = oy * ${2 * taps}u;
  let tx = (p.oh + ox) * ${2 * taps}u;
  if (i32(table[ty]) < 0 || i32(table[tx]) < 0) { y[e] = p.extrapolation; return; }
  var acc = 0.0;
  for (var i = 0u; i < ${taps}u; i++) {
    let row = base + table[ty + i] * p.w;
    let wy = bitcast<f32>(table[ty + ${taps}u + i]);
    for (var j = 0u; j < ${taps}u; j++) {
      acc += wy * bitcast<f32>(table[tx + ${taps}u + j]) * x[row + table[tx + j]];
    }
  }
  y[e] = acc;`,
    ),
};

function checkResize(shape: readonly number[], out: readonly number[], params: ResizeParams): void {
  const bad = (what: string) => new GpuError('invalid-argument', `Resize: ${what}.`);
  if (shape.length !== 4 || out.length !== 4 || shape[0] !== out[0] || shape[1] !== out[1])
    throw bad(
      `input [${shape.join(', ')}] and output [${out.join(', ')}] must be NCHW with equal N and C (only the spatial axes are resized)`,
    );
  if (shape.some((d) => d < 1)) throw bad(`the input [${shape.join(', ')}] must not be empty`);
  if (!RESIZE_MODES.includes(params.mode)) throw bad(`unknown mode '${params.mode}'`);
  if (!COORDINATE_MODES.includes(params.coordinateMode))
    throw bad(`unknown coordinate_transformation_mode '${params.coordinateMode}'`);
  if (params.nearestMode !== undefined && !NEAREST_MODES.includes(params.nearestMode))
    throw bad(`unknown nearest_mode '${params.nearestMode}'`);
  if (!params.scales.every((s) => Number.isFinite(s) && s > 0))
    throw bad(`scales [${params.scales.join(', ')}] must be finite and positive`);
  if ((params.coordinateMode === 'tf_crop_and_resize') !== (params.roi !== undefined))
    throw bad('roi is given exactly when coordinate_transformation_mode is tf_crop_and_resize');
}

/** The taps of every output coordinate of both axes (undefined: tf_crop_and_resize extrapolates there). */
function axisTaps(
  [h, w]: readonly [number, number],
  [oh, ow]: readonly [number, number],
  params: ResizeParams,
): (ResizeTap[] | undefined)[][] {
  const [startH, startW, endH, endW] = params.roi ?? WHOLE;
  const taps = (axis: ResizeAxis) =>
    Array.from({ length: axis.lenOut }, (_, o) => resizeTaps(o, axis, params));
  return [
    taps({ lenIn: h, lenOut: oh, scale: params.scales[0], start: startH, end: endH }),
    taps({ lenIn: w, lenOut: ow, scale: params.scales[1], start: startW, end: endW }),
  ];
}

/** The kernel's table: per coordinate `k` indices then `k` weights, short tap lists padded with weight 0. */
function tapTable(axes: (ResizeTap[] | undefined)[][], k: number): Uint32Array {
  const rows = axes.flat();
  const words = new Uint32Array(rows.length * 2 * k);
  const weights = new Float32Array(words.buffer);
  rows.forEach((taps, r) => {
    for (let t = 0; t < k; t++) {
      const [index, weight] = taps?.[t] ?? [taps ? taps[0]![0] : -1, 0];
      words[r * 2 * k + t] = index >>> 0;
      weights[r * 2 * k + k + t] = weight;
    }
  });
  return words;
}

/** ONNX Resize of x [N, C, H, W] into y [N, C, OH, OW]. */
export function encodeResize(r: Recorder, x: GpuTensor, y: GpuTensor, params: ResizeParams): void {
  checkResize(x.shape, y.shape, params);
  const [, , h, w] = x.shape as [number, number, number, number];
  const [, , oh, ow] = y.shape as [number, number, number, number];
  const taps = TAPS[params.mode];
  const table = r.gpu.constants(tapTable(axisTaps([h, w], [oh, ow], params), taps));
  encodeElementwise(
    r,
    'resize',
    resizeProgram,
    { taps },
    PARAMS,
    { total: y.size, h, w, oh, ow, extrapolation: params.extrapolationValue ?? 0 },
    [x, y, table],
  );
}

/** ONNX Resize of x [N, C, H, W] to [N, C, outH, outW], as ONNX Runtime computes it. */
export function resizeReference(
  x: Float32Array,
  shape: readonly [number, number, number, number],
  outH: number,
  outW: number,
  params: ResizeParams,
): Float32Array {
  const [n, c, h, w] = shape;
  checkResize(shape, [n, c, outH, outW], params);
  const [ty, tx] = axisTaps([h, w], [outH, outW], params) as [
    (ResizeTap[] | undefined)[],
    (ResizeTap[] | undefined)[],
  ];
  const y = new Float32Array(n * c * outH * outW);
  let e = 0;
  for (let plane = 0; plane < n * c; plane++)
    for (const ry of ty)
      for (const rx of tx) {
        let acc = 0;
        for (const [iy, wy] of ry ?? [])
          for (const [ix, wx] of rx ?? []) acc += wy * wx * x[(plane * h + iy) * w + ix]!;
        y[e++] = ry && rx ? acc : (params.extrapolationValue ?? 0);
      }
  return y;
}
