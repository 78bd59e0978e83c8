import { checkInt, GpuError } from '../errors.js';
import { grid, type Recorder } from '../recorder.js';
import type { GpuTensor } from '../tensor.js';
import { type Activation, activationFn, bindings, f, u, windowLoop, workgroupIndex } from '../wgsl.js';
import { elementwise } from './elementwise.js';

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
  elementwise(
    r,
    'channel-affine',
    `${channels}x${spatial}:${activation}`,
    x.size,
    `${bindings([
      ['x', 'array<f32>', 'read'],
      ['scale', 'array<f32>', 'read'],
      ['shift', 'array<f32>', 'read'],
      ['y', 'array<f32>', 'read_write'],
    ])}
${activationFn(activation)}`,
    `let c = (e / ${u(spatial)}) % ${u(channels)}; y[e] = act(fma(x[e], scale[c], shift[c]));`,
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

/** y = act(x). */
export function encodeActivation(r: Recorder, x: GpuTensor, y: GpuTensor, activation: Activation): void {
  elementwise(
    r,
    'activation',
    activation,
    x.size,
    `${bindings([
      ['x', 'array<f32>', 'read'],
      ['y', 'array<f32>', 'read_write'],
    ])}\n${activationFn(activation)}`,
    'y[e] = act(x[e]);',
    [x, y],
  );
}

export const BINARY_OPS = ['add', 'sub', 'mul', 'div'] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];

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

/** WGSL computing the flat index into a tensor of `shape` broadcast to `out`, from the output index e. */
function broadcastIndex(shape: readonly number[], out: readonly number[]): string {
  const rank = out.length;
  const padded = [...Array(rank - shape.length).fill(1), ...shape];
  let stride = 1;
  const terms: string[] = [];
  for (let d = rank - 1, outStride = 1; d >= 0; d--) {
    if (padded[d] !== 1) terms.push(`((e / ${u(outStride)}) % ${u(out[d]!)}) * ${u(stride)}`);
    stride *= padded[d]!;
    outStride *= out[d]!;
  }
  return terms.length ? terms.join(' + ') : '0u';
}

