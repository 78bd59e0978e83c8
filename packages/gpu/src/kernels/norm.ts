import type { Program } from '../device.js';
import { checkInt, GpuError } from '../errors.js';
import { grid, type Recorder } from '../recorder.js';
import type { GpuTensor } from '../tensor.js';
import { UniformStruct, uniformAt } from '../uniforms.js';
import { bindings } from '../wgsl.js';
import { elementwiseWgsl, encodeElementwise } from './elementwise.js';

// InstanceNormalization and LayerNormalization: y = (x − mean)/√(var + ε)·scale + bias over groups
// of contiguous elements, one workgroup per group. Mean and variance take two passes over the
// group (the variance sums squared deviations from the mean), which stays accurate in f32 where
// E[x²] − E[x]² cancels catastrophically for data far from zero. LRN is per element.

const THREADS = 256;

/** Normalised dimensions a LayerNormalization's scale and bias may broadcast over. */
export const MAX_NORM_DIMS = 6;

interface NormSpec {
  /** instance: scale and bias per channel of the group; layer: broadcast over the group's elements. */
  readonly kind: 'instance' | 'layer';
  readonly bias: boolean;
}

const NORM_PARAMS = new UniformStruct('NormParams', {
  groups: 'u32',
  size: 'u32',
  /** instance: channels per batch, whose scale and bias group g takes. */
  channels: 'u32',
  /** layer: the normalised dims that scale and bias broadcast over, innermost first. */
  rank: 'u32',
  epsilon: 'f32',
  dims: { u32s: MAX_NORM_DIMS },
  scaleStride: { u32s: MAX_NORM_DIMS },
  biasStride: { u32s: MAX_NORM_DIMS },
});
type NormValues = Parameters<(typeof NORM_PARAMS)['pack']>[0];

/** `fn name(g, i) -> u32`: where element i of group g finds its scale (or bias: `strides` names the list). */
function paramIndexFn(kind: NormSpec['kind'], name: string, strides: 'scaleStride' | 'biasStride'): string {
  const body =
    kind === 'instance'
      ? 'return g % p.channels;'
      : `var at = 0u;
  var rest = i;
  for (var d = 0u; d < p.rank; d++) {
    let size = ${uniformAt('dims', 'd')};
    at += (rest % size) * ${uniformAt(strides, 'd')};
    rest /= size;
  }
  return at;`;
  return `fn ${name}(g: u32, i: u32) -> u32 {
  ${body}
}`;
}

const normProgram: Program<NormSpec> = {
  name: 'normalize',
  wgsl: ({ kind, bias }) => /* wgsl */ `
${bindings(
  [
    ['x', 'array<f32>', 'read'],
    ['scale', 'array<f32>', 'read'],
    ...(bias ? [['bias', 'array<f32>', 'read'] as const] : []),
    ['y', 'array<f32>', 'read_write'],
  ],
  0,
  NORM_PARAMS,
)}
var<workgroup> part: array<f32, ${THREADS}>;
/** The workgroup's sum of v (every invocation gets it). */
fn total(li: u32, v: f32) -> f32 {
  part[li] = v;
  for (var stride = ${THREADS / 2}u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (li < stride) { part[li] += part[li + stride]; }
  }
  workgroupBarrier();
  let result = part[0];
  workgroupBarrier();
  return result;
}
${paramIndexFn(kind, 'scaleAt', 'scaleStride')}
${bias ? paramIndexFn(kind, 'biasAt', 'biasStride') : ''}
@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let g = wid.x + wid.y * nwg.x;
  if (g >= p.groups) { return; }
  let base = g * p.size;
  var s = 0.0;
  for (var i = li; i < p.size; i += ${THREADS}u) { s += x[base + i]; }
  let mean = total(li, s) / f32(p.size);
  var q = 0.0;
  for (var i = li; i < p.size; i += ${THREADS}u) { let d = x[base + i] - mean; q += d * d; }
  let inv = inverseSqrt(total(li, q) / f32(p.size) + p.epsilon);
  for (var i = li; i < p.size; i += ${THREADS}u) {
    y[base + i] = (x[base + i] - mean) * inv * scale[scaleAt(g, i)]${bias ? ' + bias[biasAt(g, i)]' : ''};
  }
}`,
};

