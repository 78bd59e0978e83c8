import { RuntimeError } from '../errors.js';
import type { GraphNode } from '../graph.js';
import { isTensorAttr } from '../shapes.js';
import { float32, int64, type Tensor } from '../tensor.js';
import type { OpDef } from './types.js';

function value(node: GraphNode): Tensor {
  const { value: v, value_float, value_floats, value_int, value_ints } = node.attrs;
  if (isTensorAttr(v)) return v;
  if (typeof value_float === 'number') return float32([], Float32Array.of(value_float));
  if (Array.isArray(value_floats))
    return float32([value_floats.length], Float32Array.from(value_floats as number[]));
  if (typeof value_int === 'number') return int64([], [value_int]);
  if (Array.isArray(value_ints)) return int64([value_ints.length], value_ints as number[]);
  throw new RuntimeError(
    'unsupported-op',
    `Constant '${node.name}' holds its value in a form this runtime does not read (value, value_float(s) and value_int(s) are supported).`,
  );
}

export const constant: OpDef = {
  op: 'Constant',
  infer(node) {
    const t = value(node);
    return [{ shape: t.shape, dtype: t.dtype, value: t }];
  },
  run: (node) => [value(node)],
};
