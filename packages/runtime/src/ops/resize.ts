import {
  COORDINATE_MODES,
  type CoordinateMode,
  encodeResize,
  NEAREST_MODES,
  type NearestMode,
  RESIZE_MODES,
  type ResizeMode,
} from '@zeroskip/gpu';
import { RuntimeError } from '../errors.js';
import { attrNumber, attrNumbers, attrString, type GraphNode } from '../graph.js';
import { normAxis } from '../shapes.js';
import { asFloat32, sizeOf, type Tensor, tensor } from '../tensor.js';
import type { GpuOp, OpDef, ValueInfo } from './types.js';
import { known, need, strides } from './util.js';

// ONNX Resize (opsets 11–19) on any axes, computed as ONNX Runtime does: coordinates are its f32
// (and, where it mixes in double literals, f64) expressions in its order (Math.fround after each f32
// operation), so that nearest-neighbour choices at exact ties agree with it.

const ASPECT_POLICIES = ['stretch', 'not_larger', 'not_smaller'] as const;

/** The node's attributes, validated. */
interface ResizeAttrs {
  readonly mode: ResizeMode;
  readonly coordinateMode: CoordinateMode;
  readonly nearestMode: NearestMode;
  readonly cubicCoeffA: number;
  readonly excludeOutside: boolean;
  readonly extrapolationValue: number;
}

/** The sizes of a resize: per axis of the input, the output size and the scale of the coordinate transform. */
interface ResizeLayout {
  readonly shape: number[];
  readonly scales: number[];
}

function choice<T extends string>(node: GraphNode, name: string, allowed: readonly T[], fallback: T): T {
  const v = attrString(node, name, fallback);
  if (!(allowed as readonly string[]).includes(v))
    throw new RuntimeError(
      'unsupported-op',
      `node '${node.name}' (Resize) has ${name} '${v}'; the supported ones are ${allowed.join(', ')}.`,
    );
  return v as T;
}

function resizeAttrs(node: GraphNode): ResizeAttrs {
  return {
    mode: choice(node, 'mode', RESIZE_MODES, 'nearest'),
    coordinateMode: choice(node, 'coordinate_transformation_mode', COORDINATE_MODES, 'half_pixel'),
    nearestMode: choice(node, 'nearest_mode', NEAREST_MODES, 'round_prefer_floor'),
    cubicCoeffA: attrNumber(node, 'cubic_coeff_a', -0.75),
    excludeOutside: attrNumber(node, 'exclude_outside', 0) === 1,
    extrapolationValue: attrNumber(node, 'extrapolation_value', 0),
  };
}

const fr = Math.fround;

/** Contents of optional input i, or undefined when it is absent or empty (ONNX's way of omitting it). */
function optional(
  node: GraphNode,
  inputs: readonly (Tensor | ValueInfo | undefined)[],
  i: number,
  what: string,
): number[] | undefined {
  const v = inputs[i];
  if (!v || sizeOf(v.shape) === 0) return undefined;
  return known(node, inputs, i, what);
}

