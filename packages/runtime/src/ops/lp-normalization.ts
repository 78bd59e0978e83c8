import { RuntimeError } from '../errors.js';
import { attrNumber, type GraphNode } from '../graph.js';
import { normAxis } from '../shapes.js';
import { asFloat32, float32, sizeOf } from '../tensor.js';
import type { OpDef } from './types.js';
import { need } from './util.js';

function order(node: GraphNode): 1 | 2 {
  const p = attrNumber(node, 'p', 2);
  if (p !== 1 && p !== 2)
    throw new RuntimeError(
      'invalid-model',
      `node '${node.name}' (LpNormalization) has p = ${p}; ONNX defines it for p = 1 and p = 2 only.`,
    );
  return p;
}

/** LpNormalization: x / ‖x‖ₚ along one axis (p 1 or 2); a lane of zeros stays zero, as in ONNX Runtime. */
export const lpNormalization: OpDef = {
  op: 'LpNormalization',
  infer(node, inputs) {
    const x = need(node, inputs, 0);
    normAxis(attrNumber(node, 'axis', -1), x.shape.length, node);
    order(node);
    return [{ shape: x.shape, dtype: x.dtype }];
  },
  run(node, inputs) {
    const x = need(node, inputs, 0);
    const xd = asFloat32(x, `LpNormalization '${node.name}' input`);
    const axis = normAxis(attrNumber(node, 'axis', -1), x.shape.length, node);
    const p = order(node);
    const len = x.shape[axis]!;
    const inner = sizeOf(x.shape.slice(axis + 1));
    const y = new Float32Array(xd.length);
    for (let lane = 0; lane < xd.length / Math.max(len, 1); lane++) {
      const base = Math.floor(lane / inner) * len * inner + (lane % inner);
      let sum = 0;
      for (let i = 0; i < len; i++) {
        const v = xd[base + i * inner]!;
        sum += p === 1 ? Math.abs(v) : v * v;
      }
      const norm = p === 1 ? sum : Math.sqrt(sum);
      for (let i = 0; i < len; i++) y[base + i * inner] = norm === 0 ? 0 : xd[base + i * inner]! / norm;
    }
    return [float32(x.shape, y)];
  },
};
