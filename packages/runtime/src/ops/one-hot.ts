import { RuntimeError } from '../errors.js';
import { attrNumber, type GraphNode } from '../graph.js';
import { normAxis } from '../shapes.js';
import { sizeOf, tensor } from '../tensor.js';
import { storage } from './cast.js';
import type { OpDef } from './types.js';
import { known, need } from './util.js';

type Inputs = Parameters<OpDef['infer']>[1];

/** The depth (input 1, one value that must be known, truncated to an integer), the axis and the output shape. */
function layout(node: GraphNode, inputs: Inputs): { depth: number; axis: number; shape: number[] } {
  const indices = need(node, inputs, 0).shape;
  const d = known(node, inputs, 1, 'depth');
  const depth = Math.trunc(d[0] ?? 0);
  if (d.length !== 1 || depth < 1)
    throw new RuntimeError(
      'invalid-input',
      `OneHot '${node.name}' has depth [${d.join(', ')}]; give one positive number.`,
    );
  const axis = normAxis(attrNumber(node, 'axis', -1), indices.length + 1, node);
  return { depth, axis, shape: [...indices.slice(0, axis), depth, ...indices.slice(axis)] };
}

/**
 * OneHot: values[1] where the position on `axis` equals the index (negative ones counting from the
 * end, in every opset as in ONNX Runtime), values[0] elsewhere and for indices out of range.
 */
export const oneHot: OpDef = {
  op: 'OneHot',
  infer(node, inputs) {
    return [{ shape: layout(node, inputs).shape, dtype: need(node, inputs, 2).dtype }];
  },
  run(node, inputs) {
    const indices = need(node, inputs, 0);
    const values = need(node, inputs, 2);
    if (values.data.length !== 2)
      throw new RuntimeError(
        'invalid-input',
        `OneHot '${node.name}' has ${values.data.length} values; give two, [off, on].`,
      );
    const { depth, axis, shape } = layout(node, inputs);
    const inner = sizeOf(indices.shape.slice(axis));
    const y = storage(values.dtype, sizeOf(shape)).fill(values.data[0]!);
    indices.data.forEach((v, e) => {
      const i = Math.trunc(v);
      const k = i < 0 ? i + depth : i;
      if (k >= 0 && k < depth) y[(Math.floor(e / inner) * depth + k) * inner + (e % inner)] = values.data[1]!;
    });
    return [tensor(values.dtype, shape, y)];
  },
};