/** y = act(a ∘ b) with broadcasting (residual add, scale by a per-channel tensor, …). */
export function encodeBinary(
  r: Recorder,
  a: GpuTensor,
  b: GpuTensor,
  y: GpuTensor,
  op: BinaryOp,
  activation: Activation = 'none',
): void {
  if (!(BINARY_OPS as readonly string[]).includes(op))
    throw new GpuError('invalid-argument', `unknown binary op '${op}'.`);
  const out = broadcastShape(a.shape, b.shape);
  const sym = { add: '+', sub: '-', mul: '*', div: '/' }[op];
  elementwise(
    r,
    `binary-${op}`,
    `${a.shape.join('x')}:${b.shape.join('x')}:${activation}`,
    out.reduce((p, d) => p * d, 1),
    `${bindings([
      ['a', 'array<f32>', 'read'],
      ['b', 'array<f32>', 'read'],
      ['y', 'array<f32>', 'read_write'],
    ])}
${activationFn(activation)}`,
    `y[e] = act(a[${broadcastIndex(a.shape, out)}] ${sym} b[${broadcastIndex(b.shape, out)}]);`,
    [a, b, y],
  );
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

/** Max or average 2-D pooling over NCHW into `y` of the pooled shape. */
export function encodePool(
  r: Recorder,
  x: GpuTensor,
  y: GpuTensor,
  kind: 'max' | 'avg',
  p: PoolParams,
): void {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [kh, kw] = p.kernel;
  const [sh, sw] = p.stride ?? [1, 1];
  const [pt, pl, pb, pr] = p.pads ?? [0, 0, 0, 0];
  const [dh, dw] = p.dilation ?? [1, 1];
  for (const v of [kh, kw, sh, sw, dh, dw]) checkInt('pool size', v, 1, 4096);
  const ho = poolOutput(h, kh, sh, pt, pb, dh, p.ceilMode === true);
  const wo = poolOutput(w, kw, sw, pl, pr, dw, p.ceilMode === true);
  if (y.size !== n * c * ho * wo)
    throw new GpuError('invalid-argument', `pool output needs ${n * c * ho * wo} elements, got ${y.size}.`);
  const init = kind === 'max' ? '-3.402823e38' : '0.0';
  const combine = kind === 'max' ? 'acc = max(acc, v);' : 'acc += v; cnt += 1u;';
  const divisor = p.countIncludePad ? u(kh * kw) : 'cnt';
  const finish = kind === 'max' ? 'y[e] = acc;' : `y[e] = acc / f32(max(${divisor}, 1u));`;
  elementwise(
    r,
    `pool-${kind}`,
    [n, c, h, w, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, ho, wo, p.countIncludePad ? 1 : 0].join('x'),
    n * c * ho * wo,
    bindings([
      ['x', 'array<f32>', 'read'],
      ['y', 'array<f32>', 'read_write'],
    ]),
    `let ox = e % ${u(wo)};
  let oy = (e / ${u(wo)}) % ${u(ho)};
  let nc = e / ${u(ho * wo)};
  var acc = ${init};
  var cnt = 0u;
  ${windowLoop({ h, w, kh, kw, sh, sw, dh, dw, pt, pl }, 'oy', 'ox', `let v = x[(nc * ${u(h)} + iy) * ${u(w)} + ix];\n      ${combine}`)}
  ${finish}`,
    [x, y],
  );
}

/** Global average pooling [n, c, h, w] → [n, c]: one workgroup per (n, c), a tree reduction. */
export function encodeGlobalAvgPool(r: Recorder, x: GpuTensor, y: GpuTensor): void {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const total = n * c;
  const [nx] = grid(total, 65535);
  const wgsl = () => /* wgsl */ `
${bindings([
  ['x', 'array<f32>', 'read'],
  ['y', 'array<f32>', 'read_write'],
])}
var<workgroup> part: array<f32, 64>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  ${workgroupIndex(nx)}
  if (wg >= ${u(total)}) { return; }
  var s = 0.0;
  for (var i = li; i < ${u(h * w)}; i += 64u) { s += x[wg * ${u(h * w)} + i]; }
  part[li] = s;
  for (var stride = 32u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (li < stride) { part[li] += part[li + stride]; }
  }
  if (li == 0u) { y[wg] = part[0] / f32(${u(h * w)}); }
}`;
  r.dispatch(
    'global-avg-pool',
    r.gpu.pipeline(`gap:${n}x${c}x${h}x${w}`, wgsl),
    [x, y],
    grid(total, r.gpu.limits.maxComputeWorkgroupsPerDimension),
  );
}

/** Copies `x` into `y` at `offset` along `axis` (concat is one call per input). */
export function encodeConcatInto(
  r: Recorder,
  x: GpuTensor,
  y: GpuTensor,
  axis: number,
  offset: number,
): void {
  const outer = x.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const len = x.shape[axis]!;
  const ylen = y.shape[axis]!;
  if (offset + len > ylen)
    throw new GpuError(
      'invalid-argument',
      `concat input of ${len} at offset ${offset} overruns the output's ${ylen} along axis ${axis}.`,
    );
  elementwise(
    r,
    'concat',
    [outer, len, inner, ylen, offset].join('x'),
    x.size,
    bindings([
      ['x', 'array<f32>', 'read'],
      ['y', 'array<f32>', 'read_write'],
    ]),
    `let i = e % ${u(inner)}; let a = (e / ${u(inner)}) % ${u(len)}; let o = e / ${u(inner * len)};
  y[(o * ${u(ylen)} + ${u(offset)} + a) * ${u(inner)} + i] = x[e];`,
    [x, y],
  );
}

/** Permutes the axes of `x` (rank ≤ 6): y has shape x.shape[perm[i]]. */
export function encodeTranspose(r: Recorder, x: GpuTensor, y: GpuTensor, perm: readonly number[]): void {
  const rank = x.shape.length;
  if (perm.length !== rank || [...perm].sort().some((p, i) => p !== i))
    throw new GpuError('invalid-argument', `[${perm.join(', ')}] is not a permutation of ${rank} axes.`);
  const out = perm.map((p) => x.shape[p]!);
  const inStrides = x.shape.map((_, d) => x.shape.slice(d + 1).reduce((a, b) => a * b, 1));
  let outStride = 1;
  const terms: string[] = [];
  for (let d = rank - 1; d >= 0; d--) {
    terms.push(`((e / ${u(outStride)}) % ${u(out[d]!)}) * ${u(inStrides[perm[d]!]!)}`);
    outStride *= out[d]!;
  }
  elementwise(
    r,
    'transpose',
    `${x.shape.join('x')}:${perm.join('')}`,
    x.size,
    bindings([
      ['x', 'array<f32>', 'read'],
      ['y', 'array<f32>', 'read_write'],
    ]),
    `y[e] = x[${terms.join(' + ')}];`,
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

/** Softmax over the last axis of [rows, cols]: one workgroup per row. */
export function encodeSoftmax(r: Recorder, x: GpuTensor, y: GpuTensor): void {
  const cols = x.shape[x.shape.length - 1]!;
  const rows = x.size / cols;
  const [nx] = grid(rows, 65535);
  const wgsl = () => /* wgsl */ `
${bindings([
  ['x', 'array<f32>', 'read'],
  ['y', 'array<f32>', 'read_write'],
])}
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
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  ${workgroupIndex(nx)}
  if (wg >= ${u(rows)}) { return; }
  let base = wg * ${u(cols)};
  var m = -3.402823e38;
  for (var i = li; i < ${u(cols)}; i += 64u) { m = max(m, x[base + i]); }
  m = reduce(li, m, true);
  var s = 0.0;
  for (var i = li; i < ${u(cols)}; i += 64u) { s += exp(x[base + i] - m); }
  s = reduce(li, s, false);
  for (var i = li; i < ${u(cols)}; i += 64u) { y[base + i] = exp(x[base + i] - m) / s; }
}`;
  r.dispatch(
    'softmax',
    r.gpu.pipeline(`softmax:${rows}x${cols}`, wgsl),
    [x, y],
    grid(rows, r.gpu.limits.maxComputeWorkgroupsPerDimension),
  );
}

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
  const count = 'indices' in selection ? selection.indices.length : selection.count;
  const pick = (j: number) =>
    'indices' in selection ? selection.indices[j]! : selection.start + j * selection.step;
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
  // an explicit index list becomes a WGSL constant array (numbers only)
  const table =
    'indices' in selection
      ? `const IDX = array<u32, ${u(Math.max(count, 1))}>(${(count ? selection.indices : [0]).map((v) => u(v)).join(', ')});`
      : '';
  const index = 'indices' in selection ? 'IDX[j]' : `${u(selection.start)} + j * ${u(selection.step)}`;
  elementwise(
    r,
    'axis-gather',
    `${outer}x${dim}x${inner}:${'indices' in selection ? selection.indices.join(',') : `${selection.start}+${selection.step}x${count}`}`,
    y.size,
    `${bindings([
      ['x', 'array<f32>', 'read'],
      ['y', 'array<f32>', 'read_write'],
    ])}
${table}`,
    `let i = e % ${u(inner)}; let j = (e / ${u(inner)}) % ${u(count)}; let o = e / ${u(inner * count)};
  y[e] = x[(o * ${u(dim)} + ${index}) * ${u(inner)} + i];`,
    [x, y],
  );
}

export const PARAM_ACTIVATIONS = ['leakyrelu', 'hardsigmoid', 'hardswish'] as const;
export type ParamActivation = (typeof PARAM_ACTIVATIONS)[number];

/** y = LeakyRelu(x; α), HardSigmoid(x; α, β) = clamp(αx + β, 0, 1), or HardSwish(x) = x·HardSigmoid(x; 1/6, ½). */
export function encodeParamActivation(
  r: Recorder,
  x: GpuTensor,
  y: GpuTensor,
  kind: ParamActivation,
  alpha = 0.01,
  beta = 0.5,
): void {
  if (!(PARAM_ACTIVATIONS as readonly string[]).includes(kind))
    throw new GpuError('invalid-argument', `unknown activation '${kind}'.`);
  const body = {
    leakyrelu: `let v = x[e]; y[e] = select(${f(alpha)} * v, v, v >= 0.0);`,
    hardsigmoid: `y[e] = clamp(${f(alpha)} * x[e] + ${f(beta)}, 0.0, 1.0);`,
    hardswish: 'let v = x[e]; y[e] = v * clamp(v / 6.0 + 0.5, 0.0, 1.0);',
  }[kind];
  elementwise(
    r,
    kind,
    `${alpha}:${beta}`,
    x.size,
    bindings([
      ['x', 'array<f32>', 'read'],
      ['y', 'array<f32>', 'read_write'],
    ]),
    body,
    [x, y],
  );
}
