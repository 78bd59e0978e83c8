import { encodeTranspose, transposeReference } from '@zeroskip/gpu';
import { attrNumbers, type GraphNode } from '../graph.js';
import { tensor } from '../tensor.js';
import type { OpDef } from './types.js';
import { need } from './util.js';

/** The permutation: given, or the reversed axes. */
const permOf = (node: GraphNode, rank: number) =>
  attrNumbers(node, 'perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);

/** Rank of the GPU transpose kernel's index arithmetic. */
const MAX_GPU_RANK = 6;

export const transpose: OpDef = {
  op: 'Transpose',
  infer(node, inputs) {
    const x = need(node, inputs, 0);
    return [{ shape: permOf(node, x.shape.length).map((p) => x.shape[p]!), dtype: x.dtype }];
  },
  run(node, inputs) {
    const x = need(node, inputs, 0);
    const perm = permOf(node, x.shape.length);
    const data =
      x.dtype === 'float32'
        ? transposeReference(x.data as Float32Array, x.shape, perm)
        : new (x.data.constructor as Float64ArrayConstructor)(
            transposeReference(Float32Array.from(x.data), x.shape, perm),
          );
    return [
      tensor(
        x.dtype,
        perm.map((p) => x.shape[p]!),
        data,
      ),
    ];
  },
  gpu: {
    plan: (_node, inputs) =>
      inputs[0]?.dtype === 'float32' && inputs[0].shape.length <= MAX_GPU_RANK
        ? { kernel: 'transpose' }
        : undefined,
    encode(node, ctx, outputs) {
      const x = ctx.input(0);
      const y = ctx.empty(outputs[0]!.shape);
      encodeTranspose(ctx.r, x, y, permOf(node, x.shape.length));
      return [y];
    },
  },
};
