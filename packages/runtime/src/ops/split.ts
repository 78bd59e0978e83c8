import { RuntimeError } from '../errors.js';
import { attrNumber, type GraphNode } from '../graph.js';
import { normAxis } from '../shapes.js';
import type { Tensor } from '../tensor.js';
import { copyWindow, encodeWindow, type Window } from './slice.js';
import type { OpDef, ValueInfo } from './types.js';
import { known, need } from './util.js';

/** One window per output: given sizes (input 1), or equal parts (the last smaller; opset 18's num_outputs). */
function parts(
  node: GraphNode,
  shape: readonly number[],
  inputs: readonly (Tensor | ValueInfo | undefined)[],
): Window[] {
  const axis = normAxis(attrNumber(node, 'axis', 0), shape.length, node);
  const dim = shape[axis]!;
  const count = node.outputs.length;
  const chunk = Math.ceil(dim / count);
  const sizes = inputs[1]
    ? known(node, inputs, 1, 'split sizes')
    : Array.from({ length: count }, (_, i) => Math.min(chunk, Math.max(0, dim - i * chunk)));
  if (sizes.reduce((a, b) => a + b, 0) !== dim)
    throw new RuntimeError('invalid-input', `Split '${node.name}' sizes [${sizes}] do not add up to ${dim}.`);
  let at = 0;
  return sizes.map((s) => {
    const w = {
      starts: shape.map((_, d) => (d === axis ? at : 0)),
      steps: shape.map(() => 1),
      sizes: shape.map((d, i) => (i === axis ? s : d)),
    };
    at += s;
    return w;
  });
}

export const split: OpDef = {
  op: 'Split',
  infer(node, inputs) {
    const x = need(node, inputs, 0);
    return parts(node, x.shape, inputs).map((w) => ({ shape: w.sizes, dtype: x.dtype }));
  },
  run(node, inputs) {
    const x = need(node, inputs, 0);
    return parts(node, x.shape, inputs).map((w) => copyWindow(x, w));
  },
  gpu: {
    plan: (_node, inputs) =>
      inputs[0]?.dtype === 'float32' && (!inputs[1] || inputs[1].value) ? { kernel: 'split' } : undefined,
    encode(node, ctx) {
      const x = ctx.input(0);
      return parts(node, x.shape, ctx.inputs).map((w) => encodeWindow(ctx, x, w));
    },
  },
};
