import { RuntimeError } from '../errors.js';
import type { GraphNode } from '../graph.js';
import type { Tensor } from '../tensor.js';
import type { ValueInfo } from './types.js';

/** Input i of a node, which the op requires. */
export function need<T extends Tensor | ValueInfo>(
  node: GraphNode,
  inputs: readonly (T | undefined)[],
  i: number,
): T {
  const t = inputs[i];
  if (!t) throw new RuntimeError('invalid-model', `node '${node.name}' (${node.op}) needs input ${i}.`);
  return t;
}

/** Contents of input i that must be known before running (a constant or shape arithmetic), as numbers. */
export function known(
  node: GraphNode,
  inputs: readonly (Tensor | ValueInfo | undefined)[],
  i: number,
  what: string,
): number[] {
  const v = inputs[i];
  const t = v && ('data' in v ? v : v.value);
  if (!t)
    throw new RuntimeError(
      'unsupported-op',
      `node '${node.name}' (${node.op}) takes its ${what} from a value that is not known before running; only constant ${what}s are supported.`,
    );
  return Array.from(t.data);
}
