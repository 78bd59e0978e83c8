import { RuntimeError } from '../errors.js';
import type { GraphNode } from '../graph.js';
import { isTensorAttr } from '../shapes.js';
import { float32, sizeOf, type Tensor, tensor } from '../tensor.js';
import { storage } from './cast.js';
import type { OpDef } from './types.js';
import { known } from './util.js';

/** The fill value: the one-element `value` tensor, float32 0 by default. */
function fill(node: GraphNode): Tensor {
  const v = node.attrs.value;
  if (v === undefined) return float32([1]);
  if (!isTensorAttr(v) || v.data.length !== 1)
    throw new RuntimeError(
      'invalid-model',
      `ConstantOfShape '${node.name}' needs a one-element tensor as its value attribute.`,
    );
  return v;
}

export const constantOfShape: OpDef = {
  op: 'ConstantOfShape',
  infer: (node, inputs) => [{ shape: known(node, inputs, 0, 'shape'), dtype: fill(node).dtype }],
  run(node, inputs) {
    const shape = known(node, inputs, 0, 'shape');
    const v = fill(node);
    const data = storage(v.dtype, sizeOf(shape));
    data.fill(v.data[0]!);
    return [tensor(v.dtype, shape, data)];
  },
};
