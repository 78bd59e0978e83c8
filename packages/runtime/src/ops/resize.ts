import {
  COORDINATE_MODES,
  encodeResize,
  NEAREST_MODES,
  RESIZE_DEFAULTS,
  RESIZE_MODES,
  type ResizeSampling,
  type ResizeTap,
  resizedLength,
  resizeTaps,
  strides,
} from '@zeroskip/gpu';
import { RuntimeError } from '../errors.js';
import { attrNumber, attrNumbers, attrString, type GraphNode } from '../graph.js';
import { normAxis } from '../shapes.js';
import { asFloat32, sizeOf, type Tensor, tensor } from '../tensor.js';
import type { GpuOp, OpDef, ValueInfo } from './types.js';
import { known, need } from './util.js';

// ONNX Resize (opsets 11–19) on any axes, computed as ONNX Runtime does: each axis follows the
// per-axis rules of @zeroskip/gpu (resizeTaps), which its GPU kernel mirrors on H and W.

const ASPECT_POLICIES = ['stretch', 'not_larger', 'not_smaller'] as const;

/** The node's attributes, validated. */
interface ResizeAttrs extends Required<ResizeSampling> {
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
    mode: choice(node, 'mode', RESIZE_MODES, RESIZE_DEFAULTS.mode),
    coordinateMode: choice(
      node,
      'coordinate_transformation_mode',
      COORDINATE_MODES,
      RESIZE_DEFAULTS.coordinateMode,
    ),
    nearestMode: choice(node, 'nearest_mode', NEAREST_MODES, RESIZE_DEFAULTS.nearestMode),
    cubicCoeffA: attrNumber(node, 'cubic_coeff_a', RESIZE_DEFAULTS.cubicCoeffA),
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
      shape[a] = resizedLength(x[a]!, s);
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

/** Per axis of a resize and each output coordinate: the taps, or undefined where tf_crop_and_resize extrapolates. */
function tapTables(
  x: readonly number[],
  layout: ResizeLayout,
  attrs: ResizeAttrs,
  roi: readonly number[],
): (ResizeTap[] | undefined)[][] {
  const rank = x.length;
  return x.map((lenIn, d) => {
    const axis = {
      lenIn,
      lenOut: layout.shape[d]!,
      scale: layout.scales[d]!,
      start: roi[d]!,
      end: roi[d + rank]!,
    };
    // taps of weight 0 add nothing: skip their reads
    return Array.from({ length: axis.lenOut }, (_, o) =>
      resizeTaps(o, axis, attrs)?.filter(([, w]) => w !== 0),
    );
  });
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
    if (attrs.coordinateMode === 'tf_crop_and_resize' && inputs[1] && !inputs[1].value) return undefined;
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
