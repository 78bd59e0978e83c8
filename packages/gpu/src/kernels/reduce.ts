import type { Program } from '../device.js';
import { checkInt, GpuError } from '../errors.js';
import { grid, type Recorder } from '../recorder.js';
import type { GpuTensor } from '../tensor.js';
import { bindings } from '../wgsl.js';

// ---- The per-element kernel shape with its sizes in a uniform buffer (shared by the kernels whose
// pipeline serves every shape): 256 invocations to a workgroup, spread over a 2-D grid whose width
// the shader reads from num_workgroups, so that no size is compiled in.

/** Opens a 256-wide `main` whose invocation owns element `e` (the body checks e against its total). */
export const PER_ELEMENT = /* wgsl */ `@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let e = (wid.x + wid.y * nwg.x) * 256u + li;`;

/** Dispatches enough workgroups of a {@link PER_ELEMENT} pipeline for `total` elements. */
export function dispatchPerElement(
  r: Recorder,
  label: string,
  pipeline: GPUComputePipeline,
  buffers: readonly (GpuTensor | GPUBuffer)[],
  total: number,
): void {
  r.dispatch(
    label,
    pipeline,
    buffers,
    grid(Math.ceil(total / 256), r.gpu.limits.maxComputeWorkgroupsPerDimension),
  );
}

/** Uniform words: the u32 values, then the f32 values as their bit patterns. */
export function uniformWords(ints: readonly number[], floats: readonly number[] = []): Uint32Array {
  for (const v of ints) checkInt('a uniform size', v, 0, 0xffffffff);
  return Uint32Array.of(...ints, ...new Uint32Array(Float32Array.from(floats).buffer));
}

// ---- Reductions over a set of axes.

export const REDUCE_OPS = [
  'sum',
  'mean',
  'max',
  'min',
  'prod',
  'l1',
  'l2',
  'sum_square',
  'log_sum',
  'log_sum_exp',
] as const;
export type ReduceOp = (typeof REDUCE_OPS)[number];

/** Axes a reduction handles: its uniform holds this many kept and this many reduced dimensions. */
export const MAX_REDUCE_RANK = 6;

/** Per op: the starting value, how an element v joins acc, and how acc becomes the result. */
const REDUCERS: Record<ReduceOp, { init: number; step: string; finish: string }> = {
  sum: { init: 0, step: 'acc + v', finish: 'acc' },
  mean: { init: 0, step: 'acc + v', finish: 'acc / f32(p.count)' },
  max: { init: -Infinity, step: 'max(acc, v)', finish: 'acc' },
  min: { init: Infinity, step: 'min(acc, v)', finish: 'acc' },
  prod: { init: 1, step: 'acc * v', finish: 'acc' },
  l1: { init: 0, step: 'acc + abs(v)', finish: 'acc' },
  l2: { init: 0, step: 'acc + v * v', finish: 'sqrt(acc)' },
  sum_square: { init: 0, step: 'acc + v * v', finish: 'acc' },
  log_sum: { init: 0, step: 'acc + v', finish: 'log(acc)' },
  // after a first pass for the maximum m, so that exp never overflows
  log_sum_exp: { init: 0, step: 'acc + exp(v - m)', finish: 'log(acc) + m' },
};

/** Row-major strides of a shape. */
function stridesOf(shape: readonly number[]): number[] {
  return shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
}

interface Dims {
  readonly sizes: number[];
  readonly strides: number[];
}

/**
 * The kept and the reduced dimensions of `shape`, each innermost first, with neighbouring axes of
 * the same kind merged (fewer index steps per element).
 */
function reducePlan(shape: readonly number[], axes: readonly number[]): { kept: Dims; reduced: Dims } {
  const rank = shape.length;
  if (rank > MAX_REDUCE_RANK)
    throw new GpuError(
      'invalid-argument',
      `a reduction handles rank ≤ ${MAX_REDUCE_RANK}, got rank ${rank}.`,
    );
  const set = new Set(axes.map((a) => (a < 0 ? a + rank : a)));
  for (const a of set) checkInt('a reduction axis', a, 0, rank - 1);
  if (shape.some((d) => d < 1))
    throw new GpuError('invalid-argument', `cannot reduce the empty tensor [${shape.join(', ')}].`);
  const strides = stridesOf(shape);
  const kept: Dims = { sizes: [], strides: [] };
  const reduced: Dims = { sizes: [], strides: [] };
  let last: Dims | undefined;
  for (let d = rank - 1; d >= 0; d--) {
    if (shape[d] === 1) continue;
    const into = set.has(d) ? reduced : kept;
    const n = into.sizes.length;
    // merge with the previous (inner) axis when it is of the same kind and contiguous with it
    if (into === last && into.strides[n - 1]! * into.sizes[n - 1]! === strides[d])
      into.sizes[n - 1]! *= shape[d]!;
    else {
      into.sizes.push(shape[d]!);
      into.strides.push(strides[d]!);
    }
    last = into;
  }
  return { kept, reduced };
}

