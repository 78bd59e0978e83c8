import type { Program } from '../device.js';
import { checkInt, GpuError } from '../errors.js';
import { grid, type Recorder } from '../recorder.js';
import type { GpuTensor } from '../tensor.js';
import { UniformStruct, uniformAt } from '../uniforms.js';
import {
  type Activation,
  activationFn,
  bindings,
  checkActivation,
  type Window,
  windowLoop,
} from '../wgsl.js';
import { elementwiseWgsl, encodeElementwise } from './elementwise.js';

// The support ops between the convolutions. Every size is a uniform, so each program compiles once
// per device (per op or activation) and serves every layer and batch size.

const AFFINE_PARAMS = new UniformStruct('AffineParams', { total: 'u32', channels: 'u32', spatial: 'u32' });

const CHANNEL_AFFINE: Program<{ readonly activation: Activation }> = {
  name: 'channel-affine',
  wgsl: ({ activation }) =>
    elementwiseWgsl(
      `${bindings(
        [
          ['x', 'array<f32>', 'read'],
          ['scale', 'array<f32>', 'read'],
          ['shift', 'array<f32>', 'read'],
          ['y', 'array<f32>', 'read_write'],
        ],
        0,
        AFFINE_PARAMS,
      )}
${activationFn(activation)}`,
      'p.total',
      'let c = (e / p.spatial) % p.channels; y[e] = act(fma(x[e], scale[c], shift[c]));',
    ),
};

/** Batch norm (inference) as y = act(x·scale[c] + shift[c]) over NCHW; see {@link batchNormScaleShift}. */
export function encodeChannelAffine(
  r: Recorder,
  x: GpuTensor,
  scale: GpuTensor,
  shift: GpuTensor,
  y: GpuTensor,
  channels: number,
  spatial: number,
  activation: Activation,
): void {
  checkActivation(activation);
  encodeElementwise(
    r,
    'channel-affine',
    CHANNEL_AFFINE,
    { activation },
    AFFINE_PARAMS,
    { total: x.size, channels, spatial },
    [x, scale, shift, y],
  );
}

/** Folds batch norm into a per-channel scale γ/√(var + ε) and shift β − mean·scale. */
export function batchNormScaleShift(
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  mean: ArrayLike<number>,
  variance: ArrayLike<number>,
  epsilon: number,
): { scale: Float32Array; shift: Float32Array } {
  const scale = Float32Array.from(
    { length: gamma.length },
    (_, c) => gamma[c]! / Math.sqrt(variance[c]! + epsilon),
  );
  return { scale, shift: Float32Array.from(scale, (s, c) => beta[c]! - mean[c]! * s) };
}

/** Output shape of numpy-style broadcasting, or a GpuError naming the mismatch. */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  return Array.from({ length: rank }, (_, i) => {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1)
      throw new GpuError(
        'invalid-argument',
        `shapes [${a.join(', ')}] and [${b.join(', ')}] do not broadcast.`,
      );
    return Math.max(da, db);
  });
}

export interface PoolParams {
  readonly kernel: readonly [number, number];
  readonly stride?: readonly [number, number];
  readonly pads?: readonly [number, number, number, number];
  readonly dilation?: readonly [number, number];
  readonly ceilMode?: boolean;
  /** Average pooling only: divide by the whole window, padding included (ONNX count_include_pad). */
  readonly countIncludePad?: boolean;
}

