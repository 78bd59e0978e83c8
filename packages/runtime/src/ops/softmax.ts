import { encodeSoftmax, encodeTranspose, reshape, softmaxReference, transposeReference } from '@zeroskip/gpu';
import { attrNumber, type GraphNode } from '../graph.js';
import { normAxis } from '../shapes.js';
import { asFloat32, float32, sizeOf } from '../tensor.js';
import type { OpContext, OpDef } from './types.js';
import { need } from './util.js';

/** Softmax's axis; before opset 13 it defaults to 1 and the input is flattened to 2-D at the axis. */
function axisOf(node: GraphNode, rank: number, ctx: OpContext): number {
  return normAxis(attrNumber(node, 'axis', ctx.opset >= 13 ? -1 : 1), rank, node);
}

/** Rows of `cols` values each, normalised by `f` (a row in, a row out). */
type RowOp = (x: Float32Array, cols: number) => Float32Array;

const rowsOf =
  (f: (row: Float32Array) => Float32Array): RowOp =>
  (x, cols) => {
    const y = new Float32Array(x.length);
    for (let r = 0; r < x.length; r += cols) y.set(f(x.subarray(r, r + cols)), r);
    return y;
  };

const logSoftmaxRows = rowsOf((row) => {
  const m = row.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY);
  const log = Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
  return row.map((v) => v - m - log);
});

/** 1 at the first maximum of each row, 0 elsewhere. */
const hardmaxRows = rowsOf((row) => {
  const y = new Float32Array(row.length);
  y[row.indexOf(row.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY))] = 1;
  return y;
});

/**
 * Softmax, LogSoftmax and Hardmax: rows of the axis (opset 13+), or of the input flattened to 2-D at
 * the axis (before 13).
 */
function normalizer(op: string, rows: RowOp, gpu?: OpDef['gpu']): OpDef {
  return {
    op,
    infer: (node, inputs) => [{ shape: need(node, inputs, 0).shape, dtype: 'float32' }],
    run(node, inputs, ctx) {
      const x = need(node, inputs, 0);
      const rank = x.shape.length;
      const axis = axisOf(node, rank, ctx);
      const xd = asFloat32(x, op);
      if (ctx.opset < 13 || axis === rank - 1)
        return [
          float32(x.shape, rows(xd, ctx.opset < 13 ? sizeOf(x.shape.slice(axis)) : x.shape[rank - 1]!)),
        ];
      const perm = x.shape.map((_, i) => i);
      perm[axis] = rank - 1;
      perm[rank - 1] = axis;
      const moved = perm.map((p) => x.shape[p]!);
      const t = rows(transposeReference(xd, x.shape, perm), moved[rank - 1]!);
      return [float32(x.shape, transposeReference(t, moved, perm))];
    },
    ...(gpu ? { gpu } : {}),
  };
}

export const softmaxOps: readonly OpDef[] = [
  normalizer('Softmax', softmaxReference, {
    // the kernel normalises rows of the last axis: the opset-13 form on the last axis, or any axis before
    // 13; another axis of the opset-13 form moves last and back around it ([pre, axis, post] ↔ [pre, post, axis])
    plan(node, inputs, ctx) {
      const x = inputs[0];
      if (x?.dtype !== 'float32') return undefined;
      return ctx.opset < 13 || axisOf(node, x.shape.length, ctx) === x.shape.length - 1
        ? { kernel: 'softmax' }
        : { kernel: 'softmax-transposed' };
    },
    encode(node, ctx) {
      const x = ctx.input(0);
      const y = ctx.empty(x.shape);
      const axis = axisOf(node, x.shape.length, ctx);
      if (ctx.kernel === 'softmax-transposed') {
        const [pre, cols, post] = [
          sizeOf(x.shape.slice(0, axis)),
          x.shape[axis]!,
          sizeOf(x.shape.slice(axis + 1)),
        ];
        const [moved, normed] = [ctx.empty([pre, post, cols]), ctx.empty([pre, post, cols])];
        encodeTranspose(ctx.r, reshape(x, [pre, cols, post]), moved, [0, 2, 1]);
        encodeSoftmax(ctx.r, reshape(moved, [pre * post, cols]), reshape(normed, [pre * post, cols]));
        encodeTranspose(ctx.r, normed, reshape(y, [pre, cols, post]), [0, 2, 1]);
        ctx.gpu.release(moved);
        ctx.gpu.release(normed);
        return [y];
      }
      const cols = sizeOf(x.shape.slice(ctx.opset < 13 ? axis : -1));
      encodeSoftmax(ctx.r, reshape(x, [x.size / cols, cols]), reshape(y, [x.size / cols, cols]));
      return [y];
    },
  }),
  normalizer('LogSoftmax', logSoftmaxRows),
  normalizer('Hardmax', hardmaxRows),
];
