import { RuntimeError } from '../errors.js';
import { attrNumber, type GraphNode } from '../graph.js';
import { type Tensor, tensor } from '../tensor.js';
import { storage } from './cast.js';
import type { OpDef, ValueInfo } from './types.js';
import { known, need } from './util.js';

function matrices(node: GraphNode, x: Tensor | ValueInfo): [rows: number, cols: number] {
  if (x.shape.length < 2)
    throw new RuntimeError(
      'invalid-input',
      `Trilu '${node.name}' takes a rank-${x.shape.length} tensor; it needs matrices, of rank 2 or more.`,
    );
  return x.shape.slice(-2) as [number, number];
}

/**
 * Trilu: the upper (j − i ≥ k) or lower (j − i ≤ k) triangle of each matrix in the last two axes,
 * zeros elsewhere; k is input 1 (default 0).
 */
export const trilu: OpDef = {
  op: 'Trilu',
  infer(node, inputs) {
    const x = need(node, inputs, 0);
    matrices(node, x);
    return [{ shape: x.shape, dtype: x.dtype }];
  },
  run(node, inputs) {
    const x = need(node, inputs, 0);
    const [rows, cols] = matrices(node, x);
    const k = inputs[1] ? (known(node, inputs, 1, 'k')[0] ?? 0) : 0;
    const upper = attrNumber(node, 'upper', 1) === 1;
    const y = storage(x.dtype, x.data.length);
    for (let e = 0; e < y.length; e++) {
      const d = (e % cols) - (Math.floor(e / cols) % rows);
      if (upper ? d >= k : d <= k) y[e] = x.data[e]!;
    }
    return [tensor(x.dtype, x.shape, y)];
  },
};
