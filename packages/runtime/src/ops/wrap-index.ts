import { RuntimeError } from '../errors.js';
import type { GraphNode } from '../graph.js';

/** An index into an axis of size `dim`, negative ones counting from the end; one out of range is an error. */
export function wrapIndex(node: GraphNode, i: number, dim: number): number {
  const j = i < 0 ? i + dim : i;
  if (!(j >= 0 && j < dim))
    throw new RuntimeError(
      'invalid-input',
      `node '${node.name}' (${node.op}) reads index ${i} of an axis of size ${dim}; indices must lie in [${-dim}, ${dim - 1}].`,
    );
  return j;
}
