import { RuntimeError } from '../errors.js';
import type { GraphNode } from '../graph.js';
import { type DType, tensor } from '../tensor.js';
import { storage } from './cast.js';
import type { OpDef } from './types.js';
import { known, need } from './util.js';

type Inputs = Parameters<OpDef['infer']>[1];

/** start, limit and delta (scalars that must be known), and the element count ⌈(limit − start)/delta⌉ ≥ 0. */
function bounds(
  node: GraphNode,
  inputs: Inputs,
): { start: number; delta: number; count: number; dtype: DType } {
  const [start, limit, delta] = (['start', 'limit', 'delta'] as const).map((what, i) => {
    const v = known(node, inputs, i, what);
    if (v.length !== 1)
      throw new RuntimeError(
        'invalid-input',
        `Range '${node.name}' needs a scalar ${what}, got ${v.length} values.`,
      );
    return v[0]!;
  }) as [number, number, number];
  if (delta === 0)
    throw new RuntimeError('invalid-input', `Range '${node.name}' has delta 0; give a non-zero step.`);
  const dtype = need(node, inputs, 0).dtype;
  // float32 ranges take the difference in float32, as ONNX Runtime does
  const span = dtype === 'float32' ? Math.fround(limit - start) : limit - start;
  return { start, delta, count: Math.max(Math.ceil(span / delta), 0), dtype };
}

export const range: OpDef = {
  op: 'Range',
  infer(node, inputs) {
    const { count, dtype } = bounds(node, inputs);
    return [{ shape: [count], dtype }];
  },
  run(node, inputs) {
    const { start, delta, count, dtype } = bounds(node, inputs);
    const y = storage(dtype, count);
    // accumulated step by step in the output type, as ONNX's definition (a loop adding delta) does
    let v = start;
    for (let i = 0; i < count; i++) {
      y[i] = v;
      v = y[i]! + delta;
    }
    return [tensor(dtype, [count], y)];
  },
};