/** Uniform slots per list of a `Dims` struct: two vec4 rows, of which MAX_REDUCE_RANK are used. */
const DIM_SLOTS = 8;

/** The sizes then strides of `dims` as a WGSL `Dims`, padded with size 1, stride 0. */
function dimWords(dims: Dims): number[] {
  const pad = (a: number[], v: number) => [...a, ...Array(DIM_SLOTS - a.length).fill(v)];
  return [...pad(dims.sizes, 1), ...pad(dims.strides, 0)];
}

const DIMS_STRUCT = `struct Dims { size: array<vec4u, ${DIM_SLOTS / 4}>, stride: array<vec4u, ${DIM_SLOTS / 4}> }`;

const reduceProgram: Program<{ op: ReduceOp }> = {
  name: 'reduce',
  wgsl: ({ op }) => {
    const { step, finish } = REDUCERS[op];
    // visits every reduced element of output e in order, the innermost dimension fastest
    const loop = (body: string) => `{
    var idx = array<u32, ${MAX_REDUCE_RANK}>();
    var off = base;
    for (var i = 0u; i < p.count; i++) {
      let v = x[off];
      ${body}
      for (var d = 0u; d < ${MAX_REDUCE_RANK}u; d++) {
        idx[d]++;
        off += p.red.stride[d / 4u][d % 4u];
        if (idx[d] < p.red.size[d / 4u][d % 4u]) { break; }
        off -= idx[d] * p.red.stride[d / 4u][d % 4u];
        idx[d] = 0u;
      }
    }
  }`;
    return /* wgsl */ `
${DIMS_STRUCT}
struct Params { total: u32, count: u32, kept: Dims, red: Dims, init: f32 }
${bindings([
  ['x', 'array<f32>', 'read'],
  ['y', 'array<f32>', 'read_write'],
])}
@group(0) @binding(2) var<uniform> p: Params;
${PER_ELEMENT}
  if (e >= p.total) { return; }
  var base = 0u;
  var rest = e;
  for (var d = 0u; d < ${MAX_REDUCE_RANK}u; d++) {
    let size = p.kept.size[d / 4u][d % 4u];
    base += (rest % size) * p.kept.stride[d / 4u][d % 4u];
    rest /= size;
  }
  var m = p.init;
  ${op === 'log_sum_exp' ? loop('m = max(m, v);') : ''}
  var acc = ${op === 'log_sum_exp' ? '0.0' : 'p.init'};
  ${loop(`acc = ${step};`)}
  y[e] = ${finish};
}`;
  },
};

/** Reduces x over `axes` (negative counts from the end) with `op`; y holds the kept axes in order. */
export function encodeReduce(
  r: Recorder,
  x: GpuTensor,
  y: GpuTensor,
  op: ReduceOp,
  axes: readonly number[],
): void {
  if (!REDUCE_OPS.includes(op))
    throw new GpuError('invalid-argument', `unknown reduction '${op}'; use one of ${REDUCE_OPS.join(', ')}.`);
  const { kept, reduced } = reducePlan(x.shape, axes);
  const total = kept.sizes.reduce((a, b) => a * b, 1);
  if (y.size !== total)
    throw new GpuError('invalid-argument', `the reduction's output needs ${total} elements, got ${y.size}.`);
  const count = reduced.sizes.reduce((a, b) => a * b, 1);
  // two padding words: the Dims structs start on a 16-byte row
  const words = uniformWords(
    [total, count, 0, 0, ...dimWords(kept), ...dimWords(reduced)],
    [REDUCERS[op].init],
  );
  dispatchPerElement(
    r,
    `reduce-${op}`,
    r.gpu.pipeline(reduceProgram, { op }),
    [x, y, r.gpu.uniforms(words)],
    total,
  );
}

// ---- ArgMax / ArgMin along one axis.

export type ArgReduceOp = 'argmax' | 'argmin';

interface ArgSpec {
  readonly op: ArgReduceOp;
  readonly selectLastIndex: boolean;
}

