import { strides } from '@zeroskip/gpu';
import { RuntimeError } from '../errors.js';
import type { GraphNode } from '../graph.js';
import { int64, type Tensor } from '../tensor.js';
import type { OpDef } from './types.js';
import { need } from './util.js';

/**
 * The refusal of a node whose output size depends on `what`, while that is not known before running
 * (every executor here sizes its values before running).
 */
export function dataDependentSize(node: GraphNode, what: string): RuntimeError {
  return new RuntimeError(
    'unsupported-op',
    `node '${node.name}' (${node.op}) has an output whose size depends on ${what}, which are known only while running; this runtime sizes every value before running, so they must be constant (fold them, or compute them outside the model).`,
  );
}

function coordinates(x: Tensor): Tensor {
  const at: number[] = [];
  x.data.forEach((v: number, e: number) => {
    if (v !== 0) at.push(e);
  });
  const s = strides(x.shape);
  const coords = x.shape.flatMap((d, a) => at.map((e) => Math.floor(e / s[a]!) % d));
  return int64([x.shape.length, at.length], coords);
}

/**
 * NonZero: the coordinates of the non-zero elements, one row per axis, in row-major order. Its
 * output size depends on the data, so only a constant input (folded before running) is supported.
 */
export const nonZero: OpDef = {
  op: 'NonZero',
  infer(node, inputs) {
    const x = need(node, inputs, 0).value;
    if (!x) throw dataDependentSize(node, 'the values of its input');
    const y = coordinates(x);
    return [{ shape: y.shape, dtype: y.dtype, value: y }];
  },
  run: (node, inputs) => [coordinates(need(node, inputs, 0))],
};