/** Output sizes and per-axis scales from the scales or sizes input (and axes, keep_aspect_ratio_policy). */
function resizeLayout(
  node: GraphNode,
  x: readonly number[],
  inputs: readonly (Tensor | ValueInfo | undefined)[],
): ResizeLayout {
  const rank = x.length;
  const axes = (attrNumbers(node, 'axes') ?? x.map((_, i) => i)).map((a) => normAxis(a, rank, node));
  const given = optional(node, inputs, 2, 'scales input');
  const sizes = optional(node, inputs, 3, 'sizes input');
  if ((given === undefined) === (sizes === undefined))
    throw new RuntimeError(
      'invalid-model',
      `node '${node.name}' (Resize) must give exactly one of scales and sizes (as a non-empty input).`,
    );
  const listed = given ?? sizes!;
  if (listed.length !== axes.length)
    throw new RuntimeError(
      'invalid-model',
      `node '${node.name}' (Resize) gives ${listed.length} ${given ? 'scales' : 'sizes'} for ${axes.length} axes; give one per resized axis.`,
    );
  const shape = [...x];
  const scales = x.map(() => 1);
  if (given) {
    axes.forEach((a, i) => {
      const s = fr(given[i]!);
      if (!(s > 0))
        throw new RuntimeError(
          'invalid-model',
          `node '${node.name}' (Resize) has scale ${s}; scales must be positive.`,
        );
      scales[a] = s;
      shape[a] = Math.floor(fr(s * x[a]!));
    });
    return { shape, scales };
  }
  const policy = choice(node, 'keep_aspect_ratio_policy', ASPECT_POLICIES, 'stretch');
  const ratios = axes.map((a, i) => fr(sizes![i]! / x[a]!));
  if (policy === 'stretch') {
    axes.forEach((a, i) => {
      shape[a] = sizes![i]!;
      scales[a] = ratios[i]!;
    });
    return { shape, scales };
  }
  // one scale for every resized axis, the largest that fits (not_larger) or the smallest that covers
  const s = policy === 'not_larger' ? Math.min(...ratios) : Math.max(...ratios);
  for (const a of axes) {
    scales[a] = s;
    shape[a] = Math.round(fr(s * x[a]!));
  }
  return { shape, scales };
}

/** The input coordinate of output coordinate o along an axis (ONNX Runtime's f32 expressions). */
function originalCoordinate(
  mode: CoordinateMode,
  o: number,
  scale: number,
  lenOut: number,
  lenIn: number,
  start: number,
  end: number,
): number {
  const halfPixel = () => fr(fr(fr(o + 0.5) / scale) - 0.5);
  switch (mode) {
    case 'half_pixel':
      return halfPixel();
    case 'half_pixel_symmetric': {
      const adjustment = fr(lenOut / fr(scale * lenIn));
      const offset = fr(fr(lenIn / 2) * fr(1 - adjustment));
      // ONNX Runtime sums these in double (its 0.5 literals are doubles here)
      return fr(offset + (o + 0.5) / scale - 0.5);
    }
    case 'pytorch_half_pixel':
      return lenOut > 1 ? halfPixel() : 0;
    case 'align_corners':
      return lenOut === 1 ? 0 : fr(fr(o * (lenIn - 1)) / (lenOut - 1));
    case 'asymmetric':
      return fr(o / scale);
    case 'tf_crop_and_resize': {
      const [a, b] = [fr(start), fr(end)];
      return lenOut > 1
        ? fr(fr(a * (lenIn - 1)) + fr(fr(fr(o * fr(b - a)) * (lenIn - 1)) / (lenOut - 1)))
        : fr(0.5 * fr(a + b) * (lenIn - 1));
    }
  }
}

function nearestIndex(v: number, len: number, mode: NearestMode): number {
  const f = Math.floor(v);
  const d = v - f;
  const up = { round_prefer_floor: d > 0.5, round_prefer_ceil: d >= 0.5, floor: false, ceil: d > 0 }[mode];
  return Math.min(Math.max(up ? f + 1 : f, 0), len - 1);
}

/** The cubic convolution weights of the four taps around fraction s (ONNX Runtime's GetCubicCoeffs). */
function cubicCoeffs(s: number, a: number): number[] {
  const k = (t: number) => {
    const d = Math.abs(t);
    if (d <= 1) return ((a + 2) * d - (a + 3)) * d * d + 1;
    return d < 2 ? ((a * d - 5 * a) * d + 8 * a) * d - 4 * a : 0;
  };
  return [k(s + 1), k(s), k(1 - s), k(2 - s)];
}