const argProgram: Program<ArgSpec> = {
  name: 'arg-reduce',
  wgsl: ({ op, selectLastIndex }) => /* wgsl */ `
struct Params { total: u32, len: u32, inner: u32 }
${bindings([
  ['x', 'array<f32>', 'read'],
  ['y', 'array<f32>', 'read_write'],
])}
@group(0) @binding(2) var<uniform> p: Params;
${PER_ELEMENT}
  if (e >= p.total) { return; }
  let base = (e / p.inner) * p.len * p.inner + e % p.inner;
  var best = x[base];
  var at = 0u;
  for (var i = 1u; i < p.len; i++) {
    let v = x[base + i * p.inner];
    if (v ${op === 'argmax' ? '>' : '<'}${selectLastIndex ? '=' : ''} best) { best = v; at = i; }
  }
  y[e] = f32(at);
}`,
};

/**
 * Index of the largest (argmax) or smallest (argmin) element along `axis`, as f32 (exact below 2²⁴);
 * ties go to the first index, or to the last with `selectLastIndex`. y drops `axis` (keepdims is
 * the caller's shape).
 */
export function encodeArgReduce(
  r: Recorder,
  x: GpuTensor,
  y: GpuTensor,
  op: ArgReduceOp,
  axis: number,
  selectLastIndex = false,
): void {
  if (op !== 'argmax' && op !== 'argmin')
    throw new GpuError('invalid-argument', `unknown arg reduction '${op}'; use argmax or argmin.`);
  const a = axis < 0 ? axis + x.shape.length : axis;
  checkInt('the arg reduction axis', a, 0, x.shape.length - 1);
  const len = x.shape[a]!;
  if (len < 1 || len > 2 ** 24)
    throw new GpuError('invalid-argument', `arg reductions need an axis of 1 to 2^24 elements, got ${len}.`);
  const inner = x.shape.slice(a + 1).reduce((p, q) => p * q, 1);
  const total = x.size / len;
  if (y.size !== total)
    throw new GpuError('invalid-argument', `the ${op} output needs ${total} elements, got ${y.size}.`);
  dispatchPerElement(
    r,
    op,
    r.gpu.pipeline(argProgram, { op, selectLastIndex }),
    [x, y, r.gpu.uniforms(uniformWords([total, len, inner]))],
    total,
  );
}

// ---- CPU references.

/** Reduces x of `shape` over `axes` with `op`, in f64, rounded to f32. */
export function reduceReference(
  x: Float32Array,
  shape: readonly number[],
  axes: readonly number[],
  op: ReduceOp,
): Float32Array {
  const rank = shape.length;
  const set = new Set(axes.map((a) => (a < 0 ? a + rank : a)));
  const outShape = shape.map((d, i) => (set.has(i) ? 1 : d));
  const outStrides = stridesOf(outShape);
  const groups: number[][] = Array.from({ length: outShape.reduce((a, b) => a * b, 1) }, () => []);
  const strides = stridesOf(shape);
  for (let i = 0; i < x.length; i++) {
    let o = 0;
    for (let d = 0; d < rank; d++)
      if (!set.has(d)) o += (Math.floor(i / strides[d]!) % shape[d]!) * outStrides[d]!;
    groups[o]!.push(x[i]!);
  }
  const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
  return Float32Array.from(groups, (v) => {
    switch (op) {
      case 'sum':
        return sum(v);
      case 'mean':
        return sum(v) / v.length;
      case 'max':
        return Math.max(...v);
      case 'min':
        return Math.min(...v);
      case 'prod':
        return v.reduce((a, b) => a * b, 1);
      case 'l1':
        return sum(v.map(Math.abs));
      case 'l2':
        return Math.sqrt(sum(v.map((t) => t * t)));
      case 'sum_square':
        return sum(v.map((t) => t * t));
      case 'log_sum':
        return Math.log(sum(v));
      case 'log_sum_exp': {
        const m = Math.max(...v);
        return Math.log(sum(v.map((t) => Math.exp(t - m)))) + m;
      }
    }
  });
}

/** Index of the extreme element along `axis` (first on ties, or last with `selectLastIndex`). */
export function argReduceReference(
  x: Float32Array,
  shape: readonly number[],
  axis: number,
  op: ArgReduceOp,
  selectLastIndex = false,
): Float32Array {
  const a = axis < 0 ? axis + shape.length : axis;
  const len = shape[a]!;
  const inner = shape.slice(a + 1).reduce((p, q) => p * q, 1);
  const better = (v: number, best: number) =>
    op === 'argmax'
      ? v > best || (selectLastIndex && v === best)
      : v < best || (selectLastIndex && v === best);
  return Float32Array.from({ length: x.length / len }, (_, e) => {
    const base = Math.floor(e / inner) * len * inner + (e % inner);
    let at = 0;
    for (let i = 1; i < len; i++) if (better(x[base + i * inner]!, x[base + at * inner]!)) at = i;
    return at;
  });
}
