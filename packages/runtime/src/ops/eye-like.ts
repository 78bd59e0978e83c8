import { RuntimeError } from '../errors.js';
import { attrNumber, type GraphNode } from '../graph.js';
import { sizeOf, tensor } from '../tensor.js';
import { castTarget, storage } from './cast.js';
import type { OpDef } from './types.js';
import { need } from './util.js';

type Inputs = Parameters<OpDef['infer']>[1];

/** The 2-D shape and the output dtype: the `dtype` attribute's when given, else the input's. */
function output(node: GraphNode, inputs: Inputs) {
  const x = need(node, inputs, 0);
  if (x.shape.length !== 2)
    throw new RuntimeError(
      'invalid-input',
      `EyeLike '${node.name}' needs a 2-D input, got shape [${x.shape.join(', ')}].`,
    );
  const to = attrNumber(node, 'dtype', 0);
  return { shape: x.shape, dtype: to === 0 ? x.dtype : castTarget(node, to).dtype };
}

export const eyeLike: OpDef = {
  op: 'EyeLike',
  infer: (node, inputs) => [output(node, inputs)],
  run(node, inputs) {
    const { shape, dtype } = output(node, inputs);
    const [rows, cols] = shape as [number, number];
    const k = attrNumber(node, 'k', 0);
    const y = storage(dtype, sizeOf(shape));
    for (let i = Math.max(0, -k); i < rows && i + k < cols; i++) y[i * cols + i + k] = 1;
    return [tensor(dtype, shape, y)];
  },
};
