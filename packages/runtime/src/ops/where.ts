import { RuntimeError } from '../errors.js';
import type { GraphNode } from '../graph.js';
import type { Tensor } from '../tensor.js';
import { expectDtype } from './cast.js';
import { broadcastShapes, mapBroadcast } from './expand.js';
import type { OpDef, ValueInfo } from './types.js';
import { need } from './util.js';

/** Condition, X and Y: a bool condition and two values of one dtype. */
function operands<T extends Tensor | ValueInfo>(
  node: GraphNode,
  inputs: readonly (T | undefined)[],
): [T, T, T] {
  const [c, x, y] = [0, 1, 2].map((i) => need(node, inputs, i)) as [T, T, T];
  expectDtype(node, c.dtype, ['bool']);
  if (x.dtype !== y.dtype)
    throw new RuntimeError(
      'invalid-input',
      `Where '${node.name}' chooses between ${x.dtype} and ${y.dtype} values; cast both to one dtype.`,
    );
  return [c, x, y];
}

export const where: OpDef = {
  op: 'Where',
  infer(node, inputs) {
    const [c, x, y] = operands(node, inputs);
    return [{ shape: broadcastShapes(node, [c.shape, x.shape, y.shape]), dtype: x.dtype }];
  },
  run(node, inputs) {
    const xs = operands(node, inputs);
    return [mapBroadcast(node, xs, xs[1].dtype, ([c, x, y]) => (c ? x! : y!))];
  },
};
