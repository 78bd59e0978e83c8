import { RuntimeError } from '../errors.js';
import type { GraphNode } from '../graph.js';
import type { Tensor } from '../tensor.js';
import { expectDtype } from './cast.js';
import { broadcastShapes, mapBroadcast } from './expand.js';
import type { OpDef, ValueInfo } from './types.js';
import { need } from './util.js';

/** X and the slope, which must broadcast to X's shape (unidirectionally: the output is X's shape). */
function operands<T extends Tensor | ValueInfo>(node: GraphNode, inputs: readonly (T | undefined)[]): [T, T] {
  const x = need(node, inputs, 0);
  const slope = need(node, inputs, 1);
  expectDtype(node, x.dtype, ['float32', 'int64']);
  const shape = broadcastShapes(node, [x.shape, slope.shape]);
  if (slope.dtype !== x.dtype || shape.length !== x.shape.length || shape.some((d, i) => d !== x.shape[i]))
    throw new RuntimeError(
      'invalid-input',
      `PRelu '${node.name}' has a ${slope.dtype} slope of shape [${slope.shape.join(', ')}] for ${x.dtype} X of shape [${x.shape.join(', ')}]; the slope must have X's dtype and broadcast to X's shape.`,
    );
  return [x, slope];
}

export const prelu: OpDef = {
  op: 'PRelu',
  infer(node, inputs) {
    const [x] = operands(node, inputs);
    return [{ shape: x.shape, dtype: x.dtype }];
  },
  run(node, inputs) {
    const [x, slope] = operands(node, inputs);
    return [mapBroadcast(node, [x, slope], x.dtype, ([v, s]) => (v! < 0 ? s! * v! : v!))];
  },
};