/** One workgroup per group of `values.size` elements. */
function dispatchNorm(
  r: Recorder,
  label: string,
  spec: NormSpec,
  tensors: readonly GpuTensor[],
  values: NormValues,
): void {
  r.dispatch(
    label,
    r.gpu.pipeline(normProgram, spec),
    [...tensors, r.gpu.uniforms(NORM_PARAMS.pack(values))],
    grid(values.groups as number, r.gpu.limits.maxComputeWorkgroupsPerDimension),
  );
}

function checkSize(t: GpuTensor, what: string, size: number): void {
  if (t.size !== size)
    throw new GpuError('invalid-argument', `${what} needs ${size} elements, got ${t.size}.`);
}

function checkEpsilon(epsilon: number): void {
  if (!(Number.isFinite(epsilon) && epsilon >= 0))
    throw new GpuError('invalid-argument', `epsilon must be finite and non-negative, got ${epsilon}.`);
}

/** InstanceNormalization of x [N, C, …]: each (n, c) over its spatial elements; scale and bias [C]. */
export function encodeInstanceNorm(
  r: Recorder,
  x: GpuTensor,
  scale: GpuTensor,
  bias: GpuTensor,
  y: GpuTensor,
  epsilon = 1e-5,
): void {
  if (x.shape.length < 3 || x.size < 1)
    throw new GpuError(
      'invalid-argument',
      `InstanceNormalization needs a non-empty [N, C, …] input, got [${x.shape.join(', ')}].`,
    );
  checkEpsilon(epsilon);
  const channels = x.shape[1]!;
  const groups = x.shape[0]! * channels;
  checkSize(scale, 'InstanceNormalization scale', channels);
  checkSize(bias, 'InstanceNormalization bias', channels);
  checkSize(y, 'InstanceNormalization output', x.size);
  dispatchNorm(r, 'instance-norm', { kind: 'instance', bias: true }, [x, scale, bias, y], {
    groups,
    size: x.size / groups,
    channels,
    rank: 0,
    epsilon,
    dims: [],
    scaleStride: [],
    biasStride: [],
  });
}

/**
 * Dims of the normalised shape with the scale and bias strides over them (0 where they broadcast),
 * innermost first, size-1 dims dropped and neighbours merged where both strides allow it.
 */
function normDims(
  normalized: readonly number[],
  params: readonly (readonly number[])[],
): { sizes: number[]; strides: number[][] } {
  const rank = normalized.length;
  const strideLists = params.map((shape) => {
    const s = [...shape];
    while (s.length > rank && s[0] === 1) s.shift();
    if (s.length > rank || s.some((d, i) => d !== 1 && d !== normalized[rank - s.length + i]))
      throw new GpuError(
        'invalid-argument',
        `LayerNormalization scale or bias [${shape.join(', ')}] does not broadcast to the normalised shape [${normalized.join(', ')}].`,
      );
    const padded = [...Array(rank - s.length).fill(1), ...s];
    return padded.map((d, i) => (d === 1 ? 0 : padded.slice(i + 1).reduce((a, b) => a * b, 1)));
  });
  const sizes: number[] = [];
  const strides: number[][] = params.map(() => []);
  for (let d = rank - 1; d >= 0; d--) {
    if (normalized[d] === 1) continue;
    const n = sizes.length;
    const mergeable =
      n > 0 &&
      strideLists.every(
        (s, k) => s[d] === strides[k]![n - 1]! * sizes[n - 1]! || (s[d] === 0 && strides[k]![n - 1] === 0),
      );
    if (mergeable) sizes[n - 1]! *= normalized[d]!;
    else {
      sizes.push(normalized[d]!);
      for (const [k, s] of strideLists.entries()) strides[k]!.push(s[d]!);
    }
  }
  if (sizes.length > MAX_NORM_DIMS)
    throw new GpuError(
      'invalid-argument',
      `LayerNormalization broadcasts its scale over ${sizes.length} separate dims; at most ${MAX_NORM_DIMS} are supported.`,
    );
  return { sizes, strides };
}

