import type { Program } from '../device.js';
import { checkInt, GpuError } from '../errors.js';
import type { Recorder } from '../recorder.js';
import { type GpuTensor, strides } from '../tensor.js';
import { UniformStruct, uniformAt } from '../uniforms.js';
import { bindings } from '../wgsl.js';
import { elementwiseWgsl, encodeElementwise } from './elementwise.js';

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

/**
 * Per op: the starting value (WGSL; max and min start from the first reduced element x[base], as no
 * f32 literal is infinite), how an element v joins acc, and how acc becomes the result.
 */
const REDUCERS: Record<ReduceOp, { init: string; step: string; finish: string }> = {
  sum: { init: '0.0', step: 'acc + v', finish: 'acc' },
  mean: { init: '0.0', step: 'acc + v', finish: 'acc / f32(p.count)' },
  max: { init: 'x[base]', step: 'max(acc, v)', finish: 'acc' },
  min: { init: 'x[base]', step: 'min(acc, v)', finish: 'acc' },
  prod: { init: '1.0', step: 'acc * v', finish: 'acc' },
  l1: { init: '0.0', step: 'acc + abs(v)', finish: 'acc' },
  l2: { init: '0.0', step: 'acc + v * v', finish: 'sqrt(acc)' },
  sum_square: { init: '0.0', step: 'acc + v * v', finish: 'acc' },
  log_sum: { init: '0.0', step: 'acc + v', finish: 'log(acc)' },
  // after a first pass for the maximum m, so that exp never overflows
  log_sum_exp: { init: '0.0', step: 'acc + exp(v - m)', finish: 'log(acc) + m' },
};

/** Row-major strides of a shape. */

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
  const inStrides = strides(shape);
  const kept: Dims = { sizes: [], strides: [] };
  const reduced: Dims = { sizes: [], strides: [] };
  let last: Dims | undefined;
  for (let d = rank - 1; d >= 0; d--) {
    if (shape[d] === 1) continue;
    const into = set.has(d) ? reduced : kept;
    const n = into.sizes.length;
    // merge with the previous (inner) axis when it is of the same kind and contiguous with it
    if (into === last && into.strides[n - 1]! * into.sizes[n - 1]! === inStrides[d])
      into.sizes[n - 1]! *= shape[d]!;
    else {
      into.sizes.push(shape[d]!);
      into.strides.push(inStrides[d]!);
    }
    last = into;
  }
  return { kept, reduced };
}

const REDUCE_PARAMS = new UniformStruct('ReduceParams', {
  total: 'u32',
  count: 'u32',
  keptRank: 'u32',
  reducedRank: 'u32',
  keptSize: { u32s: MAX_REDUCE_RANK },
  keptStride: { u32s: MAX_REDUCE_RANK },
  reducedSize: { u32s: MAX_REDUCE_RANK },
  reducedStride: { u32s: MAX_REDUCE_RANK },
});

const reduceProgram: Program<{ op: ReduceOp }> = {
  name: 'reduce',
  wgsl: ({ op }) => {
    const { init, step, finish } = REDUCERS[op];
    // visits every reduced element of output e in order, the innermost dimension fastest
    const loop = (body: string) => `{
    var idx = array<u32, ${MAX_REDUCE_RANK}>();
    var off = base;
    for (var i = 0u; i < p.count; i++) {
      let v = x[off];
      ${body}
      for (var d = 0u; d < p.reducedRank; d++) {
        idx[d]++;
        off += ${uniformAt('reducedStride', 'd')};
        if (idx[d] < ${uniformAt('reducedSize', 'd')}) { break; }
        off -= idx[d] * ${uniformAt('reducedStride', 'd')};
        idx[d] = 0u;
      }
    }
  }`;
    return elementwiseWgsl(
      bindings(
        [
          ['x', 'array<f32>', 'read'],
          ['y', 'array<f32>', 'read_write'],
        ],
        0,
        REDUCE_PARAMS,
      ),
      'p.total',
      `var base = 0u;
  var rest = e;
  for (var d = 0u; d < p.keptRank; d++) {
    let size = ${uniformAt('keptSize', 'd')};
    base += (rest % size) * ${uniformAt('keptStride', 'd')};
    rest /= size;
  }
  ${
    op === 'log_sum_exp'
      ? `var m = x[base];
  ${loop('m = max(m, v);')}`
      : ''
  }
  var acc = ${init};
  ${loop(`acc = ${step};`)}
  y[e] = ${finish};`,
    );
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
  encodeElementwise(
    r,
    `reduce-${op}`,
    reduceProgram,
    { op },
    REDUCE_PARAMS,
    {
      total,
      count: reduced.sizes.reduce((a, b) => a * b, 1),
      keptRank: kept.sizes.length,
      reducedRank: reduced.sizes.length,
      keptSize: kept.sizes,
      keptStride: kept.strides,
      reducedSize: reduced.sizes,
      reducedStride: reduced.strides,
    },
    [x, y],
  );
}

// ---- ArgMax / ArgMin along one axis.

export type ArgReduceOp = 'argmax' | 'argmin';

interface ArgSpec {
  readonly op: ArgReduceOp;
  readonly selectLastIndex: boolean;
}

const ARG_PARAMS = new UniformStruct('ArgParams', { total: 'u32', len: 'u32', inner: 'u32' });

const argProgram: Program<ArgSpec> = {
  name: 'arg-reduce',
  wgsl: ({ op, selectLastIndex }) =>
    elementwiseWgsl(
      bindings(
        [
          ['x', 'array<f32>', 'read'],
          ['y', 'array<f32>', 'read_write'],
        ],
        0,
        ARG_PARAMS,
      ),
      'p.total',
      `let base = (e / p.inner) * p.len * p.inner + e % p.inner;
  var best = x[base];
  var at = 0u;
  for (var i = 1u; i < p.len; i++) {
    let v = x[base + i * p.inner];
    if (v ${op === 'argmax' ? '>' : '<'}${selectLastIndex ? '=' : ''} best) { best = v; at = i; }
  }
  y[e] = f32(at);`,
    ),
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
  encodeElementwise(r, op, argProgram, { op, selectLastIndex }, ARG_PARAMS, { total, len, inner }, [x, y]);
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
  const outStrides = strides(outShape);
  const groups: number[][] = Array.from({ length: outShape.reduce((a, b) => a * b, 1) }, () => []);
  const inStrides = strides(shape);
  for (let i = 0; i < x.length; i++) {
    let o = 0;
    for (let d = 0; d < rank; d++)
      if (!set.has(d)) o += (Math.floor(i / inStrides[d]!) % shape[d]!) * outStrides[d]!;
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
