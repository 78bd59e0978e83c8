import { strides } from '@zeroskip/gpu';
import { RuntimeError } from '../errors.js';
import { attrNumber, type GraphNode } from '../graph.js';
import { normAxis } from '../shapes.js';
import type { Tensor } from '../tensor.js';
import { gatherFlat } from './expand.js';
import type { OpDef, ValueInfo } from './types.js';
import { need } from './util.js';
import { wrapIndex } from './wrap-index.js';

/**
 * The axis of GatherElements or ScatterElements, after checking that `indices` has the data's rank
 * and no dimension larger than the data's off that axis.
 */
export function elementsAxis(node: GraphNode, data: Tensor | ValueInfo, indices: Tensor | ValueInfo): number {
  const axis = normAxis(attrNumber(node, 'axis', 0), data.shape.length, node);
  const d = data.shape;
  const s = indices.shape;
  if (s.length !== d.length || s.some((n, i) => i !== axis && n > d[i]!))
    throw new RuntimeError(
      'invalid-input',
      `node '${node.name}' (${node.op}) has indices of shape [${s.join(', ')}] for data of shape [${d.join(', ')}]; they need the same rank and no larger dimension off axis ${axis}.`,
    );
  return axis;
}

/**
 * For each element of `indices` (row-major), the flat position in `data` it addresses: its own
 * coordinates with the one on `axis` replaced by the index there.
 */
export function elementTargets(
  node: GraphNode,
  data: readonly number[],
  indices: Tensor,
  axis: number,
): Uint32Array {
  const sd = strides(data);
  const si = strides(indices.shape);
  return Uint32Array.from(indices.data, (v, e) => {
    let at = 0;
    for (let d = 0; d < data.length; d++) {
      const c = Math.floor(e / si[d]!) % indices.shape[d]!;
      at += (d === axis ? wrapIndex(node, v, data[axis]!) : c) * sd[d]!;
    }
    return at;
  });
}

/** GatherElements: y[i…] = data[i…] with the coordinate on `axis` replaced by indices[i…]. */
export const gatherElements: OpDef = {
  op: 'GatherElements',
  infer(node, inputs) {
    const data = need(node, inputs, 0);
    const indices = need(node, inputs, 1);
    elementsAxis(node, data, indices);
    return [{ shape: indices.shape, dtype: data.dtype }];
  },
  run(node, inputs) {
    const data = need(node, inputs, 0);
    const indices = need(node, inputs, 1);
    const axis = elementsAxis(node, data, indices);
    return [gatherFlat(data, indices.shape, elementTargets(node, data.shape, indices, axis))];
  },
};
