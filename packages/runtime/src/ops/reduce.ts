import type { ReduceOp } from '@zeroskip/gpu';
import { RuntimeError } from '../errors.js';
import { attrNumber, type GraphNode } from '../graph.js';
import { axesOf, normAxis } from '../shapes.js';
import { type DType, sizeOf, type Tensor, tensor } from '../tensor.js';
import { encodeReduction, groupIndex, reducibleOnGpu } from './reduction.js';
import type { GpuOp, OpDef, ValueInfo } from './types.js';
import { known, need } from './util.js';

/** What a reduction keeps: per input axis, whether it is reduced; and the output shape. */
interface ReducePlan {
  readonly reduced: readonly boolean[];
  readonly shape: number[];
}

function reducePlan(
  node: GraphNode,
  shape: readonly number[],
  inputs: readonly (Tensor | ValueInfo | undefined)[],
): ReducePlan {
  const listed = axesOf(node, inputs[1] ? known(node, inputs, 1, 'axes list') : undefined) ?? [];
  // with noop_with_empty_axes, empty axes reduce nothing: each element is its own group, so
  // ReduceL1, ReduceSumSquare, ReduceLogSum, … still map each value (as ONNX Runtime does)
  const all = listed.length === 0 && attrNumber(node, 'noop_with_empty_axes', 0) !== 1;
  const axes = new Set(listed.map((a) => normAxis(a, shape.length, node)));
  const reduced = shape.map((_, i) => all || axes.has(i));
  const keep = attrNumber(node, 'keepdims', 1) === 1;
  return {
    reduced,
    shape: keep ? shape.map((d, i) => (reduced[i] ? 1 : d)) : shape.filter((_, i) => !reduced[i]),
  };
}

/** A reduction as fold over the values (in float64), then a final map of the total and the count. */
interface Reduction {
  readonly op: string;
  /** The GPU kernel's name for it. */
  readonly gpu: ReduceOp;
  readonly init: number;
  step(acc: number, v: number): number;
  finish?(acc: number, count: number): number;
  /** Whether each value is shifted by its output's maximum first (and the result back by it). */
  readonly shifted?: boolean;
  /** Whether int64 inputs are accepted (the result is then int64 too). */
  readonly ints?: boolean;
}

const MAX: Reduction = {
  op: 'ReduceMax',
  gpu: 'max',
  init: Number.NEGATIVE_INFINITY,
  step: (a, v) => (v > a || Number.isNaN(v) ? v : a),
  ints: true,
};

const REDUCTIONS: readonly Reduction[] = [
  MAX,
  {
    op: 'ReduceMin',
    gpu: 'min',
    init: Number.POSITIVE_INFINITY,
    step: (a, v) => (v < a || Number.isNaN(v) ? v : a),
    ints: true,
  },
  { op: 'ReduceSum', gpu: 'sum', init: 0, step: (a, v) => a + v, ints: true },
  { op: 'ReduceProd', gpu: 'prod', init: 1, step: (a, v) => a * v, ints: true },
  { op: 'ReduceMean', gpu: 'mean', init: 0, step: (a, v) => a + v, finish: (a, n) => a / n },
  { op: 'ReduceL1', gpu: 'l1', init: 0, step: (a, v) => a + Math.abs(v) },
  { op: 'ReduceL2', gpu: 'l2', init: 0, step: (a, v) => a + v * v, finish: Math.sqrt },
  { op: 'ReduceSumSquare', gpu: 'sum_square', init: 0, step: (a, v) => a + v * v },
  { op: 'ReduceLogSum', gpu: 'log_sum', init: 0, step: (a, v) => a + v, finish: Math.log },
  // log Σ exp(v) is taken as max + log Σ exp(v − max) so that large values do not overflow
  {
    op: 'ReduceLogSumExp',
    gpu: 'log_sum_exp',
    init: 0,
    step: (a, v) => a + Math.exp(v),
    finish: Math.log,
    shifted: true,
  },
];

function checkDtype(node: GraphNode, r: Reduction, dtype: DType): void {
  if (dtype === 'float32' || (dtype === 'int64' && r.ints)) return;
  throw new RuntimeError(
    'unsupported-op',
    `node '${node.name}' (${r.op}) reduces a ${dtype} tensor; only float32${r.ints ? ' and int64' : ''} inputs are supported.`,
  );
}

function reduce(r: Reduction, node: GraphNode, inputs: readonly (Tensor | undefined)[]): Tensor {
  const x = need(node, inputs, 0);
  checkDtype(node, r, x.dtype);
  const { reduced, shape } = reducePlan(node, x.shape, inputs);
  const index = groupIndex(x.shape, reduced);
  const fold = (f: Reduction, shift: (o: number) => number) => {
    const acc = new Float64Array(sizeOf(shape)).fill(f.init);
    for (let e = 0; e < x.data.length; e++)
      acc[index[e]!] = f.step(acc[index[e]!]!, x.data[e]! - shift(index[e]!));
    return acc;
  };
  let shift = (_o: number) => 0;
  if (r.shifted) {
    const max = fold(MAX, shift);
    // an output whose values are all ±∞ keeps them (∞ − ∞ would be NaN)
    shift = (o) => (Number.isFinite(max[o]!) ? max[o]! : 0);
  }
  const acc = fold(r, shift);
  const count = x.data.length / Math.max(acc.length, 1);
  const out = acc.map((a, o) => (r.finish ? r.finish(a, count) : a) + shift(o));
  return tensor(x.dtype, shape, x.dtype === 'int64' ? out : Float32Array.from(out));
}

/** On the GPU: what the reduction kernel takes, with known axes. */
function reduceGpu(r: Reduction): GpuOp {
  return {
    plan(_node, inputs) {
      if (!reducibleOnGpu(inputs[0]) || (inputs[1] && !inputs[1].value)) return undefined;
      return { kernel: 'reduce' };
    },
    encode(node, ctx, outputs) {
      const { reduced } = reducePlan(node, ctx.inputs[0]!.shape, ctx.inputs);
      const axes = reduced.flatMap((on, i) => (on ? [i] : []));
      return [encodeReduction(ctx, r.gpu, axes, outputs[0]!.shape)];
    },
  };
}

function reduceOp(r: Reduction): OpDef {
  return {
    op: r.op,
    infer(node, inputs) {
      const x = need(node, inputs, 0);
      checkDtype(node, r, x.dtype);
      return [{ shape: reducePlan(node, x.shape, inputs).shape, dtype: x.dtype }];
    },
    run: (node, inputs) => [reduce(r, node, inputs)],
    gpu: reduceGpu(r),
  };
}

/** ReduceMax, ReduceMin, ReduceSum, ReduceProd, ReduceMean, ReduceL1, ReduceL2, ReduceSumSquare, ReduceLogSum, ReduceLogSumExp. */
export const reduceOps: readonly OpDef[] = REDUCTIONS.map(reduceOp);