/** The input taps [index, weight] that output coordinate v reads along an axis of len. */
function axisTaps(v: number, len: number, attrs: ResizeAttrs): [number, number][] {
  if (attrs.mode === 'nearest') return [[nearestIndex(v, len, attrs.nearestMode), 1]];
  if (attrs.mode === 'linear') {
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
  const t = Math.floor(v);
  let c = cubicCoeffs(v - t, attrs.cubicCoeffA);
  if (attrs.excludeOutside) {
    c = c.map((w, i) => (t + i - 1 < 0 || t + i - 1 >= len ? 0 : w));
    const sum = c.reduce((a, b) => a + b, 0);
    c = c.map((w) => w / sum);
  }
  return c.map((w, i) => [Math.min(Math.max(t + i - 1, 0), len - 1), w]);
}

/** Per axis of a resize and each output coordinate: the taps, or undefined where tf_crop_and_resize extrapolates. */
function tapTables(
  x: readonly number[],
  layout: ResizeLayout,
  attrs: ResizeAttrs,
  roi: readonly number[],
): ([number, number][] | undefined)[][] {
  const rank = x.length;
  return x.map((lenIn, d) =>
    Array.from({ length: layout.shape[d]! }, (_, o) => {
      const lenOut = layout.shape[d]!;
      // ONNX Runtime maps an axis of scale 1 to itself in every mode, tf_crop_and_resize's roi included
      if (layout.scales[d] === 1) return [[o, 1]];
      const v = originalCoordinate(
        attrs.coordinateMode,
        o,
        layout.scales[d]!,
        lenOut,
        lenIn,
        roi[d]!,
        roi[d + rank]!,
      );
      if (attrs.coordinateMode === 'tf_crop_and_resize' && (v < 0 || v > lenIn - 1)) return undefined;
      return axisTaps(v, lenIn, attrs).filter(([, w]) => w !== 0);
    }),
  );
}

/** The full-rank roi [starts…, ends…] of tf_crop_and_resize (axes not listed keep [0, 1]). */
function fullRoi(node: GraphNode, rank: number, roi: readonly number[] | undefined): number[] {
  const full = [...Array(rank).fill(0), ...Array(rank).fill(1)];
  if (!roi) return full;
  const axes = (attrNumbers(node, 'axes') ?? full.slice(rank).map((_, i) => i)).map((a) =>
    normAxis(a, rank, node),
  );
  if (roi.length !== 2 * axes.length)
    throw new RuntimeError(
      'invalid-model',
      `node '${node.name}' (Resize) has a roi of ${roi.length} values for ${axes.length} axes; give a start and an end per axis.`,
    );
  axes.forEach((a, i) => {
    full[a] = roi[i]!;
    full[a + rank] = roi[i + axes.length]!;
  });
  return full;
}

/**
 * ONNX Runtime returns the input as it is when the output has its shape, whatever the scales and
 * modes; models are validated against it, so this does the same.
 */
function unchanged(x: readonly number[], layout: ResizeLayout): boolean {
  return layout.shape.every((d, i) => d === x[i]);
}

function checkAntialias(node: GraphNode, attrs: ResizeAttrs, layout: ResizeLayout): void {
  // antialiasing only changes linear and cubic downsampling
  if (attrNumber(node, 'antialias', 0) === 1 && attrs.mode !== 'nearest' && layout.scales.some((s) => s < 1))
    throw new RuntimeError(
      'unsupported-op',
      `node '${node.name}' (Resize) downsamples with antialias = 1, which is not supported; export without antialiasing, or with mode nearest.`,
    );
}

function resize(node: GraphNode, inputs: readonly (Tensor | undefined)[]): Tensor {
  const x = need(node, inputs, 0);
  const attrs = resizeAttrs(node);
  const layout = resizeLayout(node, x.shape, inputs);
  checkAntialias(node, attrs, layout);
  if (attrs.mode !== 'nearest') asFloat32(x, `Resize '${node.name}' input in ${attrs.mode} mode`);
  if (unchanged(x.shape, layout)) return tensor(x.dtype, x.shape, x.data.slice());
  const roi =
    attrs.coordinateMode === 'tf_crop_and_resize' ? optional(node, inputs, 1, 'roi input') : undefined;
  const taps = tapTables(x.shape, layout, attrs, fullRoi(node, x.shape.length, roi));
  const rank = x.shape.length;
  const sx = strides(x.shape);
  const out = layout.shape;
  const data = new (x.data.constructor as new (n: number) => Tensor['data'])(sizeOf(out));
  const coords = out.map(() => 0);
  // Σ over the product of each axis's taps, from the outermost axis in
  const sum = (d: number, offset: number): number => {
    if (d === rank) return x.data[offset]!;
    let acc = 0;
    for (const [i, w] of taps[d]![coords[d]!]!) acc += w * sum(d + 1, offset + i * sx[d]!);
    return acc;
  };
  for (let e = 0; e < data.length; e++) {
    for (let d = rank - 1, rest = e; d >= 0; d--) {
      coords[d] = rest % out[d]!;
      rest = Math.floor(rest / out[d]!);
    }
    const outside = coords.some((c, d) => taps[d]![c] === undefined);
    data[e] = outside ? attrs.extrapolationValue : sum(0, 0);
  }
  return tensor(x.dtype, out, data);
}

/** The GPU kernel resizes H and W of NCHW float32, with roi known before running. */
const resizeGpu: GpuOp = {
  plan(node, inputs) {
    const x = inputs[0];
    if (x?.dtype !== 'float32' || x.shape.length !== 4) return undefined;
    const attrs = resizeAttrs(node);
    const layout = resizeLayout(node, x.shape, inputs);
    if (layout.shape[0] !== x.shape[0] || layout.shape[1] !== x.shape[1]) return undefined;
    if (
      attrNumber(node, 'antialias', 0) === 1 &&
      attrs.mode !== 'nearest' &&
      layout.scales.some((s) => s < 1)
    )
      return undefined;
    if (unchanged(x.shape, layout)) return { kernel: 'view' };
    if (attrs.coordinateMode === 'tf_crop_and_resize') {
      // the kernel applies the roi to H and W even at scale 1, where ONNX Runtime (and the CPU side) keep the axis
      if (layout.scales[2] === 1 || layout.scales[3] === 1 || (inputs[1] && !inputs[1].value))
        return undefined;
    }
    return { kernel: 'resize' };
  },
  encode(node, ctx, outputs) {
    const x = ctx.input(0);
    if (ctx.kernel === 'view') return [{ ...x }];
    const attrs = resizeAttrs(node);
    const layout = resizeLayout(node, x.shape, ctx.inputs);
    const y = ctx.empty(outputs[0]!.shape);
    const roiIn = ctx.host(1);
    const roi =
      attrs.coordinateMode === 'tf_crop_and_resize'
        ? fullRoi(node, 4, roiIn && roiIn.data.length > 0 ? Array.from(roiIn.data) : undefined)
        : undefined;
    encodeResize(ctx.r, x, y, {
      mode: attrs.mode,
      coordinateMode: attrs.coordinateMode,
      nearestMode: attrs.nearestMode,
      scales: [layout.scales[2]!, layout.scales[3]!],
      cubicCoeffA: attrs.cubicCoeffA,
      excludeOutside: attrs.excludeOutside,
      ...(roi && { roi: [roi[2]!, roi[3]!, roi[6]!, roi[7]!] }),
      extrapolationValue: attrs.extrapolationValue,
    });
    return [y];
  },
};

export const resizeOp: OpDef = {
  op: 'Resize',
  infer(node, inputs) {
    const x = need(node, inputs, 0);
    const attrs = resizeAttrs(node);
    const layout = resizeLayout(node, x.shape, inputs);
    checkAntialias(node, attrs, layout);
    if (attrs.mode !== 'nearest' && x.dtype !== 'float32')
      throw new RuntimeError(
        'unsupported-op',
        `node '${node.name}' (Resize) interpolates a ${x.dtype} tensor in ${attrs.mode} mode; only float32 is supported there (nearest takes any type).`,
      );
    return [{ shape: layout.shape, dtype: x.dtype }];
  },
  run: (node, inputs) => [resize(node, inputs)],
  gpu: resizeGpu,
};
