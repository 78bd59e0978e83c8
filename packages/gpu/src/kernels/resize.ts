import type { Program } from '../device.js';
import { GpuError } from '../errors.js';
import type { Recorder } from '../recorder.js';
import type { GpuTensor } from '../tensor.js';
import { UniformStruct } from '../uniforms.js';
import { bindings } from '../wgsl.js';
import { elementwiseWgsl, encodeElementwise } from './elementwise.js';
import {
  COORDINATE_MODES,
  type CoordinateMode,
  NEAREST_MODES,
  type NearestMode,
  RESIZE_DEFAULTS,
  RESIZE_MODES,
  type ResizeAxis,
  type ResizeMode,
  type ResizeSampling,
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

// ONNX Resize of NCHW on the two spatial axes. The WGSL mirrors the per-axis rules of
// resize-rules.ts (ONNX Runtime's f32 expressions in its order), so nearest-neighbour choices at
// exact ties agree, and an axis of scale 1 maps each output to the same input index whatever the
// coordinate mode. One exception: ONNX Runtime sums half_pixel_symmetric's terms in f64, this kernel
// in f32 (shader compilers simplify away the error-free transformations that would emulate f64), so
// there a coordinate within an f32 rounding of a nearest-mode tie may select the neighbouring pixel.
// Antialiasing (opset 18) is not supported; axes and keep_aspect_ratio_policy only change the
// scales and sizes, which the caller resolves.

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

interface ResizeSpec {
  readonly mode: ResizeMode;
  readonly coordinateMode: CoordinateMode;
  readonly nearestMode: NearestMode | undefined;
  readonly excludeOutside: boolean | undefined;
}

/** WGSL of the input coordinate of output coordinate o along one axis (ONNX Runtime's expressions). */
const COORDINATE_WGSL: Record<CoordinateMode, string> = {
  half_pixel: 'return (f32(o) + 0.5) / scale - 0.5;',
  half_pixel_symmetric: `let adjustment = f32(lenOut) / (scale * f32(lenIn));
  let offset = f32(lenIn) / 2.0 * (1.0 - adjustment);
  return offset + (f32(o) + 0.5) / scale - 0.5;`,
  pytorch_half_pixel: 'if (lenOut > 1u) { return (f32(o) + 0.5) / scale - 0.5; }\n  return 0.0;',
  align_corners: 'if (lenOut == 1u) { return 0.0; }\n  return f32(o) * f32(lenIn - 1u) / f32(lenOut - 1u);',
  asymmetric: 'return f32(o) / scale;',
  tf_crop_and_resize: `if (lenOut > 1u) { return start * f32(lenIn - 1u) + f32(o) * (end - start) * f32(lenIn - 1u) / f32(lenOut - 1u); }
  return 0.5 * (start + end) * f32(lenIn - 1u);`,
};

/** WGSL rounding of a coordinate v with fraction d = v − floor(v) to the nearest input index. */
const ROUNDING_WGSL: Record<NearestMode, string> = {
  round_prefer_floor: 'select(f, f + 1.0, d > 0.5)',
  round_prefer_ceil: 'select(f, f + 1.0, d >= 0.5)',
  floor: 'f',
  ceil: 'select(f, f + 1.0, d > 0.0)',
};

function samplerWgsl(spec: ResizeSpec): string {
  if (spec.mode === 'nearest')
    return /* wgsl */ `
fn nearest(v: f32, len: u32) -> u32 {
  let f = floor(v);
  let d = v - f;
  return u32(clamp(${ROUNDING_WGSL[spec.nearestMode ?? RESIZE_DEFAULTS.nearestMode]}, 0.0, f32(len - 1u)));
}
fn sample(base: u32, fy: f32, fx: f32) -> f32 {
  return x[base + nearest(fy, p.h) * p.w + nearest(fx, p.w)];
}`;
  if (spec.mode === 'linear')
    return /* wgsl */ `
// Neighbours i0 ≤ i1 of v clamped into the axis, and d0 = |v − i0|, d1 = |v − i1| (½ each at the edge).
struct Taps { i0: u32, i1: u32, d0: f32, d1: f32 }
fn taps(v: f32, len: u32) -> Taps {
  let c = clamp(v, 0.0, f32(len - 1u));
  let i0 = min(u32(c), len - 1u);
  let i1 = min(i0 + 1u, len - 1u);
  if (i0 == i1) { return Taps(i0, i1, 0.5, 0.5); }
  return Taps(i0, i1, c - f32(i0), f32(i1) - c);
}
fn sample(base: u32, fy: f32, fx: f32) -> f32 {
  let ty = taps(fy, p.h);
  let tx = taps(fx, p.w);
  let r0 = base + ty.i0 * p.w;
  let r1 = base + ty.i1 * p.w;
  return tx.d1 * ty.d1 * x[r0 + tx.i0] + tx.d0 * ty.d1 * x[r0 + tx.i1]
       + tx.d1 * ty.d0 * x[r1 + tx.i0] + tx.d0 * ty.d0 * x[r1 + tx.i1];
}`;
  const exclude = spec.excludeOutside
    ? `for (var i = 0; i < 4; i++) {
    let j = t + i - 1;
    if (j < 0 || j >= i32(len)) { c[i] = 0.0; }
  }
  c = c / (c.x + c.y + c.z + c.w);`
    : '';
  return /* wgsl */ `
fn cubicCoeffs(s: f32) -> vec4f {
  let a = p.cubicA;
  return vec4f(
    ((a * (s + 1.0) - 5.0 * a) * (s + 1.0) + 8.0 * a) * (s + 1.0) - 4.0 * a,
    ((a + 2.0) * s - (a + 3.0)) * s * s + 1.0,
    ((a + 2.0) * (1.0 - s) - (a + 3.0)) * (1.0 - s) * (1.0 - s) + 1.0,
    ((a * (2.0 - s) - 5.0 * a) * (2.0 - s) + 8.0 * a) * (2.0 - s) - 4.0 * a);
}
// The four taps floor(v) − 1 … floor(v) + 2 of v: their weights, and the first tap.
struct Cubic { t: i32, c: vec4f }
fn cubic(v: f32, len: u32) -> Cubic {
  let fl = floor(v);
  let t = i32(fl);
  var c = cubicCoeffs(v - fl);
  ${exclude}
  return Cubic(t, c);
}
fn tap(t: i32, len: u32) -> u32 { return u32(clamp(t, 0, i32(len) - 1)); }
fn sample(base: u32, fy: f32, fx: f32) -> f32 {
  let cy = cubic(fy, p.h);
  let cx = cubic(fx, p.w);
  var acc = 0.0;
  for (var i = 0; i < 4; i++) {
    let row = base + tap(cy.t + i - 1, p.h) * p.w;
    var r = 0.0;
    for (var j = 0; j < 4; j++) { r += cx.c[j] * x[row + tap(cx.t + j - 1, p.w)]; }
    acc += cy.c[i] * r;
  }
  return acc;
}`;
}

const PARAMS = new UniformStruct('ResizeParams', {
  total: 'u32',
  h: 'u32',
  w: 'u32',
  oh: 'u32',
  ow: 'u32',
  scaleH: 'f32',
  scaleW: 'f32',
  cubicA: 'f32',
  startH: 'f32',
  startW: 'f32',
  endH: 'f32',
  endW: 'f32',
  extrapolation: 'f32',
});

const resizeProgram: Program<ResizeSpec> = {
  name: 'resize',
  wgsl: (spec) =>
    elementwiseWgsl(
      `${bindings(
        [
          ['x', 'array<f32>', 'read'],
          ['y', 'array<f32>', 'read_write'],
        ],
        0,
        PARAMS,
      )}
fn original(o: u32, scale: f32, lenOut: u32, lenIn: u32, start: f32, end: f32) -> f32 {
  if (scale == 1.0) { return f32(o); }
  ${COORDINATE_WGSL[spec.coordinateMode]}
}
${samplerWgsl(spec)}`,
      'p.total',
      `let ox = e % p.ow;
  let oy = (e / p.ow) % p.oh;
  let fy = original(oy, p.scaleH, p.oh, p.h, p.startH, p.endH);
  let fx = original(ox, p.scaleW, p.ow, p.w, p.startW, p.endW);
  ${
    spec.coordinateMode === 'tf_crop_and_resize'
      ? 'if (fy < 0.0 || fy > f32(p.h - 1u) || fx < 0.0 || fx > f32(p.w - 1u)) { y[e] = p.extrapolation; return; }'
      : ''
  }
  y[e] = sample(e / (p.oh * p.ow) * p.h * p.w, fy, fx);`,
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

/** ONNX Resize of x [N, C, H, W] into y [N, C, OH, OW]. */
export function encodeResize(r: Recorder, x: GpuTensor, y: GpuTensor, params: ResizeParams): void {
  checkResize(x.shape, y.shape, params);
  const [, , h, w] = x.shape as [number, number, number, number];
  const [, , oh, ow] = y.shape as [number, number, number, number];
  const spec: ResizeSpec = {
    mode: params.mode,
    coordinateMode: params.coordinateMode,
    nearestMode: params.mode === 'nearest' ? (params.nearestMode ?? RESIZE_DEFAULTS.nearestMode) : undefined,
    excludeOutside: params.mode === 'cubic' ? params.excludeOutside === true : undefined,
  };
  const [startH, startW, endH, endW] = params.roi ?? WHOLE;
  encodeElementwise(
    r,
    'resize',
    resizeProgram,
    spec,
    PARAMS,
    {
      total: y.size,
      h,
      w,
      oh,
      ow,
      scaleH: params.scales[0],
      scaleW: params.scales[1],
      cubicA: params.cubicCoeffA ?? RESIZE_DEFAULTS.cubicCoeffA,
      startH,
      startW,
      endH,
      endW,
      extrapolation: params.extrapolationValue ?? 0,
    },
    [x, y],
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
  const [startH, startW, endH, endW] = params.roi ?? WHOLE;
  const taps = (axis: ResizeAxis) =>
    Array.from({ length: axis.lenOut }, (_, o) => resizeTaps(o, axis, params));
  const ty = taps({ lenIn: h, lenOut: outH, scale: params.scales[0], start: startH, end: endH });
  const tx = taps({ lenIn: w, lenOut: outW, scale: params.scales[1], start: startW, end: endW });
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
