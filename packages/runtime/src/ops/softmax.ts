import { encodeSoftmax, softmaxReference, transposeReference } from '@zeroskip/gpu';
import { attrNumber, type GraphNode } from '../graph.js';
import { normAxis } from '../shapes.js';
import { asFloat32, float32, sizeOf } from '../tensor.js';
import type { OpContext, OpDef } from './types.js';
import { need } from './util.js';

/** Softmax's axis; before opset 13 it defaults to 1 and the input is flattened to 2-D at the axis. */
function axisOf(node: GraphNode, rank: number, ctx: OpContext): number {
  return normAxis(attrNumber(node, 'axis', ctx.opset >= 13 ? -1 : 1), rank, node);
}

export const softmax: OpDef = {
  op: 'Softmax',
  infer: (node, inputs) => [{ shape: need(node, inputs, 0).shape, dtype: 'float32' }],
  run(node, inputs, ctx) {
    const x = need(node, inputs, 0);
    const rank = x.shape.length;
    const axis = axisOf(node, rank, ctx);
    const xd = asFloat32(x, 'Softmax input');
    if (ctx.opset < 13 || axis === rank - 1)
      return [
        float32(
          x.shape,
          softmaxReference(xd, ctx.opset < 13 ? sizeOf(x.shape.slice(axis)) : x.shape[rank - 1]!),
        ),
      ];
    const perm = x.shape.map((_, i) => i);
    perm[axis] = rank - 1;
    perm[rank - 1] = axis;
    const moved = perm.map((p) => x.shape[p]!);
    const t = softmaxReference(transposeReference(xd, x.shape, perm), moved[rank - 1]!);
    return [float32(x.shape, transposeReference(t, moved, perm))];
  },
  gpu: {
    // the kernel normalises rows of the last axis: the opset-13 form on the last axis, or any axis before 13
    plan(node, inputs, ctx) {
      const x = inputs[0];
      if (x?.dtype !== 'float32') return undefined;
      return ctx.opset < 13 || axisOf(node, x.shape.length, ctx) === x.shape.length - 1
        ? { kernel: 'softmax' }
        : undefined;
    },
    encode(node, ctx) {
      const x = ctx.input(0);
      const y = ctx.empty(x.shape);
      const cols = sizeOf(x.shape.slice(ctx.opset < 13 ? axisOf(node, x.shape.length, ctx) : -1));
      encodeSoftmax(ctx.r, { ...x, shape: [x.size / cols, cols] }, { ...y, shape: [x.size / cols, cols] });
      return [y];
    },
  },
};