/**
 * LayerNormalization of x over its axes from `axis` on (negative counts from the end), with scale
 * and optional bias broadcast over the normalised shape. The Mean and InvStdDev outputs are not produced.
 */
export function encodeLayerNorm(
  r: Recorder,
  x: GpuTensor,
  scale: GpuTensor,
  bias: GpuTensor | undefined,
  y: GpuTensor,
  axis = -1,
  epsilon = 1e-5,
): void {
  const rank = x.shape.length;
  const a = axis < 0 ? axis + rank : axis;
  checkInt('the LayerNormalization axis', a, 0, rank - 1);
  checkEpsilon(epsilon);
  const normalized = x.shape.slice(a);
  const size = normalized.reduce((p, q) => p * q, 1);
  if (size < 1) throw new GpuError('invalid-argument', 'LayerNormalization cannot normalise an empty shape.');
  checkSize(y, 'LayerNormalization output', x.size);
  const { sizes, strides } = normDims(normalized, bias ? [scale.shape, bias.shape] : [scale.shape]);
  dispatchNorm(
    r,
    'layer-norm',
    { kind: 'layer', bias: bias !== undefined },
    bias ? [x, scale, bias, y] : [x, scale, y],
    {
      groups: x.size / size,
      size,
      channels: 0,
      rank: sizes.length,
      epsilon,
      dims: sizes,
      scaleStride: strides[0]!,
      biasStride: strides[1] ?? [],
    },
  );
}

const LRN_PARAMS = new UniformStruct('LrnParams', {
  total: 'u32',
  channels: 'u32',
  spatial: 'u32',
  size: 'u32',
  alphaOverSize: 'f32',
  beta: 'f32',
  bias: 'f32',
});

const lrnProgram: Program<Record<string, never>> = {
  name: 'lrn',
  wgsl: () =>
    elementwiseWgsl(
      bindings(
        [
          ['x', 'array<f32>', 'read'],
          ['y', 'array<f32>', 'read_write'],
        ],
        0,
        LRN_PARAMS,
      ),
      'p.total',
      `let c = (e / p.spatial) % p.channels;
  let first = e - c * p.spatial;
  // channels c − ⌊(size−1)/2⌋ … c + ⌈(size−1)/2⌉, clipped
  let lo = u32(max(i32(c) - i32((p.size - 1u) / 2u), 0));
  let hi = min(c + p.size / 2u, p.channels - 1u);
  var s = 0.0;
  for (var k = lo; k <= hi; k++) { let v = x[first + k * p.spatial]; s += v * v; }
  y[e] = x[e] / pow(p.bias + p.alphaOverSize * s, p.beta);`,
    ),
};

export interface LrnParams {
  readonly size: number;
  readonly alpha?: number;
  readonly beta?: number;
  readonly bias?: number;
}

