import { encodeLrn, type LrnParams, lrnReference } from '@zeroskip/gpu';
import { RuntimeError } from '../errors.js';
import { attrNumber, type GraphNode } from '../graph.js';
import { asFloat32, float32 } from '../tensor.js';
import type { OpDef } from './types.js';
import { need } from './util.js';

function lrnParams(node: GraphNode, rank: number): LrnParams {
  const size = attrNumber(node, 'size', 0);
  if (size < 1 || rank < 3)
    throw new RuntimeError(
      'invalid-model',
      `node '${node.name}' (LRN) needs a positive size attribute (got ${size}) and an [N, C, …] input (got rank ${rank}).`,
    );
  return {
    size,
    alpha: attrNumber(node, 'alpha', 1e-4),
    beta: attrNumber(node, 'beta', 0.75),
    bias: attrNumber(node, 'bias', 1),
  };
}

/**
 * LRN across channels of [N, C, D1, …]: y = x / (bias + alpha/size · Σ x²)^beta, the sum over the
 * channels c − ⌊(size−1)/2⌋ … c + ⌈(size−1)/2⌉ that exist.
 */
export const lrn: OpDef = {
  op: 'LRN',
  infer(node, inputs) {
    const x = need(node, inputs, 0);
    lrnParams(node, x.shape.length);
    return [{ shape: x.shape, dtype: x.dtype }];
  },
  run(node, inputs) {
    const x = need(node, inputs, 0);
    const params = lrnParams(node, x.shape.length);
    return [float32(x.shape, lrnReference(asFloat32(x, `LRN '${node.name}' input`), x.shape, params))];
  },
  gpu: {
    // the kernel takes the power of the positive base only
    plan: (node, inputs) =>
      inputs[0]?.dtype === 'float32' && attrNumber(node, 'bias', 1) > 0 ? { kernel: 'lrn' } : undefined,
    encode(node, ctx, outputs) {
      const x = ctx.input(0);
      const y = ctx.empty(outputs[0]!.shape);
      encodeLrn(ctx.r, x, y, lrnParams(node, x.shape.length));
      return [y];
    },
  },
};