/** Output size of a pooling window along one axis (ONNX rule, with ceil_mode). */
export function poolOutput(
  size: number,
  kernel: number,
  stride: number,
  padBegin: number,
  padEnd: number,
  dilation: number,
  ceil: boolean,
): number {
  const span = size + padBegin + padEnd - dilation * (kernel - 1) - 1;
  let out = (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  // a window may not start inside the end padding
  if (ceil && (out - 1) * stride >= size + padBegin) out--;
  return out;
}

const POOL_PARAMS = new UniformStruct('PoolParams', {
  total: 'u32',
  h: 'u32',
  w: 'u32',
  kh: 'u32',
  kw: 'u32',
  sh: 'u32',
  sw: 'u32',
  dh: 'u32',
  dw: 'u32',
  pt: 'u32',
  pl: 'u32',
  ho: 'u32',
  wo: 'u32',
  /** The padded input's size, and whether an average divides by its taps inside it (count_include_pad). */
  hp: 'u32',
  wp: 'u32',
  countPad: 'u32',
});

/**
 * The window's taps inside the padded input, as ONNX's count_include_pad divides by them: all of
 * them, except where ceil mode lets a window run past the end padding.
 */
const PADDED_TAPS = `var rows = 0u;
  for (var ky = 0u; ky < p.kh; ky++) { rows += select(0u, 1u, oy * p.sh + ky * p.dh < p.hp); }
  var cols = 0u;
  for (var kx = 0u; kx < p.kw; kx++) { cols += select(0u, 1u, ox * p.sw + kx * p.dw < p.wp); }`;

const POOL: Program<{ readonly kind: 'max' | 'avg' }> = {
  name: 'pool',
  wgsl: ({ kind }) => {
    const win: Window<string> = {
      h: 'i32(p.h)',
      w: 'i32(p.w)',
      kh: 'p.kh',
      kw: 'p.kw',
      sh: 'p.sh',
      sw: 'p.sw',
      dh: 'p.dh',
      dw: 'p.dw',
      pt: 'i32(p.pt)',
      pl: 'i32(p.pl)',
    };
    const combine = kind === 'max' ? 'acc = max(acc, v);' : 'acc += v; cnt += 1u;';
    return elementwiseWgsl(
      bindings(
        [
          ['x', 'array<f32>', 'read'],
          ['y', 'array<f32>', 'read_write'],
        ],
        0,
        POOL_PARAMS,
      ),
      'p.total',
      `let ox = e % p.wo;
  let oy = (e / p.wo) % p.ho;
  let nc = e / (p.ho * p.wo);
  var acc = ${kind === 'max' ? '-3.402823e38' : '0.0'};
  var cnt = 0u;
  ${windowLoop(win, 'oy', 'ox', `let v = x[(nc * p.h + iy) * p.w + ix];\n      ${combine}`)}
  ${
    kind === 'max'
      ? 'y[e] = acc;'
      : `${PADDED_TAPS}
  y[e] = acc / f32(max(select(cnt, rows * cols, p.countPad != 0u), 1u));`
  }`,
    );
  },
};

/** A pool's window over an input [n, c, h, w], its output size, and what an average divides by. */
export interface PoolWindow {
  readonly window: Window;
  readonly ho: number;
  readonly wo: number;
  /** The padded input's size: h + pt + pb, w + pl + pr. */
  readonly hp: number;
  readonly wp: number;
  /** An average divides by its taps inside the padded input (count_include_pad), else inside the input. */
  readonly countPad: boolean;
}

/** The window of pooling `p` over an NCHW input of `shape`, checked. */
export function poolWindowOf(shape: readonly number[], kind: 'max' | 'avg', p: PoolParams): PoolWindow {
  const [, , h, w] = shape as [number, number, number, number];
  const [kh, kw] = p.kernel;
  const [sh, sw] = p.stride ?? [1, 1];
  const [pt, pl, pb, pr] = p.pads ?? [0, 0, 0, 0];
  const [dh, dw] = p.dilation ?? [1, 1];
  for (const v of [kh, kw, sh, sw, dh, dw]) checkInt('pool size', v, 1, 4096);
  return {
    window: { h, w, kh, kw, sh, sw, dh, dw, pt, pl },
    ho: poolOutput(h, kh, sh, pt, pb, dh, p.ceilMode === true),
    wo: poolOutput(w, kw, sw, pl, pr, dw, p.ceilMode === true),
    hp: h + pt + pb,
    wp: w + pl + pr,
    countPad: kind === 'avg' && p.countIncludePad === true,
  };
}

/** Max or average 2-D pooling over NCHW into `y` of the pooled shape. */
export function encodePool(
  r: Recorder,
  x: GpuTensor,
  y: GpuTensor,
  kind: 'max' | 'avg',
  p: PoolParams,
): void {
  const [n, c] = x.shape as [number, number];
  const { window, ho, wo, hp, wp, countPad } = poolWindowOf(x.shape, kind, p);
  if (y.size !== n * c * ho * wo)
    throw new GpuError('invalid-argument', `pool output needs ${n * c * ho * wo} elements, got ${y.size}.`);
  encodeElementwise(
    r,
    `pool-${kind}`,
    POOL,
    { kind },
    POOL_PARAMS,
    { total: n * c * ho * wo, ...window, ho, wo, hp, wp, countPad: countPad ? 1 : 0 },
    [x, y],
  );
}

/** Sizes of the kernels with one 64-wide workgroup per row of `cols`. */
const ROW_PARAMS = new UniformStruct('RowParams', { rows: 'u32', cols: 'u32' });

/** The preamble of a one-workgroup-per-row kernel: `wg` the row, idle workgroups past the last row return. */
const ROW_MAIN = /* wgsl */ `@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let wg = wid.x + wid.y * nwg.x;
  if (wg >= p.rows) { return; }`;

function encodeRows(
  r: Recorder,
  label: string,
  program: Program<Record<string, never>>,
  x: GpuTensor,
  y: GpuTensor,
  rows: number,
  cols: number,
): void {
  r.dispatch(
    label,
    r.gpu.pipeline(program, {}),
    [x, y, r.gpu.uniforms(ROW_PARAMS.pack({ rows, cols }))],
    grid(rows, r.gpu.limits.maxComputeWorkgroupsPerDimension),
  );
}

const ROW_BINDINGS = bindings(
  [
    ['x', 'array<f32>', 'read'],
    ['y', 'array<f32>', 'read_write'],
  ],
  0,
  ROW_PARAMS,
);

const GLOBAL_AVG_POOL: Program<Record<string, never>> = {
  name: 'global-avg-pool',
  wgsl: () => /* wgsl */ `
${ROW_BINDINGS}
var<workgroup> part: array<f32, 64>;
${ROW_MAIN}
  var s = 0.0;
  for (var i = li; i < p.cols; i += 64u) { s += x[wg * p.cols + i]; }
  part[li] = s;
  for (var stride = 32u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (li < stride) { part[li] += part[li + stride]; }
  }
  if (li == 0u) { y[wg] = part[0] / f32(p.cols); }
}`,
};

/** Global average pooling [n, c, h, w] → [n, c]: one workgroup per (n, c), a tree reduction. */
export function encodeGlobalAvgPool(r: Recorder, x: GpuTensor, y: GpuTensor): void {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  encodeRows(r, 'global-avg-pool', GLOBAL_AVG_POOL, x, y, n * c, h * w);
}

const CONCAT_PARAMS = new UniformStruct('ConcatParams', {
  total: 'u32',
  inner: 'u32',
  len: 'u32',
  ylen: 'u32',
  offset: 'u32',
});

const CONCAT: Program<Record<string, never>> = {
  name: 'concat',
  wgsl: () =>
    elementwiseWgsl(
      bindings(
        [
          ['x', 'array<f32>', 'read'],
          ['y', 'array<f32>', 'read_write'],
        ],
        0,
        CONCAT_PARAMS,
      ),
      'p.total',
      `let i = e % p.inner; let a = (e / p.inner) % p.len; let o = e / (p.inner * p.len);
  y[(o * p.ylen + p.offset + a) * p.inner + i] = x[e];`,
    ),
};

/** Copies `x` into `y` at `offset` along `axis` (concat is one call per input). */
export function encodeConcatInto(
  r: Recorder,
  x: GpuTensor,
  y: GpuTensor,
  axis: number,
  offset: number,
): void {
  const inner = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const len = x.shape[axis]!;
  const ylen = y.shape[axis]!;
  if (offset + len > ylen)
    throw new GpuError(
      'invalid-argument',
      `concat input of ${len} at offset ${offset} overruns the output's ${ylen} along axis ${axis}.`,
    );
  encodeElementwise(r, 'concat', CONCAT, {}, CONCAT_PARAMS, { total: x.size, inner, len, ylen, offset }, [
    x,
    y,
  ]);
}

/** Axes a transpose takes: two uniform rows of four. */
const MAX_TRANSPOSE_RANK = 8;

const TRANSPOSE_PARAMS = new UniformStruct('TransposeParams', {
  total: 'u32',
  rank: 'u32',
  /** The output's shape, and per output axis the input stride of the axis it comes from. */
  shape: { u32s: MAX_TRANSPOSE_RANK },
  strides: { u32s: MAX_TRANSPOSE_RANK },
});

const TRANSPOSE: Program<Record<string, never>> = {
  name: 'transpose',
  wgsl: () =>
    elementwiseWgsl(
      bindings(
        [
          ['x', 'array<f32>', 'read'],
          ['y', 'array<f32>', 'read_write'],
        ],
        0,
        TRANSPOSE_PARAMS,
      ),
      'p.total',
      `var rest = e;
  var ix = 0u;
  for (var d = p.rank; d > 0u; d--) {
    let n = ${uniformAt('shape', 'd - 1u')};
    ix += (rest % n) * ${uniformAt('strides', 'd - 1u')};
    rest /= n;
  }
  y[e] = x[ix];`,
    ),
};

/** Permutes the axes of `x` (rank ≤ 8): y has shape x.shape[perm[i]]. */
export function encodeTranspose(r: Recorder, x: GpuTensor, y: GpuTensor, perm: readonly number[]): void {
  const rank = x.shape.length;
  if (perm.length !== rank || [...perm].sort().some((p, i) => p !== i))
    throw new GpuError('invalid-argument', `[${perm.join(', ')}] is not a permutation of ${rank} axes.`);
  if (rank > MAX_TRANSPOSE_RANK)
    throw new GpuError(
      'limit-exceeded',
      `a transpose of ${rank} axes exceeds the kernel's ${MAX_TRANSPOSE_RANK}; reshape to fewer axes first.`,
    );
  const inStrides = x.shape.map((_, d) => x.shape.slice(d + 1).reduce((a, b) => a * b, 1));
  encodeElementwise(
    r,
    'transpose',
    TRANSPOSE,
    {},
    TRANSPOSE_PARAMS,
    {
      total: x.size,
      rank,
      shape: perm.map((p) => x.shape[p]!),
      strides: perm.map((p) => inStrides[p]!),
    },
    [x, y],
  );
}

/** ShuffleNet's channel shuffle of NCHW: [n, g, c/g, h, w] → [n, c/g, g, h, w]. */
export function encodeChannelShuffle(r: Recorder, x: GpuTensor, y: GpuTensor, groups: number): void {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  if (c % groups !== 0)
    throw new GpuError('invalid-argument', `${c} channels do not split into ${groups} groups.`);
  encodeTranspose(r, { ...x, shape: [n, groups, c / groups, h * w] }, y, [0, 2, 1, 3]);
}

const SOFTMAX: Program<Record<string, never>> = {
  name: 'softmax',
  wgsl: () => /* wgsl */ `
${ROW_BINDINGS}
var<workgroup> part: array<f32, 64>;
fn reduce(li: u32, v: f32, isMax: bool) -> f32 {
  part[li] = v;
  for (var stride = 32u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (li < stride) { part[li] = select(part[li] + part[li + stride], max(part[li], part[li + stride]), isMax); }
  }
  workgroupBarrier();
  let result = part[0];
  workgroupBarrier();
  return result;
}
${ROW_MAIN}
  let base = wg * p.cols;
  var m = -3.402823e38;
  for (var i = li; i < p.cols; i += 64u) { m = max(m, x[base + i]); }
  m = reduce(li, m, true);
  var s = 0.0;
  for (var i = li; i < p.cols; i += 64u) { s += exp(x[base + i] - m); }
  s = reduce(li, s, false);
  for (var i = li; i < p.cols; i += 64u) { y[base + i] = exp(x[base + i] - m) / s; }
}`,
};

/** Softmax over the last axis of [rows, cols]: one workgroup per row. */
export function encodeSoftmax(r: Recorder, x: GpuTensor, y: GpuTensor): void {
  const cols = x.shape[x.shape.length - 1]!;
  encodeRows(r, 'softmax', SOFTMAX, x, y, x.size / cols, cols);
}

const GATHER_PARAMS = new UniformStruct('GatherParams', {
  total: 'u32',
  inner: 'u32',
  count: 'u32',
  dim: 'u32',
  start: 'u32',
  step: 'u32',
});

/** Strided (start + j·step) or listed (an index buffer) positions along the axis. */
const AXIS_GATHER: Program<{ readonly listed: boolean }> = {
  name: 'axis-gather',
  wgsl: ({ listed }) =>
    elementwiseWgsl(
      bindings(
        [
          ['x', 'array<f32>', 'read'],
          ['y', 'array<f32>', 'read_write'],
          ...(listed ? ([['idx', 'array<u32>', 'read']] as const) : []),
        ],
        0,
        GATHER_PARAMS,
      ),
      'p.total',
      `let i = e % p.inner; let j = (e / p.inner) % p.count; let o = e / (p.inner * p.count);
  y[e] = x[(o * p.dim + ${listed ? 'idx[j]' : 'p.start + j * p.step'}) * p.inner + i];`,
    ),
};

/**
 * Strided gather along one axis: y[outer, j, inner] = x[outer, index(j), inner] with index(j) =
 * start + j·step, or indices[j] when `indices` is given (Slice, Split and Gather with constant indices).
 */
export function encodeAxisGather(
  r: Recorder,
  x: GpuTensor,
  y: GpuTensor,
  axis: number,
  selection: { start: number; step: number; count: number } | { indices: readonly number[] },
): void {
  const outer = x.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const dim = x.shape[axis]!;
  const listed = 'indices' in selection;
  const count = listed ? selection.indices.length : selection.count;
  const pick = (j: number) => (listed ? selection.indices[j]! : selection.start + j * selection.step);
  for (let j = 0; j < count; j++) {
    const v = pick(j);
    if (!(Number.isInteger(v) && v >= 0 && v < dim))
      throw new GpuError('invalid-argument', `index ${v} is out of range for an axis of ${dim}.`);
  }
  if (y.size !== outer * count * inner)
    throw new GpuError(
      'invalid-argument',
      `gather output needs ${outer * count * inner} elements, got ${y.size}.`,
    );
  // the index list is a constant buffer cached by contents, so repeated runs bind the same one
  const index = listed ? [r.gpu.constants(Uint32Array.from(count ? selection.indices : [0]))] : [];
  encodeElementwise(
    r,
    'axis-gather',
    AXIS_GATHER,
    { listed },
    GATHER_PARAMS,
    {
      total: y.size,
      inner,
      count,
      dim,
      start: listed ? 0 : selection.start,
      step: listed ? 0 : selection.step,
    },
    [x, y, ...index],
  );
}