/** ONNX LRN across channels of x [N, C, …]: y = x / (bias + α/size · Σ x²)^β over `size` neighbours. */
export function encodeLrn(r: Recorder, x: GpuTensor, y: GpuTensor, params: LrnParams): void {
  if (x.shape.length < 3)
    throw new GpuError('invalid-argument', `LRN needs an [N, C, …] input, got [${x.shape.join(', ')}].`);
  checkInt('LRN size', params.size, 1, 1 << 16);
  const { alpha = 1e-4, beta = 0.75, bias = 1 } = params;
  if (![alpha, beta, bias].every(Number.isFinite) || bias <= 0)
    throw new GpuError(
      'invalid-argument',
      `LRN alpha, beta and bias must be finite and bias positive, got ${alpha}, ${beta}, ${bias}.`,
    );
  checkSize(y, 'LRN output', x.size);
  const channels = x.shape[1]!;
  encodeElementwise(
    r,
    'lrn',
    lrnProgram,
    {},
    LRN_PARAMS,
    {
      total: x.size,
      channels,
      spatial: x.size / (x.shape[0]! * channels),
      size: params.size,
      alphaOverSize: alpha / params.size,
      beta,
      bias,
    },
    [x, y],
  );
}

// ---- CPU references (f64, rounded to f32).

/** Normalises each run of `size` contiguous elements; param(g, i) gives the scale and bias of element i of group g. */
function normalizeGroups(
  x: Float32Array,
  size: number,
  epsilon: number,
  param: (g: number, i: number) => [number, number],
): Float32Array {
  const y = new Float32Array(x.length);
  for (let g = 0; g < x.length / size; g++) {
    const v = x.subarray(g * size, (g + 1) * size);
    const mean = v.reduce((a, b) => a + b, 0) / size;
    const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / size;
    for (let i = 0; i < size; i++) {
      const [s, b] = param(g, i);
      y[g * size + i] = ((v[i]! - mean) / Math.sqrt(variance + epsilon)) * s + b;
    }
  }
  return y;
}

export function instanceNormReference(
  x: Float32Array,
  shape: readonly number[],
  scale: Float32Array,
  bias: Float32Array,
  epsilon = 1e-5,
): Float32Array {
  const channels = shape[1]!;
  const size = shape.slice(2).reduce((a, b) => a * b, 1);
  return normalizeGroups(x, size, epsilon, (g) => [scale[g % channels]!, bias[g % channels]!]);
}

/** Flat index into a tensor of `shape` broadcast (right-aligned) to `to`, of element i of `to`. */
function broadcastAt(shape: readonly number[], to: readonly number[], i: number): number {
  let at = 0;
  let stride = 1;
  let rest = i;
  for (let d = to.length - 1, s = shape.length - 1; d >= 0; d--, s--) {
    const coord = rest % to[d]!;
    rest = Math.floor(rest / to[d]!);
    const size = s >= 0 ? shape[s]! : 1;
    if (size !== 1) at += coord * stride;
    stride *= size;
  }
  return at;
}

export function layerNormReference(
  x: Float32Array,
  shape: readonly number[],
  scale: Float32Array,
  scaleShape: readonly number[],
  bias: { data: Float32Array; shape: readonly number[] } | undefined,
  axis = -1,
  epsilon = 1e-5,
): Float32Array {
  const normalized = shape.slice(axis < 0 ? axis + shape.length : axis);
  const size = normalized.reduce((a, b) => a * b, 1);
  return normalizeGroups(x, size, epsilon, (_, i) => [
    scale[broadcastAt(scaleShape, normalized, i)]!,
    bias ? bias.data[broadcastAt(bias.shape, normalized, i)]! : 0,
  ]);
}

export function lrnReference(x: Float32Array, shape: readonly number[], params: LrnParams): Float32Array {
  const { size, alpha = 1e-4, beta = 0.75, bias = 1 } = params;
  const channels = shape[1]!;
  const spatial = shape.slice(2).reduce((a, b) => a * b, 1);
  return Float32Array.from(x, (v, e) => {
    const c = Math.floor(e / spatial) % channels;
    let s = 0;
    for (
      let k = Math.max(0, c - Math.floor((size - 1) / 2));
      k <= Math.min(channels - 1, c + Math.ceil((size - 1) / 2));
      k++
    )
      s += x[e + (k - c) * spatial]! ** 2;
    return v / (bias + (alpha / size) * s) ** beta;
  });
}
