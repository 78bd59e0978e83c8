import { encodeReduce, type GpuTensor, MAX_REDUCE_RANK, type ReduceOp, strides } from '@zeroskip/gpu';
import { sizeOf } from '../tensor.js';
import type { EncodeContext, ValueInfo } from './types.js';

// Reductions over a set of axes, shared by the ops that fold groups of elements: which group each
// element belongs to (CPU), and the reduction kernel's call (GPU).

/** For each element of `shape`, the index of its group: the elements that differ only on `reduced` axes. */
export function groupIndex(shape: readonly number[], reduced: readonly boolean[]): Int32Array {
  const kept = shape.map((d, i) => (reduced[i] ? 1 : d));
  const sk = strides(kept).map((s, i) => (reduced[i] ? 0 : s));
  const index = new Int32Array(sizeOf(shape));
  // the element's position advances as an odometer, last axis fastest; a reduced axis moves no group
  const pos = Array<number>(shape.length).fill(0);
  let o = 0;
  for (let e = 0; e < index.length; e++) {
    index[e] = o;
    for (let d = shape.length - 1; d >= 0; d--) {
      o += sk[d]!;
      if (++pos[d]! < shape[d]!) break;
      o -= sk[d]! * shape[d]!;
      pos[d] = 0;
    }
  }
  return index;
}

/** Whether the reduction kernel takes `x`: float32, of rank at most MAX_REDUCE_RANK, with no empty axis. */
export function reducibleOnGpu(x: ValueInfo | undefined): x is ValueInfo {
  return x?.dtype === 'float32' && x.shape.length <= MAX_REDUCE_RANK && x.shape.every((d) => d >= 1);
}

/** Records `op` over `axes` of the node's input 0 into a fresh tensor of the output's `shape`. */
export function encodeReduction(
  ctx: EncodeContext,
  op: ReduceOp,
  axes: readonly number[],
  shape: readonly number[],
): GpuTensor {
  const y = ctx.empty(shape);
  encodeReduce(ctx.r, ctx.input(0), y, op, axes);
  return y;
}
