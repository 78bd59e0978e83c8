// ONNX Resize's rules along one axis (opsets 11–19), as ONNX Runtime computes them: the output
// length, the input coordinate of each output coordinate, and the input taps and weights that it
// reads. Coordinates are ONNX Runtime's f32 expressions in its order (Math.fround after each f32
// operation), so that nearest-neighbour choices at exact ties agree with it. Every resize applies
// these per axis: the CPU reference of the 4-D kernel, whose WGSL mirrors them, and the runtime's
// N-D CPU operator.

export const RESIZE_MODES = ['nearest', 'linear', 'cubic'] as const;
export type ResizeMode = (typeof RESIZE_MODES)[number];

export const COORDINATE_MODES = [
  'half_pixel',
  'half_pixel_symmetric',
  'pytorch_half_pixel',
  'align_corners',
  'asymmetric',
  'tf_crop_and_resize',
] as const;
export type CoordinateMode = (typeof COORDINATE_MODES)[number];

export const NEAREST_MODES = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'] as const;
export type NearestMode = (typeof NEAREST_MODES)[number];

/** ONNX's defaults of the sampling attributes. */
export const RESIZE_DEFAULTS = {
  mode: 'nearest',
  coordinateMode: 'half_pixel',
  nearestMode: 'round_prefer_floor',
  cubicCoeffA: -0.75,
} as const;

/** How a resize samples its input along every axis; ONNX's defaults where an option is absent. */
export interface ResizeSampling {
  readonly mode: ResizeMode;
  readonly coordinateMode: CoordinateMode;
  /** Rounding of nearest mode. */
  readonly nearestMode?: NearestMode;
  /** Cubic mode: the a of the cubic convolution kernel. */
  readonly cubicCoeffA?: number;
  /** Cubic mode: taps outside the input get weight 0 and the rest are renormalised. */
  readonly excludeOutside?: boolean;
}

/** One axis of a resize: its input and output lengths, its scale, and tf_crop_and_resize's roi on it. */
export interface ResizeAxis {
  readonly lenIn: number;
  readonly lenOut: number;
  /**
   * The scale of the coordinate transform: the given scale when the model gives scales, output/input
   * as f32 when it gives sizes (ONNX does not recompute it from the rounded output length).
   */
  readonly scale: number;
  /** tf_crop_and_resize: the normalised start and end of the region (default the whole axis). */
  readonly start?: number;
  readonly end?: number;
}

/** An input index and its weight. */
export type ResizeTap = readonly [index: number, weight: number];

const fr = Math.fround;

/** The output length of an axis of `len` resized by `scale`: int64(f32 scale · len), as ONNX Runtime computes it. */
export function resizedLength(len: number, scale: number): number {
  return Math.floor(fr(fr(scale) * len));
}

/** The input coordinate of output coordinate o along `axis` under `mode` (scale ≠ 1; see {@link resizeTaps}). */
export function originalCoordinate(mode: CoordinateMode, o: number, axis: ResizeAxis): number {
  const { lenIn, lenOut } = axis;
  const s = fr(axis.scale);
  const halfPixel = () => fr(fr(fr(o + 0.5) / s) - 0.5);
  switch (mode) {
    case 'half_pixel':
      return halfPixel();
    case 'half_pixel_symmetric': {
      const adjustment = fr(lenOut / fr(s * lenIn));
      const offset = fr(fr(lenIn / 2) * fr(1 - adjustment));
      // ONNX Runtime sums these in f64 (its 0.5 literals are doubles here)
      return fr(offset + (o + 0.5) / s - 0.5);
    }
    case 'pytorch_half_pixel':
      return lenOut > 1 ? halfPixel() : 0;
    case 'align_corners':
      return lenOut === 1 ? 0 : fr(fr(o * (lenIn - 1)) / (lenOut - 1));
    case 'asymmetric':
      return fr(o / s);
    case 'tf_crop_and_resize': {
      const [a, b] = [fr(axis.start ?? 0), fr(axis.end ?? 1)];
      return lenOut > 1
        ? fr(fr(a * (lenIn - 1)) + fr(fr(fr(o * fr(b - a)) * (lenIn - 1)) / (lenOut - 1)))
        : // ONNX Runtime computes the one-pixel case in f64
          fr(0.5 * fr(a + b) * (lenIn - 1));
    }
  }
}

/** The input index that nearest mode reads at coordinate v along an axis of `len`. */
export function nearestIndex(
  v: number,
  len: number,
  mode: NearestMode = RESIZE_DEFAULTS.nearestMode,
): number {
  const f = Math.floor(v);
  const d = v - f;
  const up = { round_prefer_floor: d > 0.5, round_prefer_ceil: d >= 0.5, floor: false, ceil: d > 0 }[mode];
  return Math.min(Math.max(up ? f + 1 : f, 0), len - 1);
}

/** The linear taps of coordinate v: its two neighbours clamped into an axis of `len` (one at the edge). */
export function linearTaps(v: number, len: number): ResizeTap[] {
  const c = Math.min(Math.max(v, 0), len - 1);
  const i0 = Math.min(Math.floor(c), len - 1);
  const i1 = Math.min(i0 + 1, len - 1);
  return i0 === i1
    ? [[i0, 1]]
    : [
        [i0, i1 - c],
        [i1, c - i0],
      ];
}

/** The cubic convolution weights of the four taps around fraction s (ONNX Runtime's GetCubicCoeffs). */
function cubicCoeffs(s: number, a: number = RESIZE_DEFAULTS.cubicCoeffA): number[] {
  const k = (t: number) => {
    const d = Math.abs(t);
    if (d <= 1) return ((a + 2) * d - (a + 3)) * d * d + 1;
    return d < 2 ? ((a * d - 5 * a) * d + 8 * a) * d - 4 * a : 0;
  };
  return [k(s + 1), k(s), k(1 - s), k(2 - s)];
}

/**
 * The cubic taps floor(v) − 1 … floor(v) + 2 of coordinate v, clamped into an axis of `len`; with
 * `excludeOutside`, those outside weigh 0 and the others are renormalised.
 */
export function cubicTaps(v: number, len: number, a?: number, excludeOutside = false): ResizeTap[] {
  const t = Math.floor(v);
  let c = cubicCoeffs(v - t, a);
  if (excludeOutside) {
    c = c.map((w, i) => (t + i - 1 < 0 || t + i - 1 >= len ? 0 : w));
    const sum = c.reduce((p, q) => p + q, 0);
    c = c.map((w) => w / sum);
  }
  return c.map((w, i) => [Math.min(Math.max(t + i - 1, 0), len - 1), w]);
}

/**
 * The taps that output coordinate o reads along `axis`, or undefined where tf_crop_and_resize
 * samples outside the input (the output is then the extrapolation value). ONNX Runtime leaves an
 * axis of scale exactly 1 untouched in every mode, tf_crop_and_resize's roi included.
 */
export function resizeTaps(o: number, axis: ResizeAxis, sampling: ResizeSampling): ResizeTap[] | undefined {
  if (fr(axis.scale) === 1) return [[o, 1]];
  const v = originalCoordinate(sampling.coordinateMode, o, axis);
  if (sampling.coordinateMode === 'tf_crop_and_resize' && (v < 0 || v > axis.lenIn - 1)) return undefined;
  switch (sampling.mode) {
    case 'nearest':
      return [[nearestIndex(v, axis.lenIn, sampling.nearestMode), 1]];
    case 'linear':
      return linearTaps(v, axis.lenIn);
    case 'cubic':
      return cubicTaps(v, axis.lenIn, sampling.cubicCoeffA, sampling.excludeOutside);
  }
}
